"""What every server-rendered page shares: the Eligibility & Reporting addresses, the clock the
rules use, the performance year in a path, and rendering with the pinned-clock notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from openqpp.core.common import PerformanceYear

BASE = "/eligibility-reporting"
PRACTICE = BASE + "/{year}/practices/{tin}"
CLINICIAN = PRACTICE + "/clinicians/{npi}"


def now(request: Request) -> dt.datetime:
    """The time the rules use: OPENQPP_CLOCK when set, else the real clock."""
    moment: dt.datetime = request.app.state.settings.now()
    return moment


def year_of(raw: str) -> int:
    """The performance year in a path or form (InvalidValue when it is not one)."""
    return int(PerformanceYear(raw))


def render(
    request: Request, template: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A page from ``template``; every page says when the server's clock is pinned."""
    values = {"clock_pinned": request.app.state.settings.clock_pinned, **values}
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, values, status_code=status_code
    )
    return response
