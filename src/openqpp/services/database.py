"""Database use cases: migrate, check models against migrations, open sessions."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openqpp.core.errors import OpenQppError
from openqpp.db import migrate
from openqpp.db.session import make_engine, make_session_factory
from openqpp.settings import Settings, get_settings


def upgrade(url: str) -> tuple[str | None, str | None]:
    """Migrate the database at ``url`` to the newest revision; returns (before, after)."""
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


def engine_options(url: str, settings: Settings | None = None) -> dict[str, Any]:
    """The pool options (OPENQPP_DB_POOL_*) for a server database; SQLite keeps its defaults."""
    if url.startswith("sqlite"):
        return {}
    return dict((settings or get_settings()).pool_options)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url, **engine_options(url))


def session_factory(url: str) -> sessionmaker[Session]:
    return make_session_factory(engine_for(url))


DbSession = Session
"""The session type the outer layers pass to services (so they need not import SQLAlchemy)."""


def read_session(url: str) -> Iterator[Session]:
    """A session for one request or command; services open transactions for writes."""
    with session_factory(url)() as session:
        yield session


class DatabaseNotMigrated(OpenQppError):
    code = "OQ-DB-001"


def require_current(url: str) -> None:
    """Refuse to work on a database whose schema is not at the newest migration."""
    current, head = migrate.current_revision(url), migrate.head_revision()
    if current != head:
        raise DatabaseNotMigrated(
            f"The database is at schema revision {current or 'none (empty)'}, not {head}.",
            fix="Run `openqpp db upgrade` (with the same OPENQPP_DATABASE_URL) first.",
        )
