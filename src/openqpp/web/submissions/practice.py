"""The practice's reporting pages: the Reporting Overview of a group or one of its clinicians,
the file upload on it, its receipts, and the manual entry (attestation) of Promoting
Interoperability and Improvement Activities. Each view parses, calls one service and renders;
every form carries the CSRF token and shows refusals in the CMS Design System error summary.

The Reporting Overview keeps the addresses the election pages' "Start Reporting" links use
(``.../practices/{tin}/reporting`` and ``.../clinicians/{npi}/reporting``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from openqpp.services import access
from openqpp.services.submissions import attestation, overview
from openqpp.web.access.deps import context, page_user, transaction
from openqpp.web.access.security import require_csrf
from openqpp.web.limits import refuse_body_past
from openqpp.web.pages import CLINICIAN, PRACTICE, now, render, year_of

router = APIRouter(include_in_schema=False)

#: Room for the multipart envelope around the file (boundaries, the CSRF field).
MULTIPART_ALLOWANCE = 64 * 1024

T = TypeVar("T")


def upload_limit(request: Request) -> int:
    limit: int = request.app.state.settings.max_request_bytes
    return limit


async def in_thread(call: Callable[[], T]) -> T:
    """Run a synchronous service call (database work) off the event loop."""
    return await run_in_threadpool(call)


async def form_of(request: Request) -> dict[str, str]:
    """The posted form's text fields (the CSRF token was checked already)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


# ---------------------------------------------------------------- Reporting Overview


def _overview(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> HTMLResponse:
    with transaction(request) as session:
        page = overview.reporting_overview(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            now=now(request),
            max_upload_bytes=upload_limit(request),
        )
    return render(request, "submissions/overview.html", {"page": page})


@router.get(PRACTICE + "/reporting", response_class=HTMLResponse)
def group_reporting(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _overview(request, principal, year, tin, None)


@router.get(CLINICIAN + "/reporting", response_class=HTMLResponse)
def individual_reporting(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _overview(request, principal, year, tin, npi)


# ---------------------------------------------------------------- upload


async def _upload(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> Response:
    limit = upload_limit(request)
    refuse_body_past(
        request, limit + MULTIPART_ALLOWANCE, lambda size: overview.too_large(limit, size)
    )
    await require_csrf(request)
    form = await request.form()
    item = form.get("file")
    name = None
    data = b""
    if isinstance(item, UploadFile):
        name = item.filename
        data = await item.read(limit + 1)

    def run() -> overview.UploadOutcome:
        with transaction(request) as session:
            return overview.upload(
                session,
                principal=principal,
                year=year_of(year),
                tin=tin,
                npi=npi,
                file_name=name,
                data=data,
                context=context(request),
                now=now(request),
                max_bytes=limit,
            )

    outcome = await in_thread(run)
    return render(
        request,
        "submissions/overview.html",
        {"page": outcome.page},
        status_code=outcome.status_code,
    )


@router.post(PRACTICE + "/reporting/upload", response_class=HTMLResponse)
async def group_upload(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> Response:
    return await _upload(request, principal, year, tin, None)


@router.post(CLINICIAN + "/reporting/upload", response_class=HTMLResponse)
async def individual_upload(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    return await _upload(request, principal, year, tin, npi)


# ---------------------------------------------------------------- receipts


def _receipt(
    request: Request,
    principal: access.Principal,
    year: str,
    tin: str,
    npi: str | None,
    receipt_id: str,
) -> Response:
    with transaction(request) as session:
        name, text = overview.receipt_download(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            receipt_id=receipt_id,
            now=now(request),
        )
    return Response(
        text,
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(PRACTICE + "/reporting/receipts/{receipt_id}")
def group_receipt(
    request: Request,
    year: str,
    tin: str,
    receipt_id: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    return _receipt(request, principal, year, tin, None, receipt_id)


@router.get(CLINICIAN + "/reporting/receipts/{receipt_id}")
def individual_receipt(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    receipt_id: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    return _receipt(request, principal, year, tin, npi, receipt_id)


# ---------------------------------------------------------------- PI manual entry


def _pi(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> HTMLResponse:
    with transaction(request) as session:
        page = attestation.pi_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            now=now(request),
            saved=request.query_params.get("saved") == "1",
        )
    return render(request, "submissions/attest_pi.html", {"page": page})


async def _save_pi(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> Response:
    form = await form_of(request)

    def run() -> attestation.PiOutcome:
        with transaction(request) as session:
            return attestation.save_pi(
                session,
                principal=principal,
                year=year_of(year),
                tin=tin,
                npi=npi,
                form=form,
                context=context(request),
                now=now(request),
            )

    outcome = await in_thread(run)
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    return render(request, "submissions/attest_pi.html", {"page": outcome.page}, status_code=422)


@router.get(PRACTICE + "/reporting/pi", response_class=HTMLResponse)
def group_pi(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _pi(request, principal, year, tin, None)


@router.get(CLINICIAN + "/reporting/pi", response_class=HTMLResponse)
def individual_pi(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _pi(request, principal, year, tin, npi)


@router.post(
    PRACTICE + "/reporting/pi", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def group_pi_save(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> Response:
    return await _save_pi(request, principal, year, tin, None)


@router.post(
    CLINICIAN + "/reporting/pi", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def individual_pi_save(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    return await _save_pi(request, principal, year, tin, npi)


# ---------------------------------------------------------------- IA manual entry


def _ia(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> HTMLResponse:
    params = request.query_params
    with transaction(request) as session:
        page = attestation.ia_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            now=now(request),
            query=params.get("q", ""),
            weight=params.get("weight", "all"),
            subcategory=params.get("subcategory", "all"),
            saved=params.get("saved") == "1",
        )
    return render(request, "submissions/attest_ia.html", {"page": page})


async def _save_ia(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> Response:
    form = await request.form()

    def text(key: str) -> str:
        value = form.get(key)
        return value if isinstance(value, str) else ""

    def texts(key: str) -> list[str]:
        return [v for v in form.getlist(key) if isinstance(v, str)]

    def run() -> attestation.IaOutcome:
        with transaction(request) as session:
            return attestation.save_ia(
                session,
                principal=principal,
                year=year_of(year),
                tin=tin,
                npi=npi,
                performance_start=text("performance_start"),
                performance_end=text("performance_end"),
                shown=texts("shown"),
                completed=texts("completed"),
                query=text("q"),
                weight=text("weight") or "all",
                subcategory=text("subcategory") or "all",
                context=context(request),
                now=now(request),
            )

    outcome = await in_thread(run)
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    return render(request, "submissions/attest_ia.html", {"page": outcome.page}, status_code=422)


@router.get(PRACTICE + "/reporting/ia", response_class=HTMLResponse)
def group_ia(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _ia(request, principal, year, tin, None)


@router.get(CLINICIAN + "/reporting/ia", response_class=HTMLResponse)
def individual_ia(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _ia(request, principal, year, tin, npi)


@router.post(
    PRACTICE + "/reporting/ia", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def group_ia_save(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> Response:
    return await _save_ia(request, principal, year, tin, None)


@router.post(
    CLINICIAN + "/reporting/ia", response_class=HTMLResponse, dependencies=[Depends(require_csrf)]
)
async def individual_ia_save(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    return await _save_ia(request, principal, year, tin, npi)
