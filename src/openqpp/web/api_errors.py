"""The API's error envelope as the OpenAPI document describes it: ``{"error": {"type",
"message", "code", "details", "requestId"}}`` (what `openqpp.web.errors` answers), and the
``responses`` entries for the statuses a router's routes can answer, so the published document
lists every status a client can meet (schemathesis checks it: tests/e2e/api/test_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Open):
    message: str
    path: str | None = None


class ErrorBody(_Open):
    type: str = Field(
        description="ValidationError, DuplicateEntryError, Unauthorized, Forbidden, NotFound, "
        "PayloadTooLarge, TooManyRequests, ..."
    )
    message: str
    code: str | None = Field(default=None, description="openqpp's stable error code")
    details: list[dict[str, Any]] | dict[str, Any] | None = None
    requestId: str | None = None


class ErrorEnvelope(_Open):
    error: ErrorBody


WORDS = {
    400: "The request cannot be used as sent (a malformed value; the code and message say which).",
    401: "No valid API token or signed-in session (`Authorization: Bearer <token>`).",
    403: "The caller may not do this for this organisation or entity.",
    404: "Not found, or not visible to the caller (the same answer).",
    409: "Conflict: the object exists already or the change contradicts one that does.",
    413: "The request body is over the limit.",
    422: "ValidationError: every problem in details (a body field, a query or path parameter).",
    429: "Too many requests from this caller; wait Retry-After seconds.",
    503: "The database is unreachable or not at this version's schema (OQ-DB-001, OQ-DB-002); "
    "nothing was done; try again after Retry-After seconds.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


def error_responses(*statuses: int, **words: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries (the error envelope) for ``statuses``; ``words`` replaces
    the description of a status given as ``s401="..."``."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": ErrorEnvelope,
            "description": words.get(f"s{status}", WORDS[status]),
        }
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        out[status] = entry
    return out
