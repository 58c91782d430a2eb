"""Elections are final in the database itself: triggers from migration 0004 refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL) on elections, APM letters and public reporting opt-outs;
no service, route or page changes or deletes one (checked in the API and page tests)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from tests.support.elections_world import APM_ENTITY, NOW_2022, World

from openqpp.batch.demo import GREENVILLE_PODIATRY
from openqpp.services import audit, database, elections

PDF = b"%PDF-1.4\n% a scanned letter\n"


def _elect(world: World) -> int:
    with world.factory.begin() as session:
        return elections.confirm(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            level="group",
            tin=GREENVILLE_PODIATRY,
            kind="voluntary",
            typed="CONFIRM",
            now=NOW_2022,
            context=audit.RequestContext(),
        ).election.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE elections SET kind = 'opt_in'",
        "UPDATE elections SET decided_at = decided_at WHERE id = :id",
        "DELETE FROM elections WHERE id = :id",
        "DELETE FROM elections",
    ],
)
def test_raw_update_and_delete_of_elections_are_refused(world: World, statement: str) -> None:
    election_id = _elect(world)
    engine = database.engine_for(world.url)
    with pytest.raises(DBAPIError, match="elections are final"), engine.begin() as connection:
        connection.execute(text(statement), {"id": election_id})
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT kind, actor FROM elections WHERE id = :id"), {"id": election_id}
        ).one()
    assert tuple(row) == ("voluntary", "lee.wong")


def test_letters_and_public_reporting_opt_outs_are_final_too(world: World) -> None:
    election_id = _elect(world)
    with world.factory.begin() as session:
        elections.set_preview_period(
            session,
            year=2022,
            opens_at=dt.datetime(2023, 11, 1, tzinfo=dt.UTC),
            closes_at=dt.datetime(2023, 12, 1, tzinfo=dt.UTC),
            source="test",
        )
    with world.factory.begin() as session:
        elections.opt_out_of_public_reporting(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            tin=GREENVILLE_PODIATRY,
            now=dt.datetime(2023, 11, 15, tzinfo=dt.UTC),
            context=audit.RequestContext(),
        )
    with world.factory.begin() as session:
        letter = elections.record_apm_letter(
            session,
            year=2019,
            apm_entity_id=APM_ENTITY,
            printed_name="Jane Doe",
            position="CEO",
            signed_on=dt.date(2019, 10, 15),
            file_name="letter.pdf",
            content=PDF,
            typed="CONFIRM",
            now=dt.datetime(2019, 10, 20, 15, 0, tzinfo=dt.UTC),
        )
    engine = database.engine_for(world.url)
    for statement in (
        "UPDATE public_reporting_opt_outs SET actor = 'x'",
        "DELETE FROM public_reporting_opt_outs",
        "UPDATE apm_election_letters SET printed_name = 'x'",
        "DELETE FROM apm_election_letters",
        "DELETE FROM elections WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="elections are final"), engine.begin() as connection:
            connection.execute(text(statement), {"id": letter.id})
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM elections")).scalar() == 2
        assert election_id != letter.id


def test_the_guards_are_database_triggers(world: World) -> None:
    engine = database.engine_for(world.url)
    tables = ("elections", "apm_election_letters", "public_reporting_opt_outs")
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            names = set(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
            assert {f"{t}_no_{op}" for t in tables for op in ("update", "delete")} <= names
            return
        names = set(
            connection.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
        )
    assert {f"{t}_no_update_or_delete" for t in tables} | {
        f"{t}_no_truncate" for t in tables
    } <= names
    with pytest.raises(DBAPIError, match="elections are final"), engine.begin() as connection:
        connection.execute(text("TRUNCATE elections CASCADE"))


def test_a_second_election_row_for_the_same_entity_is_refused_by_the_database(
    world: World,
) -> None:
    election_id = _elect(world)
    engine = database.engine_for(world.url)
    copy = text(
        "INSERT INTO elections (performance_year, level, entity_key, tin, kind, pathway, "
        "decided_at, determination_run_id, run_number, status_at_election, actor, actor_name, "
        "actor_kind, channel, confirmation_text) SELECT performance_year, level, entity_key, "
        "tin, 'opt_in', pathway, decided_at, determination_run_id, run_number, "
        "status_at_election, 'someone', actor_name, actor_kind, channel, confirmation_text "
        "FROM elections WHERE id = :id"
    )
    with pytest.raises(DBAPIError, match=r"(?i)unique"), engine.begin() as connection:
        connection.execute(copy, {"id": election_id})


def test_downgrade_removes_the_triggers_and_tables_and_upgrade_restores_them(
    world: World,
) -> None:
    from alembic import command

    from openqpp.db.migrate import alembic_config

    engine = database.engine_for(world.url)
    engine.dispose()
    command.downgrade(alembic_config(world.url), "0003")
    assert "elections" not in inspect(engine).get_table_names()
    database.upgrade(world.url)
    assert "elections" in inspect(engine).get_table_names()
    _elect(world)
    with pytest.raises(DBAPIError, match="elections are final"), engine.begin() as connection:
        connection.execute(text("DELETE FROM elections"))
