"""The Eligibility API's opt-in endpoint.

Reading is CMS's documented call: ``GET /api/eligibility/opt-in`` with the entities in the
``Qpp-Opt-In-Entities`` header. CMS does not publish the write call; openqpp's is
``PUT /api/eligibility/opt-in`` (``POST`` too) in the same style. Both need an API token
(``Authorization: Bearer``) or a signed-in session (writes then send ``X-CSRF-Token``).
Errors are the ``{"error": {...}}`` envelope, never HTML.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from openqpp.services import access, elections, mail
from openqpp.web import params
from openqpp.web.access.deps import api_principal, context, transaction
from openqpp.web.api_errors import error_responses
from openqpp.web.errors import error_body

router = APIRouter(
    prefix="/api/eligibility",
    tags=["elections"],
    responses=error_responses(400, 401, 403, 404, 409, 422, 503),
)

ENTITIES_HEADER = "Qpp-Opt-In-Entities"
REPLAYED_HEADER = "Idempotency-Replayed"

READ_DESCRIPTION = """
Whether each entity is opt-in eligible and what it elected, in CMS's documented shape.

Send the entities in the `Qpp-Opt-In-Entities` header: `TIN|NPI` for a clinician at a
practice, `TIN` alone for a group, separated by commas (at most 100), e.g.
`Qpp-Opt-In-Entities: 000456789|1234567890,000987654`.

Each entry: `tin`, `npi` (clinicians), `isOptInEligible`, `isOptedIn` (`true` opted in,
`false` elected to report voluntarily, `null` no election), `optInDecisionDate` (UTC),
`year`, `runNum`, and openqpp's `explanation` (status, the reasons, and the election: how it
was made, e.g. through a virtual group, and whether a voluntary reporter opted out of public
reporting). The caller must be allowed to view each entity's eligibility: its own practice,
or a client that authorised the registry for the year; otherwise the whole request is refused
with `403` and a `details` entry per entity refused.
"""

WRITE_DESCRIPTION = """
Make opt-in or voluntary reporting elections for one or many TIN (group) and TIN/NPI
(clinician) entities. **An election is final: it can never be changed or deleted.**

Body:

```json
{"data": [{"tin": "454599323", "decision": "opt_in"},
          {"tin": "123456789", "npi": "1234567893", "decision": "voluntary"}],
 "year": 2022,
 "confirm": "CONFIRM"}
```

* `decision`: `opt_in` or `voluntary` (or CMS-style `"isOptedIn": true | false`);
  `pathway` (optional): `traditional_mips` (default), `app` or `mvp`. A voluntary APP
  election is refused, and MVPs where the year does not offer them to opt-in eligible entities.
* `year`: the performance year; default the year whose election window is open now.
* `confirm`: must be `CONFIRM` (any case), as a person types it on the confirmation page.
* Send an `Idempotency-Key` header (a UUID) with each new request and the same key when you
  repeat it: the repeat returns the same result (header `Idempotency-Replayed: true`) and
  records nothing twice. Keys are kept per caller.

The request is **all or nothing**: every entity must be opt-in eligible at its level in the
newest determination run, have no election yet, be one the caller may elect for (its practice,
or a client that authorised the registry for the year), and the election window must be open.
If any entity is refused, nothing is recorded and `error.details` has one entry per entity, in
request order, with `outcome` `refused` (and its `code` and `message`) or `not_recorded`.
The `error.code` is the entities' refusal code when they share one, else `OQ-ELECT-100`:

| code | refusal | status |
|---|---|---|
| `OQ-ELECT-001` | not opt-in eligible at its level in the determination run | 422 |
| `OQ-ELECT-002` | already elected (details carry the existing election) | 409 |
| `OQ-ELECT-003` | the election window is not open yet | 422 |
| `OQ-ELECT-004` | the election window has closed | 422 |
| `OQ-ELECT-005` | not authorised for this entity (practice or client) | 403 |
| `OQ-ELECT-006` | elections are not made at this level (virtual group, APM entity) | 422 |
| `OQ-ELECT-007` | pathway not available (voluntary APP; MVP for opt-in eligible) | 422 |
| `OQ-ELECT-008` | `confirm` is not CONFIRM | 422 |
| `OQ-ELECT-009` | the decision is not opt_in or voluntary | 400 |
| `OQ-ELECT-010` | the Idempotency-Key was used for a different request | 422 |
| `OQ-ELECT-011` | malformed request (no entities, over 100, an entity twice) | 400 |

On success (200) `data` lists the elections in the read call's shape, with `decision`,
`pathway`, `electionId` and `optInDecisionDate` set. When a registry elects for a client, the
practice is notified in openqpp and by e-mail.
"""


class OptInEntity(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tin: str = Field(description="The practice's TIN (9 digits).", examples=["454599323"])
    npi: str | None = Field(default=None, description="The clinician's NPI (individual).")
    decision: str | None = Field(default=None, description="opt_in or voluntary")
    is_opted_in: bool | None = Field(
        default=None, alias="isOptedIn", description="CMS style: true opt in, false voluntary."
    )
    pathway: str | None = Field(default=None, description="traditional_mips (default), app, mvp")


class OptInSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[OptInEntity] = Field(description="The entities to elect for (1 to 100).")
    year: int | None = Field(
        default=None, description="Performance year.", ge=params.YEAR_MIN, le=params.YEAR_MAX
    )
    confirm: str | None = Field(default=None, description="Type CONFIRM.")


def _now(request: Request) -> dt.datetime:
    moment: dt.datetime = request.app.state.settings.now()
    return moment


def _json(body: dict[str, Any], status: int = 200, *, replayed: bool = False) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _refusal(exc: Any, details: list[dict[str, Any]]) -> JSONResponse:
    body = error_body(
        exc.http_status, f"{exc.message} {exc.fix}".strip(), code=exc.code, details=details
    )
    return JSONResponse(body, status_code=exc.http_status)


@router.get(
    "/opt-in",
    summary="Opt-in eligibility and elections of TIN and TIN/NPI entities",
    description=READ_DESCRIPTION,
)
def read_opt_in(
    request: Request,
    entities: Annotated[
        str | None,
        Header(alias=ENTITIES_HEADER, description="TIN|NPI,TIN (comma-separated, at most 100)"),
    ] = None,
    year: Annotated[
        int | None, Query(description="Performance year.", ge=params.YEAR_MIN, le=params.YEAR_MAX)
    ] = None,
    run_number: Annotated[
        int | None,
        Query(alias="runNum", description="Run (default newest).", ge=0, le=params.COUNT_MAX),
    ] = None,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    with transaction(request) as session:
        wanted = elections.parse_entities_header(entities)
        try:
            data = elections.opt_in_statuses(
                session,
                principal=principal,
                entities=wanted,
                year=year,
                run_number=run_number,
                now=_now(request),
            )
        except elections.OptInReadRefused as exc:
            return _refusal(exc, exc.details)
    return _json({"data": data})


def _submit(
    request: Request,
    body: OptInSubmission,
    principal: access.Principal,
    idempotency_key: str | None,
) -> JSONResponse:
    items = [
        elections.SubmitItem(
            tin=e.tin, npi=e.npi, decision=e.decision, is_opted_in=e.is_opted_in, pathway=e.pathway
        )
        for e in body.data
    ]
    try:
        with transaction(request) as session:
            result = elections.submit(
                session,
                principal=principal,
                items=items,
                year=body.year,
                typed=body.confirm,
                now=_now(request),
                context=context(request),
                idempotency_key=idempotency_key,
                mailer=mail.SmtpMailer.from_settings(request.app.state.settings),
            )
    except elections.ElectionsRefused as exc:
        return _refusal(exc, exc.details)
    return _json(result.body, result.status_code, replayed=result.replayed)


_WRITE: dict[str, Any] = {
    "summary": "Make opt-in or voluntary reporting elections (final; all or nothing)",
    "description": WRITE_DESCRIPTION,
}


@router.put("/opt-in", **_WRITE)
def put_opt_in(
    request: Request,
    body: OptInSubmission,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    return _submit(request, body, principal, idempotency_key)


@router.post("/opt-in", **_WRITE)
def post_opt_in(
    request: Request,
    body: OptInSubmission,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    return _submit(request, body, principal, idempotency_key)
