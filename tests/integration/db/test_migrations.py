"""Migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table, inspect, text

from openqpp.db import migrate
from openqpp.db.base import Base
from openqpp.db.session import make_engine
from openqpp.services import database, demo

VERSIONS = Path(migrate.MIGRATIONS_DIR) / "versions"


def test_upgrade_builds_the_schema_the_models_describe(database_url: str) -> None:
    before, after = database.upgrade(database_url)
    assert before is None
    assert after == migrate.head_revision()
    assert migrate.model_differences(database_url) == []
    # idempotent
    assert database.upgrade(database_url) == (after, after)


def test_db_check_passes_when_models_and_migrations_agree(database_url: str) -> None:
    assert database.check(database_url) == []


@pytest.fixture
def drifted_model() -> Iterator[Table]:
    """A table that exists in the models but in no migration."""
    table = Table(
        "drift_probe",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("x", String(5)),
    )
    try:
        yield table
    finally:
        Base.metadata.remove(table)


@pytest.mark.usefixtures("drifted_model")
def test_db_check_fails_when_a_model_has_no_migration() -> None:
    problems = database.check()
    assert problems
    assert "drift_probe" in " ".join(problems)


def test_migration_files_have_dated_names() -> None:
    files = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert files
    for name in files:
        assert re.fullmatch(r"\d{8}_[a-z0-9_]+\.py", name), name


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()


def test_demo_data_loads_once(database_url: str) -> None:
    database.upgrade(database_url)
    factory = database.session_factory(database_url)
    with factory.begin() as session:
        assert demo.load_demo(session) == len(demo.DEMO_ORGANISATIONS)
    with factory.begin() as session:
        assert demo.load_demo(session) == 0
    with factory() as session:
        names = {o.name for o in demo.list_organisations(session)}
    assert {"Miami Medical", "Greenville Podiatry", "American Academy of Neurology"} <= names
    tables = set(inspect(database.engine_for(database_url)).get_table_names())
    assert "organisations" in tables
