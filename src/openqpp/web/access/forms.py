"""Parsing what people type into forms and query strings (views only parse)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated

from fastapi import Path

from openqpp.core.access import Invalid, OrganisationType
from openqpp.core.errors import Location, OpenQppError
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
            location=Location(path="expires_on"),
        ) from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def safe_next(raw: str | None, default: str = "/account") -> str:
    """A local path to go to after signing in (never another site)."""
    value = (raw or "").strip()
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def refusal(
    exc: OpenQppError,
    fields: Mapping[str, str],
    *,
    codes: Mapping[str, str] | None = None,
    default: str = "",
) -> dict[str, str]:
    """A refused form's problem for the CMS Design System error summary: ``{"field": the id
    of the input it concerns, "message": what is wrong and how to fix it}``. The input is found
    from the error's location (a form field name, looked up in ``fields``), else from its code
    (``codes``: code prefix -> form field name, e.g. ``{"OQ-NPI-": "npi"}``), else ``default``
    (empty: a problem of no one field, listed without a link)."""
    name = exc.location.path if exc.location is not None else None
    if name is None:
        name = next(
            (field for prefix, field in (codes or {}).items() if exc.code.startswith(prefix)), None
        )
    return {
        "field": fields.get(name or "", default),
        "message": f"{exc.message} {exc.fix}".strip(),
    }
