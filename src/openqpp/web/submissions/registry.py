"""The registry file upload with participant elections, and Registry Submission Details
(2019 election guide, "Registry Election Process", Steps 3-8; 2022 guide, Steps 2-6).

Upload File(s) -> the Opt-In Eligible Participants table (No Decision / Report Voluntarily /
Opt-In per participant, live counts with htmx, plain forms without JavaScript) -> Submit
Elections -> "Are you sure?" (type CONFIRM) -> "Participation Selections Confirmed" -> Registry
Submission Details. Each view parses, calls one service and renders; every POST carries the
CSRF token."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from openqpp.core.elections import ElectionKind
from openqpp.services import access, mail
from openqpp.services.submissions import uploads
from openqpp.web import pages
from openqpp.web.access.deps import context, page_user, transaction
from openqpp.web.access.security import require_csrf
from openqpp.web.limits import refuse_body_past
from openqpp.web.pages import now, render

router = APIRouter(include_in_schema=False)

REGISTRY = "/organisations/registry/{vendor_id}"
DETAILS = REGISTRY + "/submission-details"
UPLOADS = REGISTRY + "/uploads"
UPLOAD = UPLOADS + "/{upload_id}"
MULTIPART_OVERHEAD = 1024 * 1024


def max_file_bytes(request: Request) -> int:
    return int(request.app.state.settings.upload_max_file_bytes)


def year_of(raw: str | None) -> int | None:
    text = (raw or "").strip()
    return pages.year_of(text) if text else None


def attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}


# ---------------------------------------------------------------- form parsing


def choices_from_query(request: Request) -> dict[str, ElectionKind | None]:
    return uploads.parse_choices(dict(request.query_params))


async def choices_from_form(request: Request) -> dict[str, ElectionKind | None]:
    form = await request.form()
    return uploads.parse_choices({k: v for k, v in form.multi_items() if isinstance(v, str)})


async def typed_from_form(request: Request) -> str:
    value = (await request.form()).get("typed")
    return value if isinstance(value, str) else ""


async def limit_upload_body(request: Request) -> None:
    """Refuse a body larger than 50 files at the size limit: before it is read when it
    declares its length, else as soon as that much has arrived."""
    limit = max_file_bytes(request)
    cap = limit * (uploads.MAX_FILES + 1) + MULTIPART_OVERHEAD

    def too_large(declared: int | None) -> uploads.FileTooLarge:
        told = f"is {declared:,} bytes" if declared is not None else f"passed {cap:,} bytes"
        return uploads.FileTooLarge(
            f"The upload {told}, more than {uploads.MAX_FILES} files of at most {limit:,} bytes "
            "each, so nothing was uploaded.",
            fix=f"Upload at most {uploads.MAX_FILES} files at a time, each at most {limit:,} "
            "bytes.",
        )

    refuse_body_past(request, cap, too_large)


async def uploaded_files(request: Request) -> list[tuple[str, bytes]]:
    """The chosen files, each read up to one byte past the limit (the service refuses it)."""
    form = await request.form(max_files=uploads.MAX_FILES * 4)
    limit = max_file_bytes(request)
    files = []
    for value in form.getlist("files"):
        if isinstance(value, UploadFile) and (value.filename or value.size):
            files.append((value.filename or "", await value.read(limit + 1)))
    return files


async def year_from_form(request: Request) -> int | None:
    value = (await request.form()).get("year")
    return year_of(value if isinstance(value, str) else None)


# ---------------------------------------------------------------- Registry Submission Details


@router.get(DETAILS, response_class=HTMLResponse)
def submission_details(
    request: Request,
    vendor_id: str,
    year: str = "",
    q: str = "",
    date: str = "",
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    with transaction(request) as session:
        page = uploads.submission_details(
            session,
            principal=principal,
            vendor_id=vendor_id,
            year=year_of(year),
            now=now(request),
            query=q,
            date=date,
        )
    return render(request, "submissions/registry_details.html", {"page": page})


@router.get(DETAILS + ".csv")
def submission_details_csv(
    request: Request,
    vendor_id: str,
    year: str = "",
    q: str = "",
    date: str = "",
    principal: access.Principal = Depends(page_user),
) -> Response:
    with transaction(request) as session:
        name, text = uploads.submission_details_csv(
            session,
            principal=principal,
            vendor_id=vendor_id,
            year=year_of(year),
            now=now(request),
            query=q,
            date=date,
        )
    return Response(text, media_type="text/csv; charset=utf-8", headers=attachment(name))


@router.get(DETAILS + "/receipt", response_class=HTMLResponse)
def receipt(
    request: Request,
    vendor_id: str,
    year: str = "",
    q: str = "",
    date: str = "",
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    with transaction(request) as session:
        page = uploads.submission_details(
            session,
            principal=principal,
            vendor_id=vendor_id,
            year=year_of(year),
            now=now(request),
            query=q,
            date=date,
            limit=None,
        )
    return render(request, "submissions/registry_receipt.html", {"page": page})


# ---------------------------------------------------------------- Upload Data


@router.get(UPLOADS, response_class=HTMLResponse)
def new_upload(
    request: Request,
    vendor_id: str,
    year: str = "",
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    with transaction(request) as session:
        page = uploads.new_upload_page(
            session,
            principal=principal,
            vendor_id=vendor_id,
            year=year_of(year),
            now=now(request),
            max_file_bytes=max_file_bytes(request),
        )
    return render(request, "submissions/registry_upload_new.html", {"page": page})


@router.post(
    UPLOADS,
    response_class=HTMLResponse,
    dependencies=[Depends(limit_upload_body), Depends(require_csrf)],
)
def stage(
    request: Request,
    vendor_id: str,
    files: list[tuple[str, bytes]] = Depends(uploaded_files),
    year: int | None = Depends(year_from_form),
    principal: access.Principal = Depends(page_user),
) -> Response:
    with transaction(request) as session:
        outcome = uploads.stage_from_page(
            session,
            principal=principal,
            vendor_id=vendor_id,
            files=files,
            year=year,
            now=now(request),
            context=context(request),
            max_file_bytes=max_file_bytes(request),
        )
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    return render(
        request,
        "submissions/registry_upload_new.html",
        {"page": outcome.page},
        status_code=outcome.status_code,
    )


# ---------------------------------------------------------------- participants and choices


@router.get(UPLOAD, response_class=HTMLResponse)
def upload_page(
    request: Request,
    vendor_id: str,
    upload_id: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    with transaction(request) as session:
        page = uploads.upload_view(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            now=now(request),
            choices=choices_from_query(request),
        )
    return render(request, "submissions/registry_upload.html", {"page": page})


@router.get(UPLOAD + "/counts", response_class=HTMLResponse)
def counts(
    request: Request,
    vendor_id: str,
    upload_id: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    """The live "Participant Elections" counts (htmx swaps them in as choices change)."""
    with transaction(request) as session:
        page = uploads.upload_view(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            now=now(request),
            choices=choices_from_query(request),
        )
    return render(request, "submissions/registry_counts.html", {"page": page})


@router.get(UPLOAD + "/files/{position}/report")
def file_report(
    request: Request,
    vendor_id: str,
    upload_id: str,
    position: int,
    principal: access.Principal = Depends(page_user),
) -> Response:
    with transaction(request) as session:
        name, document = uploads.error_report(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            position=position,
        )
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers=attachment(name),
    )


@router.get(UPLOAD + "/confirm", response_class=HTMLResponse)
def review(
    request: Request,
    vendor_id: str,
    upload_id: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    """Submit Elections: "Are you sure?" when every participant has a choice."""
    with transaction(request) as session:
        outcome = uploads.review_choices(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            now=now(request),
            choices=choices_from_query(request),
        )
    if not outcome.page.pending:
        return RedirectResponse(outcome.page.path, status_code=303)
    if outcome.complete:
        return render(request, "submissions/registry_confirm.html", {"page": outcome.page})
    return render(
        request, "submissions/registry_upload.html", {"page": outcome.page}, status_code=422
    )


@router.post(UPLOAD + "/confirm", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def confirm(
    request: Request,
    vendor_id: str,
    upload_id: str,
    choices: dict[str, ElectionKind | None] = Depends(choices_from_form),
    typed: str = Depends(typed_from_form),
    principal: access.Principal = Depends(page_user),
) -> Response:
    with transaction(request) as session:
        outcome = uploads.confirm_from_page(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            choices=choices,
            typed=typed,
            now=now(request),
            context=context(request),
            mailer=mail.SmtpMailer.from_settings(request.app.state.settings),
        )
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    return render(
        request,
        "submissions/registry_confirm.html",
        {"page": outcome.page},
        status_code=outcome.status_code,
    )


@router.get(UPLOAD + "/confirmed", response_class=HTMLResponse)
def confirmed(
    request: Request,
    vendor_id: str,
    upload_id: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    with transaction(request) as session:
        page = uploads.confirmed_view(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            now=now(request),
        )
    return render(request, "submissions/registry_confirmed.html", {"page": page})


@router.post(UPLOAD + "/cancel", dependencies=[Depends(require_csrf)])
def cancel(
    request: Request,
    vendor_id: str,
    upload_id: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    """Cancel File Upload: the whole upload, including eligible participants' data."""
    with transaction(request) as session:
        page = uploads.cancel_upload(
            session,
            principal=principal,
            vendor_id=vendor_id,
            upload_id=upload_id,
            now=now(request),
            context=context(request),
        )
    return RedirectResponse(page.path, status_code=303)
