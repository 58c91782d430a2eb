"""`openqpp db backup` and `openqpp db restore`: a database with real data (the elections world
plus an election) comes back row for row in a fresh database, at the newest migration, with
its append-only guards; a restore never mixes into a database that holds data unless --force."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, make_url, text
from sqlalchemy.exc import DBAPIError
from tests.support.databases import fresh_database
from tests.support.elections_world import NOW_2022, World
from typer.testing import CliRunner

from openqpp.batch.demo import GREENVILLE_PODIATRY
from openqpp.cli import app
from openqpp.db.session import make_engine
from openqpp.services import access, audit, backup, database, elections

runner = CliRunner()


def _cli(*args: str) -> Any:
    return runner.invoke(app, ["db", *args], env={"COLUMNS": "200"})


def _elect(world: World) -> None:
    with world.factory.begin() as session:
        elections.confirm(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            level="group",
            tin=GREENVILLE_PODIATRY,
            kind="voluntary",
            typed="CONFIRM",
            now=NOW_2022,
            context=audit.RequestContext(),
        )


def _contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in a stable order."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {
                table: sorted(
                    (tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))),  # noqa: S608
                    key=repr,
                )
                for table in tables
            }
    finally:
        engine.dispose()


def _assert_guards_hold(url: str) -> None:
    engine = make_engine(url)
    try:
        for statement, refusal in (
            ("UPDATE elections SET kind = 'opt_in'", "elections are final"),
            ("DELETE FROM elections", "elections are final"),
            ("UPDATE audit_records SET actor = 'someone else'", "append-only"),
            ("DELETE FROM audit_records", "append-only"),
        ):
            with pytest.raises(DBAPIError, match=refusal), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_a_backup_restores_every_row_into_a_fresh_database(world: World, tmp_path: Path) -> None:
    _elect(world)
    before = _contents(world.url)
    assert before["elections"]
    assert before["audit_records"]
    assert before["eligibility_results"]
    file = tmp_path / ("world.sqlite" if world.kind == "sqlite" else "world.dump")

    made = _cli("backup", str(file), "--url", world.url)
    assert made.exit_code == 0, made.output
    assert "Backed up" in made.output
    again = _cli("backup", str(file), "--url", world.url)
    assert again.exit_code == 2
    assert "OQ-DB-010" in again.output

    (tmp_path / "fresh").mkdir()
    with fresh_database(world.kind, tmp_path / "fresh") as target:
        restored = _cli("restore", str(file), "--url", target)
        assert restored.exit_code == 0, restored.output
        assert "newest revision" in restored.output
        assert database.current_revision(target) == database.head_revision()
        after = _contents(target)
        assert after.keys() == before.keys()
        for table, rows in before.items():
            assert after[table] == rows, table
        _assert_guards_hold(target)
        assert database.check(None) == []  # and the models still match the migrations

        refused = _cli("restore", str(file), "--url", target)
        assert refused.exit_code == 2
        assert "OQ-DB-011" in refused.output
        with database.session_factory(target).begin() as session:
            audit.record(
                session,
                actor="operator",
                role="operator",
                on_behalf_of=None,
                action="after.backup",
                object_type="test",
                object_id=1,
                before=None,
                after=None,
            )
        forced = _cli("restore", str(file), "--url", target, "--force")
        assert forced.exit_code == 0, forced.output
        assert _contents(target) == before  # the row written after the backup is gone
        database.engine_for(target).dispose()


def test_a_restore_refuses_the_other_kind_of_backup_and_non_backups(
    world: World, tmp_path: Path
) -> None:
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello", encoding="utf-8")
    (tmp_path / "fresh").mkdir()
    with fresh_database(world.kind, tmp_path / "fresh") as target:
        with pytest.raises(backup.RestoreRefused, match="not a"):
            backup.restore(target, not_a_backup)
        other = tmp_path / "other.db"
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
        if world.kind == "sqlite":
            with pytest.raises(backup.RestoreRefused, match="not an openqpp database"):
                backup.restore(target, other)
        else:
            with pytest.raises(backup.RestoreRefused, match="it is a SQLite backup"):
                backup.restore(target, other)
        assert backup.is_empty(target)


def test_a_sqlite_backup_is_consistent_while_a_writer_holds_a_transaction(
    sqlite_url: str, tmp_path: Path
) -> None:
    database.upgrade(sqlite_url)
    with database.session_factory(sqlite_url).begin() as session:
        access.create_user(
            session,
            user_id="sam.smith",
            name="Sam Smith",
            email="sam@example.org",
            password="x" * 12,
        )
    path = make_url(sqlite_url).database
    assert path
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE users SET name = 'uncommitted' WHERE user_id = 'sam.smith'")
    try:  # the server is in the middle of a write while the backup runs
        result = backup.backup(sqlite_url, tmp_path / "live.sqlite")
    finally:
        writer.rollback()
        writer.close()
    copy = sqlite3.connect(result.path)
    try:
        names = {row[0] for row in copy.execute("SELECT name FROM users")}
        (mode,) = copy.execute("PRAGMA journal_mode").fetchone()
    finally:
        copy.close()
    assert names == {"Sam Smith"}
    assert mode == "delete"  # one self-contained file
    assert not Path(f"{result.path}-wal").exists()
    database.engine_for(sqlite_url).dispose()


def test_a_restore_at_an_older_revision_says_to_upgrade(tmp_path: Path) -> None:
    old = f"sqlite:///{tmp_path / 'old.db'}"
    from openqpp.db import migrate

    migrate.upgrade(old, "0004")
    file = tmp_path / "old.sqlite"
    backup.backup(old, file)
    restored = _cli("restore", str(file), "--url", f"sqlite:///{tmp_path / 'new.db'}")
    assert restored.exit_code == 1
    assert "run `openqpp db upgrade`" in restored.output
