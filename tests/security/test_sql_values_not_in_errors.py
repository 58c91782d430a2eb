"""A database error names the statement, never the values bound to it (they end up in the 500
log line: TINs, NPIs, token hashes, e-mail addresses). SQLAlchemy hides the bound values; the
log formatters take out the values PostgreSQL's own DETAIL lines quote (a unique violation's
key, a NOT NULL violation's row)."""

from __future__ import annotations

import logging
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from openqpp.services import database
from openqpp.web.logs import JsonFormatter, PlainFormatter


def test_a_failed_statement_does_not_carry_its_values(database_url: str) -> None:
    secret = "oqp_NOT-FOR-LOGS-123456789"
    with database.session_factory(database_url)() as session, session.begin():
        session.execute(text("CREATE TABLE probe (token VARCHAR(40) PRIMARY KEY)"))
        session.execute(text("INSERT INTO probe (token) VALUES (:token)"), {"token": secret})
    factory = database.session_factory(database_url)
    with pytest.raises(IntegrityError) as raised, factory() as session, session.begin():
        session.execute(text("INSERT INTO probe (token) VALUES (:token)"), {"token": secret})
    message = str(raised.value)
    statement = message.split("[SQL:", 1)[1]
    assert "INSERT INTO probe" in statement
    assert secret not in statement
    assert "hidden due to hide_parameters" in statement
    if database_url.startswith("sqlite"):
        assert secret not in message
    database.engine_for(database_url).dispose()


@pytest.mark.parametrize("formatter", [JsonFormatter(), PlainFormatter("%(message)s")])
def test_a_logged_database_error_carries_no_values(
    database_url: str, formatter: logging.Formatter
) -> None:
    secret = "oqp_NOT-FOR-LOGS-987654321"
    with database.session_factory(database_url)() as session, session.begin():
        session.execute(
            text("CREATE TABLE probe (token VARCHAR(40) PRIMARY KEY, note VARCHAR(40) NOT NULL)")
        )
        session.execute(text("INSERT INTO probe VALUES (:token, 'x')"), {"token": secret})
    factory = database.session_factory(database_url)
    logged = []
    for statement in (
        "INSERT INTO probe VALUES (:token, 'x')",  # the key again: a unique violation
        "INSERT INTO probe VALUES (:token || '-2', NULL)",  # a NOT NULL violation
    ):
        try:
            with factory() as session, session.begin():
                session.execute(text(statement), {"token": secret})
        except IntegrityError:
            record = logging.makeLogRecord(
                {"msg": "unhandled error", "levelname": "ERROR", "exc_info": sys.exc_info()}
            )
            logged.append(formatter.format(record))
    assert len(logged) == 2
    for line in logged:
        assert "IntegrityError" in line
        assert secret not in line
    if database_url.startswith("postgresql"):
        assert "Key (token)=(values not logged)" in logged[0]
        assert "Failing row contains (values not logged)" in logged[1]
    database.engine_for(database_url).dispose()
