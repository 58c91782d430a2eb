"""The Eligibility API: `GET /api/eligibility/npi/{npi}`, `/npis/{npi,npi,...}`, `/stats`, and
the roster endpoint `POST /api/eligibility/roster` (openqpp's)."""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from openqpp.core.errors import InvalidValue, Location, OpenQppError
from openqpp.services import database
from openqpp.services import eligibility_lookup as lookup
from openqpp.services.access import Principal
from openqpp.web import params
from openqpp.web.access.deps import optional_principal
from openqpp.web.api_errors import error_responses
from openqpp.web.deps import Db
from openqpp.web.eligibility import v6
from openqpp.web.errors import error_body
from openqpp.web.limits import PayloadTooLarge, read_body

router = APIRouter(
    prefix="/api/eligibility",
    tags=["eligibility"],
    responses=error_responses(
        400,
        401,
        404,
        413,
        422,
        503,
        s401="An Authorization header that is not a valid API token (anonymous callers are "
        "answered).",
    ),
)

SUPPORTED_VERSIONS = (6,)
DEFAULT_VERSION = 6
MAX_NPIS = 100
MAX_ROSTER_ROWS = 10_000
MAX_ROSTER_BYTES = 2_000_000
_VERSION = re.compile(r"application/vnd\.qpp\.cms\.gov\.v(\d+)\+json")

Year = Annotated[
    int | None,
    Query(
        description="Performance year (default: the newest run's).",
        ge=params.YEAR_MIN,
        le=params.YEAR_MAX,
    ),
]
RunNum = Annotated[
    int | None,
    Query(
        alias="runNum",
        description="Run within the year (default: newest).",
        ge=0,
        le=params.COUNT_MAX,
    ),
]


def api_version(request: Request) -> int:
    """The v{N} asked for in Accept; CMS answers the default for a missing or unsupported one."""
    match = _VERSION.search(request.headers.get("accept", ""))
    version = int(match.group(1)) if match else DEFAULT_VERSION
    return version if version in SUPPORTED_VERSIONS else DEFAULT_VERSION


def _json(body: Any, *, version: int = DEFAULT_VERSION, status: int = 200) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    response.headers["QPP-API-Version"] = f"v{version}"
    return response


def _error(status: int, error_type: str, exc: OpenQppError) -> JSONResponse:
    body = error_body(status, f"{exc.message} {exc.fix}".strip(), code=exc.code)
    body["error"]["type"] = error_type
    return JSONResponse(body, status_code=status)


@router.get("/npi/{npi}", summary="Eligibility of one clinician at every practice (v6)")
async def npi_lookup(npi: str, request: Request, year: Year = None, run: RunNum = None) -> Response:
    # The busiest public call: the caller, the session and the lookup in one trip to the
    # thread pool (as dependencies they would be three, each waiting for a free thread). Without
    # query parameters it is answered by web/eligibility/direct.py, with the same function.
    return await run_in_threadpool(npi_answer, request, npi, year, run)


def npi_answer(request: Request, npi: str, year: int | None, run: int | None) -> Response:
    """The answer to `GET /api/eligibility/npi/{npi}` (in a worker thread): the caller, one
    reading session, the lookup and its v6 JSON; the lookup's refusals as 400/404 JSON."""
    version = api_version(request)
    principal = optional_principal(request)
    with database.reading(request.app.state.settings.database_url) as db:
        try:
            view = lookup.lookup_npi(db, npi, year=year, run_number=run)
            shown = lookup.visible_tins(db, principal, (o.tin for o in view.organizations))
        except InvalidValue as exc:
            return _error(400, "InvalidFormatNpi", exc)
        except lookup.ClinicianNotFound as exc:
            return _error(404, "NoProviderInformation", exc)
        except lookup.NoDeterminationRun as exc:
            return _error(404, "NoDeterminationRun", exc)
    return _json({"data": v6.clinician(view, show_tins=shown)}, version=version)


@router.get("/npis/{npis}", summary="Eligibility of several clinicians (comma-separated NPIs)")
def npis_lookup(
    npis: str,
    request: Request,
    db: Db,
    year: Year = None,
    principal: Principal | None = Depends(optional_principal),
) -> Response:
    version = api_version(request)
    wanted = [n for n in (part.strip() for part in npis.split(",")) if n]
    if not wanted or len(wanted) > MAX_NPIS:
        exc = InvalidValue(
            f"Give between 1 and {MAX_NPIS} NPIs; {len(wanted)} were given.",
            fix="Separate NPIs with commas, e.g. /api/eligibility/npis/1234567893,1003000126; "
            "use the roster endpoint for more.",
            code="OQ-ELIG-002",
        )
        return _error(400, "InvalidFormatNpi", exc)
    try:
        _run, views = lookup.lookup_npis(db, wanted, year=year)
        shown = lookup.visible_tins(db, principal, (o.tin for v in views for o in v.organizations))
    except InvalidValue as exc:
        return _error(400, "InvalidFormatNpi", exc)
    except lookup.NoDeterminationRun as exc:
        return _error(404, "NoDeterminationRun", exc)
    return _json({"data": [v6.clinician(v, show_tins=shown) for v in views]}, version=version)


@router.get("/stats", summary="Counts of entities by level and status in the newest run")
def run_stats(db: Db, year: Year = None) -> Response:
    try:
        result = lookup.stats(db, year=year)
    except lookup.NoDeterminationRun as exc:
        return _error(404, "NoDeterminationRun", exc)
    return _json(
        {
            "data": {
                # CMS publishes HCC risk and dual-eligibility averages here; openqpp's claims
                # inputs carry neither, so they are null rather than invented.
                "individual": {"hccRiskScoreAverage": None, "dualEligibilityAverage": None},
                "group": {"hccRiskScoreAverage": None, "dualEligibilityAverage": None},
                "performanceYear": result.performance_year,
                "runNum": result.run_number,
                "counts": result.counts,
            }
        }
    )


def _roster_entries(text: str) -> list[tuple[int, str, str | None]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidValue(
            f"The roster is not readable CSV at line {reader.line_num}: {exc}.",
            fix="Send plain CSV (comma-separated, quote a field that holds a comma, quote or "
            "newline) with a header row `tin,npi`.",
            code="OQ-ROSTER-006",
            location=Location(line=reader.line_num),
        ) from None
    if not rows:
        raise InvalidValue(
            "The roster is empty.",
            fix="Send CSV with a header row `tin,npi` and one TIN (group) or TIN and NPI "
            "(clinician) per line.",
            code="OQ-ROSTER-001",
        )
    header = [h.strip().lower() for h in rows[0]]
    if "tin" not in header:
        raise InvalidValue(
            "The roster's header row has no `tin` column.",
            fix="Start the CSV with the header `tin,npi`.",
            code="OQ-ROSTER-002",
        )
    tin_at = header.index("tin")
    npi_at = header.index("npi") if "npi" in header else None
    body = rows[1:]
    if len(body) > MAX_ROSTER_ROWS:
        raise InvalidValue(
            f"The roster has {len(body)} rows; at most {MAX_ROSTER_ROWS} are allowed.",
            fix="Split the roster into files of at most 10,000 rows.",
            code="OQ-ROSTER-003",
        )
    entries = []
    for number, row in enumerate(body, start=2):
        if not any(cell.strip() for cell in row):
            continue
        tin = row[tin_at].strip() if tin_at < len(row) else ""
        npi = row[npi_at].strip() if npi_at is not None and npi_at < len(row) else ""
        entries.append((number, tin, npi or None))
    return entries


def _roster_dict(line: lookup.RosterLine) -> dict[str, Any]:
    def part(view: lookup.ScenarioView | None) -> dict[str, Any] | None:
        if view is None:
            return None
        return {
            "status": view.status.value,
            "statusText": view.display,
            "exceeded": [c.value for c in view.exceeded],
            "specialStatuses": sorted(s.value for s in view.special_statuses),
            "reasons": view.reason_texts,
        }

    return {
        "line": line.line,
        "tin": line.tin,
        "npi": line.npi,
        "individual": part(line.individual),
        "group": part(line.group),
        "error": line.error,
    }


@router.post(
    "/roster",
    summary="Results for a roster of TINs and TIN/NPIs (CSV in; CSV or JSON out)",
    responses={
        200: {
            "description": "The results: JSON, or CSV with `Accept: text/csv` or `format=csv`.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def roster(
    request: Request,
    db: Db,
    year: Year = None,
    answer_format: Annotated[
        Literal["json", "csv"] | None, Query(alias="format", description="csv or json")
    ] = None,
) -> Response:
    try:  # read in chunks and given up past the limit, never held whole in memory
        raw = await read_body(request, MAX_ROSTER_BYTES)
    except PayloadTooLarge:
        body = error_body(
            413,
            f"The roster is larger than the limit of {MAX_ROSTER_BYTES:,} bytes. Split it into "
            "files of at most 10,000 rows.",
            code="OQ-ROSTER-004",
        )
        return JSONResponse(body, status_code=413)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        exc = InvalidValue(
            "The roster is not UTF-8 text.",
            fix="Save the roster as UTF-8 CSV.",
            code="OQ-ROSTER-005",
        )
        return _error(400, "InvalidRoster", exc)
    try:
        entries = _roster_entries(text)
        # In the thread pool, as the sync views are: on the event loop, waiting for a pooled
        # connection would stop the worker's other requests from returning theirs.
        run, lines = await run_in_threadpool(lookup.roster, db, entries, year=year)
    except InvalidValue as exc:
        return _error(400, "InvalidRoster", exc)
    except lookup.NoDeterminationRun as exc:
        return _error(404, "NoDeterminationRun", exc)
    wants_csv = "text/csv" in request.headers.get("accept", "") or answer_format == "csv"
    if wants_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "line",
                "tin",
                "npi",
                "individual_status",
                "group_status",
                "exceeded",
                "special_statuses",
                "reasons",
                "error",
            ]
        )
        for line in lines:
            view = line.individual or line.group
            writer.writerow(
                [
                    line.line,
                    line.tin,
                    line.npi or "",
                    line.individual.status.value if line.individual else "",
                    line.group.status.value if line.group else "",
                    ";".join(c.value for c in view.exceeded) if view else "",
                    ";".join(sorted(s.value for s in view.special_statuses)) if view else "",
                    " | ".join(view.reason_texts) if view else "",
                    line.error or "",
                ]
            )
        return Response(out.getvalue(), media_type="text/csv")
    return _json(
        {
            "data": {
                "performanceYear": run.performance_year,
                "runNum": run.run_number,
                "results": [_roster_dict(line) for line in lines],
            }
        }
    )
