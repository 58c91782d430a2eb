"""Parsing what people type into forms and query strings (views only parse)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path

from openqpp.core.access import Invalid, OrganisationType
from openqpp.services import access

RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A record number.")]
"""A database row id in a path: out of range is a 422, never a database error."""


def kind(raw: str) -> OrganisationType:
    return access.organisation_type(raw)


def expiry(raw: str | None) -> dt.datetime | None:
    """A date (YYYY-MM-DD) the role or token stays valid through: it expires at the start of
    the next day, UTC. Empty: never expires."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"Expiry date {text!r} is not a date.",
            fix="Give it as YYYY-MM-DD (for example 2026-12-31), or leave it empty.",
        ) from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def safe_next(raw: str | None, default: str = "/account") -> str:
    """A local path to go to after signing in (never another site)."""
    value = (raw or "").strip()
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
