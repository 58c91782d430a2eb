"""The public Participation Status page: NPI in, results per practice out, in plain words."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from openqpp.core.common import PerformanceYear
from openqpp.core.errors import InvalidValue
from openqpp.services import eligibility_lookup as lookup
from openqpp.web.deps import Db

router = APIRouter(include_in_schema=False)


def _problem(field: str, exc: InvalidValue) -> dict[str, str]:
    return {"field": field, "message": f"{exc.message} {exc.fix}", "code": exc.code}


@router.get("/participation-lookup", response_class=HTMLResponse)
def participation_lookup(
    request: Request, db: Db, npi: str | None = None, year: str | None = None
) -> HTMLResponse:
    context: dict[str, object] = {"npi": npi or "", "year": year or "", "errors": []}
    status = 200
    if npi is not None:
        errors = []
        chosen_year = None
        if year and year.strip():
            try:
                chosen_year = int(PerformanceYear(year))
            except InvalidValue as exc:
                errors.append(_problem("year", exc))
        if not errors:
            try:
                context["clinician"] = lookup.lookup_npi(db, npi, year=chosen_year)
            except InvalidValue as exc:
                errors.append(_problem("npi", exc))
            except (lookup.ClinicianNotFound, lookup.NoDeterminationRun) as exc:
                context["not_found"] = f"{exc.message} {exc.fix}"
                status = 404
        if errors:
            context["errors"] = errors
            context["error_code"] = errors[0]["code"]
            status = 400
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "eligibility/lookup.html", context, status_code=status
    )
    return response
