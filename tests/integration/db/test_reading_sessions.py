"""`database.reading`: lookups run without a transaction of their own (no BEGIN/ROLLBACK round
trips on PostgreSQL), see committed data, and hand their connection back to the pool as it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from openqpp.services import database


def _in_transaction(dbapi_connection: Any) -> bool:
    if hasattr(dbapi_connection, "info"):  # psycopg
        from psycopg.pq import TransactionStatus

        return bool(dbapi_connection.info.transaction_status != TransactionStatus.IDLE)
    return bool(dbapi_connection.in_transaction)  # sqlite3


def test_reads_run_outside_a_transaction_and_see_committed_rows(database_url: str) -> None:
    with database.session_factory(database_url)() as session, session.begin():
        session.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, name VARCHAR(10))"))
        session.execute(text("INSERT INTO probe (id, name) VALUES (1, 'first')"))
    with database.reading(database_url) as session:
        assert session.execute(text("SELECT name FROM probe")).scalar_one() == "first"
        assert not _in_transaction(session.connection().connection.dbapi_connection)
    # The pooled connection is handed on with transactions as usual: a later write session
    # that fails leaves nothing behind.
    factory = database.session_factory(database_url)
    try:
        with factory() as session, session.begin():
            session.execute(text("INSERT INTO probe (id, name) VALUES (2, 'second')"))
            assert _in_transaction(session.connection().connection.dbapi_connection)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with database.reading(database_url) as session:
        assert session.execute(text("SELECT count(*) FROM probe")).scalar_one() == 1
    database.engine_for(database_url).dispose()
