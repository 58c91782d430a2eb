"""Database use cases: migrate, check models against migrations, open sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from openqpp.core.errors import OpenQppError
from openqpp.db import migrate
from openqpp.db.session import make_engine, make_session_factory
from openqpp.settings import Settings, get_settings

MIGRATION_LOCK: Final = 0x6F70656E717070
"""The PostgreSQL advisory lock key `openqpp db upgrade` holds while it migrates ("openqpp")."""


@contextmanager
def migration_lock(url: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the database's migration lock: on PostgreSQL a session advisory lock, so a second
    `openqpp db upgrade` (another release job, another host) waits for the first and then finds
    the schema at head. Calls ``on_wait`` once if another holder makes it wait. Released when
    the block ends or the process dies. SQLite needs none (its writers are serialised)."""
    if not url.startswith("postgresql"):
        yield
        return
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            key = {"key": MIGRATION_LOCK}
            if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
                if on_wait is not None:
                    on_wait()
                connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
    finally:
        engine.dispose()


def upgrade(
    url: str, *, on_wait: Callable[[], None] | None = None
) -> tuple[str | None, str | None]:
    """Migrate the database at ``url`` to the newest revision; returns (before, after).

    Safe to run from several places at once: on PostgreSQL the runs take turns under
    :func:`migration_lock`, and the later ones find the schema at head (before == after)."""
    with migration_lock(url, on_wait):
        before = migrate.current_revision(url)
        migrate.upgrade(url)
        return before, migrate.current_revision(url)


def check(url: str | None = None) -> list[str]:
    """Problems between models and migrations (empty list: they agree)."""
    return migrate.check(url)


def current_revision(url: str) -> str | None:
    return migrate.current_revision(url)


def head_revision() -> str | None:
    return migrate.head_revision()


SQLITE_POOL_OPTIONS: Final = ("pool_size", "max_overflow", "pool_timeout")
"""What a SQLite file's queue pool takes (no pre-ping or recycle: the file does not go away)."""


def engine_options(url: str, settings: Settings | None = None) -> dict[str, Any]:
    """The pool options (OPENQPP_DB_POOL_*) for a database. A SQLite file takes the sizes: with
    SQLAlchemy's default 5, the 6th concurrent request opened a connection (pragmas, schema read)
    and closed it again each time. An in-memory SQLite database keeps its single-connection
    pool."""
    options = dict((settings or get_settings()).pool_options)
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            return {}
        return {k: v for k, v in options.items() if k in SQLITE_POOL_OPTIONS}
    return options


class TextWithNul(OpenQppError):
    """Text with a NUL character (``\\0``): PostgreSQL can neither store nor compare it, so
    psycopg refuses it before sending the statement. Bad input (in a path, query, header, form
    or JSON string), not a server error. SQLite takes it (and finds nothing)."""

    code = "OQ-REQ-002"
    http_status = 400


def _refuse_text_with_nul(context: ExceptionContext) -> BaseException | None:
    if "NUL (0x00)" in str(context.original_exception):
        return TextWithNul(
            "Text in this request contains a NUL character (\\0); nothing was stored.",
            fix="Remove NUL characters from the address, the headers, the form fields or the "
            "JSON strings, and send the request again.",
        )
    return None


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    engine = make_engine(url, **engine_options(url))
    if not url.startswith("sqlite"):
        event.listen(engine, "handle_error", _refuse_text_with_nul)
    return engine


def session_factory(url: str) -> sessionmaker[Session]:
    """The session factory of ``url``'s engine: one per engine, not one per call. Each
    ``sessionmaker`` defines a new ``Session`` subclass, and SQLAlchemy builds the event
    dispatch of a new class on its first statement (~25 listener lists): made per call, that
    was ~0.1 ms of every request's CPU and a class left for the garbage collector."""
    return _factory_of(engine_for(url))


@lru_cache(maxsize=8)
def _factory_of(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@contextmanager
def reading(url: str) -> Iterator[Session]:
    """A session for reads that need no transaction around them. On PostgreSQL each statement
    commits on its own (autocommit), which spares the BEGIN and ROLLBACK round trips per
    request; SQLite has no round trips to spare (and switching its isolation level back costs a
    PRAGMA), so it gets a plain session, where reads begin no transaction either.

    For lookups of determination results (a run never changes once loaded) and of elections
    (final: only ever added), where statements seeing different moments cannot disagree. Writes
    belong in :func:`openqpp.db.session.transaction`.
    """
    engine = engine_for(url)
    if engine.dialect.name == "sqlite":
        with session_factory(url)() as session:
            yield session
        return
    autocommit = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with autocommit as connection, Session(bind=connection, expire_on_commit=False) as session:
        yield session


DbSession = Session
"""The session type the outer layers pass to services (so they need not import SQLAlchemy)."""


def read_session(url: str) -> Iterator[Session]:
    """A session for one request or command; services open transactions for writes."""
    with session_factory(url)() as session:
        yield session


class DatabaseNotMigrated(OpenQppError):
    code = "OQ-DB-001"
    http_status = 503


def require_current(url: str) -> None:
    """Refuse to work on a database whose schema is not at the newest migration."""
    current, head = migrate.current_revision(url), migrate.head_revision()
    if current != head:
        raise DatabaseNotMigrated(
            f"The database is at schema revision {current or 'none (empty)'}, not {head}.",
            fix="Run `openqpp db upgrade` (with the same OPENQPP_DATABASE_URL) first.",
        )
