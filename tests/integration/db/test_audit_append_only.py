"""The audit log is append-only in the database itself (triggers from migration 0003), and an
audit record commits or rolls back with the change it records."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from openqpp.db.models import AuditRecord, User
from openqpp.services import audit, database
from openqpp.services.access import accounts


def _record(url: str) -> int:
    with database.session_factory(url).begin() as session:
        row = audit.record(
            session,
            actor="sam.smith",
            role="staff_user",
            on_behalf_of=audit.OnBehalfOf.practice("123456789", npi="1234567893"),
            action="election.confirmed",
            object_type="election",
            object_id=7,
            before=None,
            after={"kind": "opt_in"},
            request_id="req-1",
            client_address="127.0.0.1",
        )
        return row.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET actor = 'someone else'",
        "UPDATE audit_records SET after = NULL WHERE id = :id",
        "DELETE FROM audit_records WHERE id = :id",
        "DELETE FROM audit_records",
    ],
)
def test_raw_update_and_delete_of_audit_records_are_refused(
    database_url: str, statement: str
) -> None:
    database.upgrade(database_url)
    record_id = _record(database_url)
    engine = database.engine_for(database_url)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement), {"id": record_id})
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT actor, npi, tin FROM audit_records WHERE id = :id"), {"id": record_id}
        ).one()
    assert tuple(row) == ("sam.smith", "1234567893", "123456789")


def test_the_guards_are_database_triggers(database_url: str) -> None:
    database.upgrade(database_url)
    _record(database_url)
    engine = database.engine_for(database_url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            names = set(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
            assert {"audit_records_no_update", "audit_records_no_delete"} <= names
            return
        names = set(
            connection.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
        )
        assert {"audit_records_no_update_or_delete", "audit_records_no_truncate"} <= names
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_records"))


def test_inserting_more_records_is_allowed(database_url: str) -> None:
    database.upgrade(database_url)
    first, second = _record(database_url), _record(database_url)
    assert second > first


def test_a_change_and_its_audit_record_commit_or_roll_back_together(database_url: str) -> None:
    database.upgrade(database_url)
    factory = database.session_factory(database_url)

    def change_then_fail() -> None:
        with factory.begin() as session:
            accounts.create_user(
                session,
                user_id="rolled.back",
                name="Rolled Back",
                email="r@example.org",
                password="a long enough password",
            )
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0
    with factory.begin() as session:
        accounts.create_user(
            session,
            user_id="kept",
            name="Kept",
            email="k@example.org",
            password="a long enough password",
        )
    with factory() as session:
        (record,) = session.scalars(select(AuditRecord)).all()
        assert record.action == "user.created"
        assert record.object_id == "kept"
        assert "password" not in str(record.after)


def test_migration_downgrade_removes_the_triggers_and_tables(database_url: str) -> None:
    from alembic import command

    from openqpp.db.migrate import alembic_config

    database.upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0002")
    engine = database.engine_for(database_url)
    from sqlalchemy import inspect

    assert "audit_records" not in inspect(engine).get_table_names()
    database.upgrade(database_url)
    assert "audit_records" in inspect(engine).get_table_names()
