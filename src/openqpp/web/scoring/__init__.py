"""Preliminary scores on the web: the Submissions API's scoring calls (``score-preview`` and
``/submissions/{id}/score``) and the score pages of a practice or clinician (the total, one page
per performance category, and the what-if page)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import FastAPI

from openqpp.core.scoring.explain import number
from openqpp.web.scoring.api import router as api_router
from openqpp.web.scoring.pages import router as pages_router


def score_number(value: Decimal | int | float | None) -> str:
    """``12.5``, ``40``: a score for a sentence (at most two decimals, no trailing zeros)."""
    if value is None:
        return ""
    return number(Decimal(str(value)))


def install(app: FastAPI) -> None:
    """Register the templates' filter and the routers. Include before the Submissions API's
    router: ``/submissions/score-preview`` and ``/submissions/{id}/score`` are more specific
    than its ``/submissions/{id}``."""
    app.state.templates.env.filters["score_number"] = score_number
    app.include_router(api_router)
    app.include_router(pages_router)
