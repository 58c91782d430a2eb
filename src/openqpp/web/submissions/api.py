"""The Submissions API under ``/api/submissions``, compatible with CMS's
(https://qpp.cms.gov/api/submissions; shared/reference/notes/qpp-apis.md).

The views read the request (the body size-limited, never more than the limit in memory),
check the caller (bearer token or session, the rate limit, the Accept header), call one
service and answer JSON: ``{"data": ...}`` on success, ``{"error": {"type", "message",
"code", "details"}}`` otherwise, never HTML.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from openqpp.core.errors import OpenQppError
from openqpp.services import access
from openqpp.services.submissions import api as service
from openqpp.web import pages, params
from openqpp.web.access.deps import api_principal, context, optional_principal, transaction
from openqpp.web.api_errors import error_responses
from openqpp.web.limits import caller_key, check_rate, read_body
from openqpp.web.logs import request_id_var
from openqpp.web.submissions import api_schema as schema

ACCEPTABLE = frozenset(
    {"*/*", "application/*", "application/json", "application/vnd.qpp.cms.gov.v1+json"}
)
TIN_HEADER = "qpp-taxpayer-identification-number"
REPLAYED_HEADER = "Idempotency-Replayed"

DESCRIPTION = """
openqpp's Submissions API answers CMS's calls in CMS's shapes
(`https://qpp.cms.gov/api/submissions`), so CMS's file-upload client and converters work
against it.

* **Authentication**: `Authorization: Bearer <API token>` (a Security Official creates tokens
  under Organisation > API tokens), or a signed-in session (writes then send `X-CSRF-Token`).
* **Versions**: send `Accept: application/vnd.qpp.cms.gov.v1+json` or `application/json`
  (the latest, v1). Other versions are answered `406`.
* **Envelope**: `{"data": {...}}`; errors `{"error": {"type", "message", "code", "details"}}`.
  A validation failure is `422` `ValidationError` with one detail per finding:
  `message` (CMS's wording), `path` and `location.path` (JSONPath in the request body as sent),
  openqpp's `code`, `fix` and `severity`.
* **Who sees what**: a registry or QCDR sees and changes only the measurement sets it
  submitted; the practice sees what every intermediary submitted for it.
* **The opt-in gate**: data for an opt-in eligible clinician or group that has not made its
  election is refused with **422** `ValidationError`, code `OQ-SUB-101` ("make the election
  first"); nothing is stored.
* **Duplicates**: `409` `DuplicateEntryError`, `details` naming the existing object.
* **Limits**: bodies over `OPENQPP_MAX_REQUEST_BYTES` (default 10 MB) are refused with `413`;
  each token or user may make `OPENQPP_RATE_LIMIT_BURST` requests at once and
  `OPENQPP_RATE_LIMIT_PER_SECOND` after that (CMS: 40 and 25), else `429` with `Retry-After`.
* **Idempotency**: POSTs honour an `Idempotency-Key` header (repeats return the first answer
  with `Idempotency-Replayed: true`).
* **Receipts** (openqpp's addition): every accepted change keeps a receipt (the whole
  submission after it); `GET /submissions/{id}/receipts` lists them and
  `/submissions/{id}/receipts/{receiptId}` downloads one.
"""


class NotAcceptable(OpenQppError):
    http_status = 406
    code = "OQ-REQ-406"


class _Route(APIRoute):
    """Answers the services' refusals in the API's envelope (CMS's error types, details)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except service.ApiRefusal as refusal:
                return JSONResponse(
                    refusal.body(request_id_var.get()),
                    status_code=refusal.http_status,
                    headers=refusal.headers,
                )

        return route


router = APIRouter(
    prefix="/api/submissions",
    tags=["submissions"],
    route_class=_Route,
    responses=error_responses(503),
)


# ---------------------------------------------------------------- callers


def _check_accept(request: Request) -> None:
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return
    for part in accept.split(","):
        if part.split(";", 1)[0].strip().lower() in ACCEPTABLE:
            return
    raise NotAcceptable(
        f"This API answers application/json (API version v1); the request accepts only {accept!r}.",
        fix="Send 'Accept: application/vnd.qpp.cms.gov.v1+json' or 'Accept: application/json'.",
    )


def caller(request: Request) -> access.Principal:
    """The API principal (token or session), within its rate limit."""
    _check_accept(request)
    principal = api_principal(request)
    check_rate(request, caller_key(request, principal))
    return principal


def public_caller(request: Request) -> access.Principal | None:
    """Anyone (a token or session if sent), within the rate limit of the caller or address."""
    _check_accept(request)
    principal = optional_principal(request)
    check_rate(request, caller_key(request, principal))
    return principal


Caller = Annotated[access.Principal, Depends(caller)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Send a unique key to make a retry safe."),
]
Start = Annotated[
    int, Query(alias="startIndex", description="First item (0-based).", ge=0, le=params.COUNT_MAX)
]
PerPage = Annotated[
    int, Query(alias="itemsPerPage", ge=1, le=service.MAX_PAGE, description="Page size.")
]


def _json(body: dict[str, Any], status: int = 200, *, replayed: bool = False) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _result(result: service.ApiResult) -> JSONResponse:
    return _json(result.body, result.status, replayed=result.replayed)


async def _write(
    request: Request,
    principal: access.Principal,
    use_case: Callable[..., service.ApiResult],
    *,
    idempotency_key: str | None = None,
    idempotent: bool = False,
    **arguments: Any,
) -> JSONResponse:
    """Read the body (size-limited), run the use case in one transaction, answer its result."""
    body = await read_body(request)
    now = pages.now(request)
    if idempotent:
        arguments["idempotency"] = service.Idempotency.of(
            idempotency_key,
            principal=principal,
            method=request.method,
            path=request.url.path,
            body=body,
        )

    def run() -> service.ApiResult:
        with transaction(request) as session:
            return use_case(
                session,
                principal=principal,
                body=body,
                now=now,
                context=context(request),
                **arguments,
            )

    return _result(await run_in_threadpool(run))


def _read(
    request: Request, use_case: Callable[..., dict[str, Any]], **arguments: Any
) -> JSONResponse:
    with transaction(request) as session:
        data = use_case(session, now=pages.now(request), **arguments)
    return _json({"data": data})


# ---------------------------------------------------------------- submissions

# 400: text with a NUL character in a query parameter (PostgreSQL cannot compare it, OQ-REQ-002).
_LIST = schema.errors(400, 401, 406, 422, 429)
_ONE = schema.errors(400, 401, 404, 406, 422, 429)
_WRITE = schema.errors(400, 401, 403, 404, 406, 409, 413, 422, 429)


@router.get(
    "/submissions",
    summary="List submissions (filters: TIN header, NPI, entityId, year, entityType)",
    description="Every submission the caller may see, each with the measurement sets it may see "
    "(a registry: its own). The TIN goes in the `qpp-taxpayer-identification-number` header "
    "(or the `taxpayerIdentificationNumber` query); with a TIN the caller is authorised for "
    "but has no data in, the submission comes with empty `measurementSets`." + DESCRIPTION,
    response_model=schema.SubmissionsEnvelope,
    responses=_LIST,
)
def list_submissions(
    request: Request,
    principal: Caller,
    tin_header: Annotated[str | None, Header(alias=TIN_HEADER)] = None,
    tin: Annotated[str | None, Query(alias="taxpayerIdentificationNumber")] = None,
    npi: Annotated[str | None, Query(alias="nationalProviderIdentifier")] = None,
    entity_id: Annotated[str | None, Query(alias="entityId")] = None,
    year: Annotated[
        int | None, Query(alias="performanceYear", ge=params.YEAR_MIN, le=params.YEAR_MAX)
    ] = None,
    entity_type: Annotated[str | None, Query(alias="entityType")] = None,
    start: Start = 0,
    per_page: PerPage = service.MAX_PAGE,
) -> JSONResponse:
    return _read(
        request,
        service.list_submissions,
        principal=principal,
        tin=tin_header or tin,
        npi=npi,
        entity_id=entity_id,
        year=year,
        entity_type=entity_type,
        start=start,
        per_page=per_page,
    )


@router.post(
    "/submissions",
    summary="Create a whole submission (practices; registries get 401)",
    description="A whole QPP JSON submission for an entity that has none yet in the "
    "performance year (201). Registries and QCDRs are answered 401 `Unauthorized`, as CMS "
    "does: they send measurement sets. An entity that has a submission already: 409 "
    "`DuplicateEntryError` with `details.submissionId`.",
    status_code=201,
    response_model=schema.SubmissionEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.SUBMISSION_IN, description="A QPP JSON submission."),
)
async def create_submission(
    request: Request, principal: Caller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    return await _write(
        request,
        principal,
        service.create_submission,
        idempotency_key=idempotency_key,
        idempotent=True,
    )


@router.get(
    "/submissions/{submission_id}",
    summary="Get one submission (with the measurement sets the caller may see)",
    response_model=schema.SubmissionEnvelope,
    responses=_ONE,
)
def get_submission(request: Request, principal: Caller, submission_id: str) -> JSONResponse:
    return _read(request, service.get_submission, principal=principal, submission_id=submission_id)


@router.get(
    "/submissions/{submission_id}/receipts",
    summary="List a submission's receipts (every accepted version; openqpp's addition)",
    description="One receipt per accepted change: when, what operation, through which "
    "channel, by whom, for whom, the file's hash. A registry sees the receipts of its own "
    "changes.",
    response_model=schema.ReceiptsEnvelope,
    responses=_ONE,
)
def list_receipts(request: Request, principal: Caller, submission_id: str) -> JSONResponse:
    return _read(request, service.list_receipts, principal=principal, submission_id=submission_id)


@router.get(
    "/submissions/{submission_id}/receipts/{receipt_id}",
    summary="Download one receipt as a JSON file (openqpp's addition)",
    description="The receipt document (not wrapped in `data`): who sent what, for whom, on "
    "which determination run and election, what was received, and (for the practice) the "
    "whole submission after the change. Sent as an attachment (Content-Disposition).",
    responses={
        200: {
            "description": "The receipt document.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **_ONE,
    },
)
def download_receipt(
    request: Request, principal: Caller, submission_id: str, receipt_id: str
) -> Response:
    with transaction(request) as session:
        name, document = service.receipt_download(
            session,
            principal=principal,
            submission_id=submission_id,
            receipt_id=receipt_id,
            now=pages.now(request),
        )
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------- measurement sets


@router.get(
    "/measurement-sets",
    summary="List the measurement sets the caller may see (a registry: its own)",
    response_model=schema.MeasurementSetsEnvelope,
    responses=_LIST,
)
def list_measurement_sets(
    request: Request,
    principal: Caller,
    submission_id: Annotated[str | None, Query(alias="submissionId")] = None,
    year: Annotated[
        int | None, Query(alias="performanceYear", ge=params.YEAR_MIN, le=params.YEAR_MAX)
    ] = None,
    category: str | None = None,
    submission_method: Annotated[str | None, Query(alias="submissionMethod")] = None,
    start: Start = 0,
    per_page: PerPage = service.MAX_PAGE,
) -> JSONResponse:
    return _read(
        request,
        service.list_measurement_sets,
        principal=principal,
        submission_id=submission_id,
        year=year,
        category=category,
        submission_method=submission_method,
        start=start,
        per_page=per_page,
    )


@router.post(
    "/measurement-sets",
    summary="Create a measurement set (finds or creates its submission)",
    description="The set with `submission` (entityType, TIN, NPI or entityId, performanceYear: "
    "the submission is found or created) or `submissionId` (201). One set per category, "
    "submission method and programName per submitter: a second is 409 "
    "`DuplicateEntryError` (details name it; use PUT or PATCH).",
    status_code=201,
    response_model=schema.MeasurementSetEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.MEASUREMENT_SET_IN, description="A measurement set."),
)
async def create_measurement_set(
    request: Request, principal: Caller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    return await _write(
        request,
        principal,
        service.create_measurement_set,
        idempotency_key=idempotency_key,
        idempotent=True,
    )


@router.get(
    "/measurement-sets/{set_id}",
    summary="Get one measurement set (404 unless the caller may see it)",
    response_model=schema.MeasurementSetEnvelope,
    responses=_ONE,
)
def get_measurement_set(request: Request, principal: Caller, set_id: str) -> JSONResponse:
    return _read(request, service.get_measurement_set, principal=principal, set_id=set_id)


@router.put(
    "/measurement-sets/{set_id}",
    summary="Replace one of the caller's measurement sets",
    description="Full replacement (200). category, submissionMethod and programName default "
    "to the set's and cannot change. Another submitter's set: 404.",
    response_model=schema.MeasurementSetEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.MEASUREMENT_SET_IN, description="The whole set."),
)
async def replace_measurement_set(request: Request, principal: Caller, set_id: str) -> JSONResponse:
    return await _write(request, principal, service.replace_measurement_set, set_id=set_id)


@router.patch(
    "/measurement-sets/{set_id}",
    summary="Update one of the caller's measurement sets (measurements merged by measureId)",
    description="The fields sent replace the set's; each measurement sent replaces the one "
    "with its measureId or is added; the others are kept (200).",
    response_model=schema.MeasurementSetEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.MEASUREMENT_SET_IN, description="Fields to change."),
)
async def patch_measurement_set(request: Request, principal: Caller, set_id: str) -> JSONResponse:
    return await _write(request, principal, service.patch_measurement_set, set_id=set_id)


@router.delete(
    "/measurement-sets/{set_id}",
    summary="Delete one of the caller's measurement sets (another submitter's: 404)",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Deleted (a receipt keeps the version before)."},
        **schema.errors(401, 403, 404, 406, 422, 429),
    },
)
def delete_measurement_set(request: Request, principal: Caller, set_id: str) -> Response:
    with transaction(request) as session:
        service.delete_measurement_set(
            session,
            principal=principal,
            set_id=set_id,
            now=pages.now(request),
            context=context(request),
        )
    return Response(status_code=204)


# ---------------------------------------------------------------- measurements


@router.get(
    "/measurements",
    summary="List the measurements of the sets the caller may see",
    response_model=schema.MeasurementsEnvelope,
    responses=_ONE,
)
def list_measurements(
    request: Request,
    principal: Caller,
    measurement_set_id: Annotated[str | None, Query(alias="measurementSetId")] = None,
    measure_id: Annotated[str | None, Query(alias="measureId")] = None,
    start: Start = 0,
    per_page: PerPage = service.MAX_PAGE,
) -> JSONResponse:
    return _read(
        request,
        service.list_measurements,
        principal=principal,
        measurement_set_id=measurement_set_id,
        measure_id=measure_id,
        start=start,
        per_page=per_page,
    )


@router.post(
    "/measurements",
    summary="Add a measurement to one of the caller's measurement sets",
    description="`measurementSetId`, `measureId`, `value` (201). A measureId the set has "
    "already: 409 `DuplicateEntryError`.",
    status_code=201,
    response_model=schema.MeasurementEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.MEASUREMENT_WRITE, description="A measurement."),
)
async def create_measurement(
    request: Request, principal: Caller, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    return await _write(
        request,
        principal,
        service.create_measurement,
        idempotency_key=idempotency_key,
        idempotent=True,
    )


@router.get(
    "/measurements/{measurement_id}",
    summary="Get one measurement (404 unless the caller may see its set)",
    response_model=schema.MeasurementEnvelope,
    responses=_ONE,
)
def get_measurement(request: Request, principal: Caller, measurement_id: str) -> JSONResponse:
    return _read(
        request, service.get_measurement, principal=principal, measurement_id=measurement_id
    )


@router.put(
    "/measurements/{measurement_id}",
    summary="Replace one of the caller's measurements",
    response_model=schema.MeasurementEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.MEASUREMENT_WRITE, description="The measurement."),
)
async def replace_measurement(
    request: Request, principal: Caller, measurement_id: str
) -> JSONResponse:
    return await _write(
        request, principal, service.replace_measurement, measurement_id=measurement_id
    )


@router.patch(
    "/measurements/{measurement_id}",
    summary="Update one of the caller's measurements (an object value's keys are merged)",
    response_model=schema.MeasurementEnvelope,
    responses=_WRITE,
    openapi_extra=schema.json_body(schema.MEASUREMENT_WRITE, description="Fields to change."),
)
async def patch_measurement(
    request: Request, principal: Caller, measurement_id: str
) -> JSONResponse:
    return await _write(
        request, principal, service.patch_measurement, measurement_id=measurement_id
    )


@router.delete(
    "/measurements/{measurement_id}",
    summary="Delete one of the caller's measurements",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted; its set is kept without it."}, **_WRITE},
)
def delete_measurement(request: Request, principal: Caller, measurement_id: str) -> Response:
    with transaction(request) as session:
        service.delete_measurement(
            session,
            principal=principal,
            measurement_id=measurement_id,
            now=pages.now(request),
            context=context(request),
        )
    return Response(status_code=204)


# ---------------------------------------------------------------- validation (dry run)

_VALIDATE: dict[str, Any] = {
    "summary": "Validate a submission without storing it (QPP JSON or QRDA III XML)",
    "description": "The body is a QPP JSON submission (`Content-Type: application/json`) or a "
    "QRDA III document (`application/xml`), checked exactly as an upload is (the year's "
    "measures data and rules). 200: `data.submission` is the normalised submission as QPP "
    "JSON (and `data.warnings`); 422: every finding in `error.details` (JSONPath, or line, "
    "column and XPath for XML). Nothing is stored; no token is needed. "
    "`/submissions/validate` is the 2017 path of the same call.",
    "response_model": schema.ValidatedEnvelope,
    "responses": schema.errors(401, 406, 413, 422, 429),
    "openapi_extra": schema.json_body(
        schema.SUBMISSION_IN, description="QPP JSON or QRDA III XML.", xml=True
    ),
}


async def _validate(request: Request) -> JSONResponse:
    body = await read_body(request)
    settings = request.app.state.settings
    data = await run_in_threadpool(
        service.validate_submission_body,
        body,
        content_type=request.headers.get("content-type"),
        settings=settings,
    )
    return _json({"data": data})


@router.post("/public/validate-submission", **_VALIDATE)
async def validate_submission(
    request: Request, _caller: Annotated[access.Principal | None, Depends(public_caller)]
) -> JSONResponse:
    return await _validate(request)


@router.post(
    "/submissions/validate",
    **{**_VALIDATE, "summary": "Validate a submission (the 2017 path of the same call)"},
)
async def validate_submission_legacy(
    request: Request, _caller: Annotated[access.Principal | None, Depends(public_caller)]
) -> JSONResponse:
    return await _validate(request)
