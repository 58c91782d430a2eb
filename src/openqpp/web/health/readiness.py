"""Readiness: an instance serves pages and APIs only once its database is at this version's
schema (what `GET /healthz` reports).

Until then every route but ``/healthz`` answers ``503 OQ-DB-001`` with ``Retry-After``, having
done nothing, so a reverse proxy that passes a request on to the next instance on 503
(``deploy/nginx/openqpp.conf``: ``proxy_next_upstream ... http_503``) leaves this instance out
instead of letting it fail requests with 500. The static files need no database and are served.
A database that cannot be reached is not a schema problem: such requests go on and meet the
database's own error.

Once the schema has been found current the check is not made again: migrations are written so
the running release keeps working after a newer release migrates (docs/operations.md), and an
instance already serving must not drop out when that happens.
"""

from __future__ import annotations

from typing import Final

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from openqpp.core.errors import TryAgainLater
from openqpp.services import database, health

RETRY_AFTER_SECONDS: Final = 10


class NotReady(TryAgainLater, database.DatabaseNotMigrated):
    """This instance's database is not at this version's schema (503)."""

    retry_after_seconds = RETRY_AFTER_SECONDS


async def require_ready(request: Request) -> None:
    """Application dependency: refuse with 503 while the database schema is not this version's."""
    state = request.app.state
    if getattr(state, "ready", False) or request.url.path == "/healthz":
        return
    result = await run_in_threadpool(health.check, state.settings.database_url)
    if result.ok:
        state.ready = True
        return
    if result.database != "not migrated":
        return  # unreachable: not a schema problem; the request meets the database's own error
    raise NotReady(
        f"This server is not ready: its database schema is at revision "
        f"{result.revision or 'none (empty)'} and this version of openqpp needs {result.head}. "
        "Nothing was done.",
        fix=f"Try again in {RETRY_AFTER_SECONDS} seconds. Operators: run the release step "
        "(`openqpp db upgrade`) and send traffic only to instances whose /healthz answers 200.",
    )
