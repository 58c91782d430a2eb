"""The Submissions API's scoring calls, in CMS's shape (qpp-apis.md S4, S5).

* ``POST /api/submissions/submissions/score-preview``: score a whole submission sent in the body
  without storing anything;
* ``GET /api/submissions/submissions/{id}/score``: the preliminary score of a stored submission.

Both need an API token (``Authorization: Bearer``) or a signed-in session (the POST then sends
``X-CSRF-Token``). Answers are ``{"data": {"score": {...}}}``; errors the
``{"error": {"type", "message", "code", "details"}}`` envelope, never HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from openqpp.services import access, scoring_cms
from openqpp.web import pages
from openqpp.web.access.deps import api_principal, transaction
from openqpp.web.api_errors import error_responses
from openqpp.web.errors import error_body
from openqpp.web.limits import PayloadTooLarge, read_body

router = APIRouter(prefix="/api/submissions/submissions", tags=["scoring"])

SHAPE = """
The answer is CMS's score object under `data.score`: `name` (`total`), `title`, `value` (the
preliminary final score), `detail` (the engine version), `parts` (one per category: `name`,
`title` "QUALITY component of total score", `detail` "Scoring based on weight of 60%.", `value`
the weighted contribution, `original` the unweighted category tree of parts, `metadata`
`{maxContribution, unroundedScoreValue}`; then `bonuses`), `metadata` (`maxTotalScore`,
`maxContributionQuality|PI|IA|Cost`, each category's score, the `paymentAdjustment` **estimate**
with its assumptions, `policyYear`, `measuresData`, `entityFacts`, `scope`), `warnings` and
`errors`. Every part also carries openqpp's explanation beside CMS's fields: `rule`,
`explanation`, `maximum`, `inputs`, `unverified` (policy values openqpp could not verify) and
`weight`.

Query `scalingFactor` (optional, above 0): the payment adjustment scaling factor to estimate with
(1.0 is assumed; CMS sets it from the national score distribution).
"""

PREVIEW_DESCRIPTION = (
    """
Score a whole QPP JSON submission (or `{"data": {"submission": {...}}}` as CMS's example input is
written, or a QRDA III document with `Content-Type: application/xml`) **without storing
anything**. The body is validated exactly as an upload is: an invalid submission is answered
`422` `ValidationError` with one `details` entry per finding (`message`, `path`,
`location.path`, `code`, `severity`).

When you may see preliminary scores for the submission's group or clinician, the score uses what
openqpp holds about it (special statuses, APM participation, the cost results you may see);
otherwise the default context, and a warning says so. openqpp scores performance years 2019-2025
(422 otherwise).
"""
    + SHAPE
)

SCORE_DESCRIPTION = (
    """
The preliminary score of a stored submission, computed now from its current data.

**Who sees what** (openqpp's decision, from the permission matrix): the practice (Security
Official, Staff User) and the operator get the score of the whole submission, every submitter's
measurement sets combined, as CMS scores it; a registry or QCDR gets the score of **the sets it
submitted** ("View preliminary scoring for your clients based on the data you submitted for
them"), and `metadata.scope` is `own_submissions`. The Clinician role is refused (`403`); a
submission you may not see is `404`, with the same words as one that does not exist. Cost results
are used only when you may see cost feedback (never a registry; a practice outside the
submission period).

`program`: `mips` (or leave it out; CMS then scores all programs). openqpp scores traditional
MIPS measurement sets only: any other program is `422`.
"""
    + SHAPE
)

ERRORS = error_responses(
    401,
    403,
    404,
    413,
    422,
    503,
    s401="No API token or session.",
    s403="Your role does not allow viewing preliminary scores.",
    s404="No such submission visible to you.",
    s413="The body is larger than OPENQPP_MAX_REQUEST_BYTES.",
    s422="Invalid submission, year or program; details list each problem.",
)


def _refused(exc: scoring_cms.ScoreRequestError) -> JSONResponse:
    return JSONResponse(
        error_body(
            exc.http_status, f"{exc.message} {exc.fix}".strip(), code=exc.code, details=exc.details
        ),
        status_code=exc.http_status,
    )


def _too_large(request: Request) -> JSONResponse:
    limit: int = request.app.state.settings.max_request_bytes
    return JSONResponse(
        error_body(
            413,
            f"The request body is larger than {limit:,} bytes. Send a smaller submission.",
            code="OQ-REQ-413",
        ),
        status_code=413,
    )


def _answer(call: Callable[[], dict[str, Any]]) -> JSONResponse:
    try:
        return JSONResponse({"data": call()})
    except scoring_cms.ScoreRequestError as exc:
        return _refused(exc)


ScalingFactor = Annotated[
    str | None,
    Query(alias="scalingFactor", description="Payment adjustment scaling factor (above 0)."),
]


@router.post(
    "/score-preview",
    summary="Score a submission without storing it (Developer Preview)",
    description=PREVIEW_DESCRIPTION,
    responses=ERRORS,
)
async def score_preview(
    request: Request,
    scaling_factor: ScalingFactor = None,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    try:
        body = await read_body(request)
    except PayloadTooLarge:
        return _too_large(request)
    now = pages.now(request)
    settings = request.app.state.settings

    def run() -> dict[str, Any]:
        factor = scoring_cms.scaling_factor_of(scaling_factor)
        with transaction(request) as session:
            return scoring_cms.preview_score(
                session,
                principal=principal,
                body=body,
                content_type=request.headers.get("content-type"),
                scaling_factor=factor,
                settings=settings,
                now=now,
            )

    return await run_in_threadpool(_answer, run)


@router.get(
    "/{submission_id}/score",
    summary="The preliminary score of a stored submission",
    description=SCORE_DESCRIPTION,
    responses=ERRORS,
)
def submission_score(
    request: Request,
    submission_id: str,
    program: Annotated[
        str | None, Query(description="mips (or leave it out): the program to score.")
    ] = None,
    scaling_factor: ScalingFactor = None,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    def run() -> dict[str, Any]:
        factor = scoring_cms.scaling_factor_of(scaling_factor)
        with transaction(request) as session:
            return scoring_cms.stored_score(
                session,
                principal=principal,
                submission_id=submission_id,
                program=program,
                scaling_factor=factor,
                now=pages.now(request),
            )

    return _answer(run)
