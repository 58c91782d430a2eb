"""Elections on the web: the Eligibility & Reporting pages (practice summary, connected
clinicians, reporting options, "Are you sure?", confirmation), notifications, the deadline
calendar, and the Eligibility API's opt-in endpoint."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request

from openqpp.core.elections import clock_time
from openqpp.core.errors import OpenQppError
from openqpp.services import elections
from openqpp.web.elections import api, pages

EASTERN = ZoneInfo("America/New_York")


def in_et(moment: dt.datetime | None) -> str:
    """``March 19, 2023 at 8:00 PM ET``: the guides' way to give a time."""
    if moment is None:
        return ""
    local = moment.astimezone(EASTERN)
    return f"{local:%B} {local.day}, {local.year} at {clock_time(local)} ET"


def election_deadline(request: Request, year: int) -> str:
    """The year's election deadline in words at the server's clock (for any entity page)."""
    try:
        deadline = elections.deadline(int(year), request.app.state.settings.now())
    except OpenQppError:
        return ""
    return f"PY {year} election deadline: {deadline.words}."


def install(app: FastAPI) -> None:
    app.state.templates.env.filters["et"] = in_et
    app.state.templates.env.globals["election_deadline"] = election_deadline
    app.include_router(pages.router)
    app.include_router(api.router)
