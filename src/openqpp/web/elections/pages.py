"""Eligibility & Reporting pages. Each view parses, calls one service and renders; every form
is CSRF-protected and shows refusals in the CMS Design System error summary. The clock is the
real one unless OPENQPP_CLOCK pins it (settings)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openqpp.services import access, elections, mail, notifications
from openqpp.web.access import forms
from openqpp.web.access.deps import api_principal, context, page_user, transaction
from openqpp.web.access.security import require_csrf
from openqpp.web.pages import BASE, CLINICIAN, PRACTICE, now, render, year_of

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


def mailer(request: Request) -> mail.SmtpMailer | None:
    return mail.SmtpMailer.from_settings(request.app.state.settings)


# ---------------------------------------------------------------- Eligibility & Reporting


@router.get(BASE, response_class=HTMLResponse)
def reporting_home(
    request: Request, year: str | None = None, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    chosen = year_of(year) if year else None
    with transaction(request) as session:
        page = elections.reporting_home(session, principal=principal, year=chosen, now=now(request))
    return render(request, "elections/home.html", {"page": page})


@router.get(PRACTICE, response_class=HTMLResponse)
def practice(
    request: Request,
    year: str,
    tin: str,
    q: str = "",
    status: str = "all",
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    with transaction(request) as session:
        page = elections.practice_details(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            now=now(request),
            query=q,
            status_filter=status,
        )
    return render(request, "elections/practice.html", {"page": page})


@router.get(PRACTICE + "/clinicians.csv")
def clinicians_csv(
    request: Request,
    year: str,
    tin: str,
    q: str = "",
    status: str = "all",
    principal: access.Principal = Depends(page_user),
) -> Response:
    with transaction(request) as session:
        name, text = elections.clinicians_csv(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            now=now(request),
            query=q,
            status_filter=status,
        )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------- options and confirmation


def _options(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> HTMLResponse:
    with transaction(request) as session:
        page = elections.election_options(
            session, principal=principal, year=year_of(year), tin=tin, npi=npi, now=now(request)
        )
    return render(request, "elections/options.html", {"page": page})


@router.get(PRACTICE + "/group-options", response_class=HTMLResponse)
def group_options(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _options(request, principal, year, tin, None)


@router.get(CLINICIAN + "/individual-options", response_class=HTMLResponse)
def individual_options(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _options(request, principal, year, tin, npi)


def _confirm_form(
    request: Request,
    principal: access.Principal,
    year: str,
    tin: str,
    npi: str | None,
    decision: str | None,
) -> HTMLResponse:
    with transaction(request) as session:
        page = elections.confirm_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            decision=decision,
            now=now(request),
        )
    return render(request, "elections/confirm.html", {"page": page})


@router.get(PRACTICE + "/group-options/confirm", response_class=HTMLResponse)
def group_confirm_form(
    request: Request,
    year: str,
    tin: str,
    decision: str | None = None,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _confirm_form(request, principal, year, tin, None, decision)


@router.get(CLINICIAN + "/individual-options/confirm", response_class=HTMLResponse)
def individual_confirm_form(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    decision: str | None = None,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _confirm_form(request, principal, year, tin, npi, decision)


def _confirm(
    request: Request,
    principal: access.Principal,
    year: str,
    tin: str,
    npi: str | None,
    decision: str,
    typed: str,
    idempotency_key: str,
) -> Response:
    with transaction(request) as session:
        outcome = elections.confirm_from_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            decision=decision,
            typed=typed,
            idempotency_key=idempotency_key or None,
            now=now(request),
            context=context(request),
            mailer=mailer(request),
        )
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    return render(
        request, "elections/confirm.html", {"page": outcome.page}, status_code=outcome.status_code
    )


@router.post(PRACTICE + "/group-options/confirm", response_class=HTMLResponse)
def group_confirm(
    request: Request,
    year: str,
    tin: str,
    decision: str = Form(""),
    typed: str = Form(""),
    idempotency_key: str = Form(""),
    principal: access.Principal = Depends(page_user),
) -> Response:
    return _confirm(request, principal, year, tin, None, decision, typed, idempotency_key)


@router.post(CLINICIAN + "/individual-options/confirm", response_class=HTMLResponse)
def individual_confirm(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    decision: str = Form(""),
    typed: str = Form(""),
    idempotency_key: str = Form(""),
    principal: access.Principal = Depends(page_user),
) -> Response:
    return _confirm(request, principal, year, tin, npi, decision, typed, idempotency_key)


# ---------------------------------------------------------------- an entity's election


def _election(
    request: Request,
    principal: access.Principal,
    year: str,
    tin: str,
    npi: str | None,
    *,
    confirmed: bool,
) -> HTMLResponse:
    with transaction(request) as session:
        page = elections.election_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            now=now(request),
            require_election=confirmed,
        )
    return render(request, "elections/election.html", {"page": page, "confirmed": confirmed})


@router.get(PRACTICE + "/confirmed", response_class=HTMLResponse)
def group_confirmed(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _election(request, principal, year, tin, None, confirmed=True)


@router.get(CLINICIAN + "/confirmed", response_class=HTMLResponse)
def individual_confirmed(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _election(request, principal, year, tin, npi, confirmed=True)


def _opt_out(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> Response:
    with transaction(request) as session:
        outcome = elections.opt_out_from_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            now=now(request),
            context=context(request),
        )
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    return render(
        request,
        "elections/election.html",
        {
            "page": outcome.page,
            "confirmed": False,
            "errors": outcome.errors,
            "error_code": outcome.error_code,
        },
        status_code=outcome.status_code,
    )


@router.post(PRACTICE + "/public-reporting-opt-out", response_class=HTMLResponse)
def group_opt_out(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> Response:
    return _opt_out(request, principal, year, tin, None)


@router.post(CLINICIAN + "/public-reporting-opt-out", response_class=HTMLResponse)
def individual_opt_out(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> Response:
    return _opt_out(request, principal, year, tin, npi)


# ---------------------------------------------------------------- notifications, calendar


@router.get("/organisations/{kind}/{identifier}/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, kind: str, identifier: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    with transaction(request) as session:
        page = notifications.notifications_page(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return render(request, "elections/notifications.html", {"page": page})


@router.get("/organisations/{kind}/{identifier}/elections.ics")
def calendar(request: Request, kind: str, identifier: str) -> Response:
    """The organisation's election windows and deadlines (RFC 5545). For a signed-in person,
    or software with the organisation's API token (``Authorization: Bearer``)."""
    principal = api_principal(request)
    with transaction(request) as session:
        feed = elections.election_calendar(
            session,
            principal=principal,
            organisation_type=forms.kind(kind),
            identifier=identifier,
            now=now(request),
        )
    return Response(
        feed.text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{feed.file_name}"'},
    )
