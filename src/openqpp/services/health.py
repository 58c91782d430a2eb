"""Health of a running openqpp: database reachable and migrated."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from openqpp import __version__
from openqpp.db import migrate
from openqpp.services.database import engine_for


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    version: str
    database: str
    revision: str | None
    head: str | None
    detail: str | None = None


def check(database_url: str) -> Health:
    head = migrate.head_revision()
    try:
        with engine_for(database_url).connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = migrate.revision_of(connection)
    except Exception as exc:
        return Health(False, __version__, "unreachable", None, head, type(exc).__name__)
    if revision != head:
        return Health(
            False, __version__, "not migrated", revision, head, "run `openqpp db upgrade`"
        )
    return Health(True, __version__, "ok", revision, head)
