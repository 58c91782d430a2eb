"""Back up a database to one file and restore it into an empty one.

SQLite: SQLite's online backup API copies the database in one read transaction, so the copy is
consistent while the server keeps writing (WAL lets it); the copy is a plain SQLite file
(rollback journal) checked with ``PRAGMA quick_check``.

PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot; the server keeps running), and
``pg_restore`` piped into ``psql --single-transaction``, so a restore lands whole or not at all.
The client tools come from Debian's ``postgresql-client`` (their major version must be at least
the server's).

A restore refuses a database that already holds tables unless ``force`` (which drops the
``public`` schema first, in the same transaction). The append-only triggers on elections,
letters, receipts and the audit log are part of the schema and come back with it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import make_url, text
from sqlalchemy.engine import URL

from openqpp.core.errors import OpenQppError
from openqpp.db import migrate
from openqpp.db.session import make_engine
from openqpp.services.database import engine_for

Kind = Literal["sqlite", "postgresql"]

SQLITE_MAGIC: Final = b"SQLite format 3\x00"
PG_DUMP_MAGIC: Final = b"PGDMP"
PG_TOOLS: Final = ("pg_dump", "pg_restore", "psql")


class BackupError(OpenQppError):
    code = "OQ-DB-010"


class RestoreRefused(OpenQppError):
    code = "OQ-DB-011"


class ToolMissing(OpenQppError):
    code = "OQ-DB-012"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    kind: Kind
    revision: str | None
    size: int


@dataclass(frozen=True, slots=True)
class RestoreResult:
    kind: Kind
    revision: str | None
    head: str | None

    @property
    def current(self) -> bool:
        return self.revision == self.head

    @property
    def known_revision(self) -> bool:
        return self.revision in migrate.known_revisions()


def kind_of(url: str) -> Kind:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise BackupError(
        f"Backups of {backend} databases are not supported.",
        fix="Use SQLite or PostgreSQL (OPENQPP_DATABASE_URL).",
    )


# --------------------------------------------------------------------------- both


def backup(url: str, target: Path, *, force: bool = False) -> BackupResult:
    """Write a consistent backup of the database at ``url`` to ``target``."""
    kind = kind_of(url)
    target = Path(target)
    if target.exists() and not force:
        raise BackupError(
            f"{target} already exists.",
            fix="Choose a new file name, or add --force to replace it.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    revision = migrate.current_revision(url)
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    ) as handle:
        partial = Path(handle.name)
    try:
        if kind == "sqlite":
            _sqlite_backup(_sqlite_path(url, must_exist=True), partial)
        else:
            _pg_dump(make_url(url), partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, kind, revision, target.stat().st_size)


def restore(url: str, source: Path, *, force: bool = False) -> RestoreResult:
    """Restore the backup ``source`` into the (empty, unless ``force``) database at ``url``."""
    kind = kind_of(url)
    source = Path(source)
    _check_backup_file(source, kind)
    if not force and not is_empty(url):
        raise RestoreRefused(
            "The target database is not empty; a restore would mix two databases.",
            fix="Restore into a new, empty database, or add --force to replace everything in "
            "this one.",
        )
    engine_for(url).dispose()  # no pooled connection of this process outlives the old data
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(url, must_exist=False))
    else:
        _pg_restore(make_url(url), source, replace=force)
    engine_for(url).dispose()
    return RestoreResult(kind, migrate.current_revision(url), migrate.head_revision())


def is_empty(url: str) -> bool:
    """True when the database holds no tables (a missing SQLite file is empty)."""
    if kind_of(url) == "sqlite":
        path = _sqlite_path(url, must_exist=False)
        if not path.exists() or path.stat().st_size == 0:
            return True
        query = "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view')"
    else:
        query = (
            "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN "
            "('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%'"
        )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return not connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


def _check_backup_file(source: Path, kind: Kind) -> None:
    if not source.is_file():
        raise BackupError(f"There is no backup file {source}.", fix="Check the path.")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    expected = SQLITE_MAGIC if kind == "sqlite" else PG_DUMP_MAGIC
    if not head.startswith(expected):
        made_by = (
            "SQLite"
            if head.startswith(SQLITE_MAGIC)
            else "pg_dump"
            if head.startswith(PG_DUMP_MAGIC)
            else None
        )
        raise RestoreRefused(
            f"{source} is not a {kind} backup made by `openqpp db backup`"
            + (f" (it is a {made_by} backup)." if made_by else "."),
            fix="Restore a backup of the same kind of database as OPENQPP_DATABASE_URL "
            "(SQLite file into SQLite, pg_dump archive into PostgreSQL).",
        )


# --------------------------------------------------------------------------- SQLite


def _sqlite_path(url: str, *, must_exist: bool) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(
            f"{url} is not a SQLite file.", fix="Point OPENQPP_DATABASE_URL at a database file."
        )
    path = Path(database)
    if must_exist and not path.is_file():
        raise BackupError(f"There is no SQLite database at {path}.", fix="Check the URL.")
    return path


def _sqlite_backup(path: Path, target: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.execute("PRAGMA busy_timeout = 30000")
        source.backup(copy)  # all pages in one step: one read transaction, a consistent copy
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        (status,) = copy.execute("PRAGMA quick_check").fetchone()
    finally:
        copy.close()
        source.close()
    if status != "ok":
        raise BackupError(f"The copy failed SQLite's check: {status}.", fix="Try again.")


def _sqlite_restore(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        tables = {
            row[0] for row in backup_db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if "alembic_version" not in tables:
            raise RestoreRefused(
                f"{source} is a SQLite file but not an openqpp database (no alembic_version).",
                fix="Restore a file made by `openqpp db backup`.",
            )
        live = sqlite3.connect(target)
        try:
            live.execute("PRAGMA busy_timeout = 30000")
            backup_db.backup(live)  # replaces every page of the target, in one step
            live.execute("PRAGMA journal_mode = WAL")
        finally:
            live.close()
    finally:
        backup_db.close()


# --------------------------------------------------------------------------- PostgreSQL


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(
            f"`{name}` is not installed; PostgreSQL backups use the PostgreSQL client tools.",
            fix="Install them (Debian: `apt-get install postgresql-client`), with a major "
            "version at least the server's.",
        )
    return path


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            f"{what} failed: {done.stderr.strip() or done.stdout.strip()}",
            fix="Check that the database is reachable with these credentials and that the "
            "client tools' major version is at least the server's.",
        )


def _pg_dump(url: URL, target: Path) -> None:
    dsn, env = _libpq(url)
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-password", f"--file={target}", dsn],
        env,
        "pg_dump",
    )


def _pg_restore(url: URL, source: Path, *, replace: bool) -> None:
    dsn, env = _libpq(url)
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    listing = subprocess.run(
        [pg_restore, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0 or " alembic_version " not in listing.stdout:
        raise RestoreRefused(
            f"{source} is not a pg_dump archive of an openqpp database.",
            fix="Restore a file made by `openqpp db backup`.",
        )
    psql_args = [psql, "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1"]
    if replace:
        psql_args += ["-c", "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"]
    psql_args += ["-f", "-", "--no-password", dsn]
    script = subprocess.Popen(
        [pg_restore, "--no-owner", "--no-acl", "--file=-", str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert script.stdout is not None
    try:
        loaded = subprocess.run(
            psql_args, stdin=script.stdout, env=env, capture_output=True, text=True, check=False
        )
    finally:
        script.stdout.close()
        _, errors = script.communicate()
    if script.returncode != 0:
        raise BackupError(
            f"pg_restore failed: {errors.decode(errors='replace').strip()}",
            fix="Check that the backup file is complete and was made by `openqpp db backup`.",
        )
    if loaded.returncode != 0:
        raise BackupError(
            "The restore was rolled back; nothing changed. psql said: "
            + (loaded.stderr.strip() or loaded.stdout.strip()),
            fix="Check that the target database is reachable and that the client tools' major "
            "version is at least the server's.",
        )
