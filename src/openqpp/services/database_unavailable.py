"""The database cannot be reached (PostgreSQL restarting or stopped, a dropped connection, every
pooled connection busy, SQLite locked past its busy timeout): which errors mean that, and the
refusal a person or an API client sees for them (``503 OQ-DB-002``) instead of a server error.

The request's transaction is rolled back by the database when its connection drops, so nothing
half-done is stored. A failure while committing leaves it open whether the commit landed; the
fix says how to repeat a write safely (the same Idempotency-Key returns the original answer
when it did land).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from openqpp.core.errors import TryAgainLater

RETRY_AFTER_SECONDS: Final = 5

ERRORS: Final = (DBAPIError, DisconnectionError, PoolTimeout)
"""The exception classes to look at with :func:`from_exception` (a handler per class)."""


class DatabaseUnavailable(TryAgainLater):
    """The database could not be reached while handling a request (503, try again)."""

    code = "OQ-DB-002"
    http_status = 503
    retry_after_seconds = RETRY_AFTER_SECONDS


def from_exception(exc: BaseException) -> DatabaseUnavailable | None:
    """The refusal for ``exc`` when it means the database is unavailable, else None (a real
    server error: a constraint, a bug)."""
    if isinstance(exc, PoolTimeout):
        problem = "every connection to the database is busy"
    elif isinstance(exc, DisconnectionError) or (
        isinstance(exc, DBAPIError)
        and (exc.connection_invalidated or isinstance(exc, OperationalError))
    ):
        problem = "the database is unavailable"
    else:
        return None
    return DatabaseUnavailable(
        f"This request could not be completed because {problem} right now.",
        fix=f"Try again in {RETRY_AFTER_SECONDS} seconds; nothing is recorded twice (an API "
        "write repeated with the same Idempotency-Key returns its original answer if it did "
        "land). If this keeps happening, tell the operator: /healthz shows the database's state.",
    )
