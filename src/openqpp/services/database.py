"""Database use cases: migrate, check models against migrations, open sessions."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from openqpp.db import migrate
from openqpp.db.session import make_engine, make_session_factory


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


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def session_factory(url: str) -> sessionmaker[Session]:
    return make_session_factory(engine_for(url))
