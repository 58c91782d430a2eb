"""The preliminary score pages of a group or one of its clinicians, under its Reporting
Overview: ``.../reporting/score`` (the total), ``.../reporting/score/{quality|pi|ia|cost}`` (how
each category's points were arrived at) and ``.../reporting/what-if``.

The category pages sit under ``/score/`` because ``.../reporting/pi`` and ``.../reporting/ia``
are the manual entry (attestation) pages. The what-if page is a GET form: it changes nothing,
works without JavaScript, and with htmx swaps only its working part (``HX-Request``: the error
summary, the form's fields with their errors, and the result)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from openqpp.services import access, scoring_pages
from openqpp.web.access.deps import page_user, transaction
from openqpp.web.pages import CLINICIAN, PRACTICE, now, render, year_of

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- the total


def _summary(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> HTMLResponse:
    with transaction(request) as session:
        page = scoring_pages.summary_page(
            session, principal=principal, year=year_of(year), tin=tin, npi=npi, now=now(request)
        )
    return render(request, "scoring/summary.html", {"page": page})


@router.get(PRACTICE + "/reporting/score", response_class=HTMLResponse)
def group_score(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _summary(request, principal, year, tin, None)


@router.get(CLINICIAN + "/reporting/score", response_class=HTMLResponse)
def individual_score(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _summary(request, principal, year, tin, npi)


# ---------------------------------------------------------------- one category


def _category(
    request: Request,
    principal: access.Principal,
    year: str,
    tin: str,
    npi: str | None,
    category: str,
) -> HTMLResponse:
    with transaction(request) as session:
        page = scoring_pages.category_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            category=category,
            now=now(request),
        )
    return render(request, "scoring/category.html", {"page": page})


@router.get(PRACTICE + "/reporting/score/{category}", response_class=HTMLResponse)
def group_category(
    request: Request,
    year: str,
    tin: str,
    category: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _category(request, principal, year, tin, None, category)


@router.get(CLINICIAN + "/reporting/score/{category}", response_class=HTMLResponse)
def individual_category(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    category: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _category(request, principal, year, tin, npi, category)


# ---------------------------------------------------------------- what-if


def _what_if(
    request: Request, principal: access.Principal, year: str, tin: str, npi: str | None
) -> HTMLResponse:
    form = dict(request.query_params)
    with transaction(request) as session:
        page = scoring_pages.what_if_page(
            session,
            principal=principal,
            year=year_of(year),
            tin=tin,
            npi=npi,
            form=form,
            now=now(request),
        )
    partial = request.headers.get("hx-request") == "true"
    template = "scoring/_what_if_body.html" if partial else "scoring/what_if.html"
    return render(request, template, {"page": page, "partial": partial})


@router.get(PRACTICE + "/reporting/what-if", response_class=HTMLResponse)
def group_what_if(
    request: Request, year: str, tin: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return _what_if(request, principal, year, tin, None)


@router.get(CLINICIAN + "/reporting/what-if", response_class=HTMLResponse)
def individual_what_if(
    request: Request,
    year: str,
    tin: str,
    npi: str,
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    return _what_if(request, principal, year, tin, npi)
