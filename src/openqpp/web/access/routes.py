"""Pages: sign-in with the Statement of Truth, account, role requests and decisions,
organisation pages, API tokens, client authorisations, the audit log, and the permission
matrix. Every form is CSRF-protected; each view parses, calls one service and renders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openqpp.core.access import STATEMENT_OF_TRUTH, AccessError, Conflict, Invalid
from openqpp.core.errors import InvalidValue, OpenQppError
from openqpp.services import access
from openqpp.web.access import forms
from openqpp.web.access.deps import context, page_user, transaction
from openqpp.web.access.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    renew_csrf_secret,
    require_csrf,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


def render(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )
    return response


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def refused(
    request: Request,
    template: str,
    exc: OpenQppError,
    problem: dict[str, str],
    *,
    page: Any = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """``template`` again with the refusal in its error summary (CMS Design System pattern),
    its code, the fields as they were sent, and the refusal's status."""
    return render(
        request,
        template,
        {"page": page, "errors": [problem], "error_code": exc.code, "values": values or {}},
        status_code=getattr(exc, "http_status", 400),
    )


# ---------------------------------------------------------------- sign-in


def _signin_page(
    request: Request,
    *,
    errors: list[dict[str, str]] | None = None,
    user_id: str = "",
    next_path: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "access/signin.html",
        {
            "errors": errors or [],
            "error_code": code,
            "user_id": user_id,
            "next": next_path,
            "statement": STATEMENT_OF_TRUTH,
            "demo": request.app.state.settings.demo,
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/signin", response_class=HTMLResponse)
def signin(request: Request, next: str = "") -> HTMLResponse:
    return _signin_page(request, next_path=forms.safe_next(next, ""))


@router.post("/signin", response_class=HTMLResponse)
def signin_submit(
    request: Request,
    user_id: str = Form(""),
    password: str = Form(""),
    statement_of_truth: str = Form(""),
    next: str = Form(""),
) -> Response:
    errors = []
    if not user_id.strip():
        errors.append({"field": "user-id", "message": "Enter your user ID."})
    if not password:
        errors.append({"field": "password", "message": "Enter your password."})
    if statement_of_truth != "yes":
        errors.append(
            {
                "field": "sot-agree",
                "message": "You must agree to the Statement of Truth to sign in.",
            }
        )
    if errors:
        return _signin_page(
            request,
            errors=errors,
            user_id=user_id,
            next_path=next,
            status_code=400,
            code="OQ-AUTH-004" if statement_of_truth != "yes" else "OQ-ACCESS-010",
        )
    previous = request.cookies.get(SESSION_COOKIE)
    with transaction(request) as session:
        outcome = access.sign_in(
            session,
            user_id=user_id,
            password=password,
            agreed_to_statement_of_truth=True,
            context=context(request),
        )
        if outcome.error is None and previous:
            # the session this browser had (or a cookie planted in it) ends here
            access.sign_out(session, token=previous, context=context(request))
    if outcome.error is not None:
        return _sign_in_refused(request, outcome.error, user_id=user_id, next_path=next)
    assert outcome.session_token is not None
    response = see_other(forms.safe_next(next))
    set_session_cookie(request, response, outcome.session_token, max_age=12 * 3600)
    renew_csrf_secret(request, response)
    return response


def _sign_in_refused(
    request: Request, error: AccessError, *, user_id: str, next_path: str
) -> HTMLResponse:
    return _signin_page(
        request,
        errors=[{"field": "user-id", "message": f"{error.message} {error.fix}"}],
        user_id=user_id,
        next_path=next_path,
        status_code=error.http_status,
        headers=error.headers,
        code=error.code,
    )


@router.post("/signout")
def signout(request: Request) -> RedirectResponse:
    with transaction(request) as session:
        access.sign_out(
            session, token=request.cookies.get(SESSION_COOKIE), context=context(request)
        )
    response = see_other("/")
    clear_session_cookie(request, response)
    return response


# ---------------------------------------------------------------- account and roles


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, requested: int | None = None, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    with transaction(request) as session:
        page = access.account_page(session, principal=principal)
    return render(request, "access/account.html", {"page": page, "requested": requested})


@router.get("/account/roles/new", response_class=HTMLResponse)
def request_role_form(
    request: Request, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    return render(request, "access/request_role.html", {"errors": [], "values": {}})


@router.post("/account/roles", response_class=HTMLResponse)
def request_role(
    request: Request,
    organisation_type: str = Form(""),
    identifier: str = Form(""),
    role: str = Form(""),
    reason: str = Form(""),
    principal: access.Principal = Depends(page_user),
) -> Response:
    values = {
        "organisation_type": organisation_type,
        "identifier": identifier,
        "role": role,
        "reason": reason,
    }
    try:
        with transaction(request) as session:
            grant = access.request_role(
                session,
                principal=principal,
                organisation_type=organisation_type,
                identifier=identifier,
                role=role,
                reason=reason,
                context=context(request),
            )
    except OpenQppError as exc:
        problem = forms.refusal(
            exc,
            {"identifier": "identifier", "role": "role-staff_user"},
            codes={"OQ-ACCESS-004": "role"},
            default="identifier",
        )
        return refused(request, "access/request_role.html", exc, problem, values=values)
    return see_other(f"/account?requested={grant.id}")


@router.post("/access/role-requests/{grant_id}/decision")
def decide_role(
    request: Request,
    grant_id: forms.RowId,
    decision: str = Form(...),
    expires_on: str = Form(""),
    note: str = Form(""),
    next: str = Form(""),
    principal: access.Principal = Depends(page_user),
) -> Response:
    if decision not in ("approve", "reject"):
        raise Invalid(f"{decision!r} is not a decision.", fix="Choose Approve or Reject.")
    try:
        with transaction(request) as session:
            access.decide(
                session,
                principal=principal,
                grant_id=grant_id,
                approve=decision == "approve",
                expires_at=forms.expiry(expires_on),
                note=note,
                context=context(request),
            )
    except (Invalid, Conflict) as exc:
        problem = forms.refusal(exc, {"expires_on": f"expires-{grant_id}"})
        return _decision_refused(request, principal, forms.safe_next(next), problem, exc)
    return see_other(forms.safe_next(next))


def _decision_refused(
    request: Request,
    principal: access.Principal,
    next_path: str,
    problem: dict[str, str],
    exc: AccessError,
) -> HTMLResponse:
    """The page the decision was made on (an organisation's, else the account page) again,
    with the refusal in its error summary."""
    parts = next_path.strip("/").split("/")
    with transaction(request) as session:
        if len(parts) == 3 and parts[0] == "organisations":
            organisation = access.organisation_page(
                session,
                principal=principal,
                organisation_type=forms.kind(parts[1]),
                identifier=parts[2],
            )
            return refused(request, "access/organisation.html", exc, problem, page=organisation)
        account = access.account_page(session, principal=principal)
    return refused(request, "access/account.html", exc, problem, page=account)


# ---------------------------------------------------------------- organisations


@router.get("/organisations/{kind}/{identifier}", response_class=HTMLResponse)
def organisation(
    request: Request, kind: str, identifier: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    with transaction(request) as session:
        page = access.organisation_page(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return render(request, "access/organisation.html", {"page": page})


@router.get("/organisations/{kind}/{identifier}/tokens", response_class=HTMLResponse)
def tokens(
    request: Request, kind: str, identifier: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    with transaction(request) as session:
        page = access.list_tokens(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return render(request, "access/tokens.html", {"page": page})


@router.post("/organisations/{kind}/{identifier}/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    kind: str,
    identifier: str,
    label: str = Form(""),
    expires_on: str = Form(""),
    principal: access.Principal = Depends(page_user),
) -> HTMLResponse:
    try:
        with transaction(request) as session:
            created = access.create_token(
                session,
                principal=principal,
                organisation_type=forms.kind(kind),
                identifier=identifier,
                label=label,
                expires_at=forms.expiry(expires_on),
                context=context(request),
            )
    except Invalid as exc:
        problem = forms.refusal(
            exc, {"label": "token-label", "expires_on": "token-expires"}, default="token-label"
        )
        with transaction(request) as session:
            page = access.list_tokens(
                session,
                principal=principal,
                organisation_type=forms.kind(kind),
                identifier=identifier,
            )
        return refused(
            request,
            "access/tokens.html",
            exc,
            problem,
            page=page,
            values={"label": label, "expires_on": expires_on},
        )
    return render(
        request,
        "access/token_created.html",
        {"created": created},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.post("/organisations/{kind}/{identifier}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    kind: str,
    identifier: str,
    token_id: forms.RowId,
    principal: access.Principal = Depends(page_user),
) -> RedirectResponse:
    with transaction(request) as session:
        revoked = access.revoke_token(
            session,
            principal=principal,
            organisation_type=forms.kind(kind),
            identifier=identifier,
            token_id=token_id,
            context=context(request),
        )
    return see_other(f"/organisations/{kind}/{identifier}/tokens?revoked={revoked.id}")


@router.get("/organisations/{kind}/{identifier}/clients", response_class=HTMLResponse)
def clients(
    request: Request, kind: str, identifier: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    with transaction(request) as session:
        page = access.clients_page(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return render(request, "access/clients.html", {"page": page})


@router.post("/organisations/practice/{tin}/clients")
def authorise_client(
    request: Request,
    tin: str,
    registry: str = Form(""),
    performance_year: str = Form(""),
    npi: str = Form(""),
    principal: access.Principal = Depends(page_user),
) -> Response:
    try:
        with transaction(request) as session:
            access.authorise(
                session,
                principal=principal,
                practice_tin=tin,
                registry_vendor_id=registry,
                performance_year=performance_year,
                npi=npi.strip() or None,
                context=context(request),
            )
    except (Invalid, Conflict, InvalidValue) as exc:
        problem = forms.refusal(
            exc,
            {"registry": "registry", "performance_year": "performance-year", "npi": "client-npi"},
            codes={"OQ-NPI-": "npi", "OQ-YEAR-": "performance_year"},
            default="registry",
        )
        with transaction(request) as session:
            page = access.clients_page(
                session,
                principal=principal,
                organisation_type=forms.kind("practice"),
                identifier=tin,
            )
        return refused(
            request,
            "access/clients.html",
            exc,
            problem,
            page=page,
            values={"registry": registry, "performance_year": performance_year, "npi": npi},
        )
    return see_other(f"/organisations/practice/{tin}/clients")


@router.post("/organisations/practice/{tin}/clients/{authorisation_id}/revoke")
def revoke_client(
    request: Request,
    tin: str,
    authorisation_id: forms.RowId,
    principal: access.Principal = Depends(page_user),
) -> RedirectResponse:
    with transaction(request) as session:
        access.revoke(
            session,
            principal=principal,
            practice_tin=tin,
            authorisation_id=authorisation_id,
            context=context(request),
        )
    return see_other(f"/organisations/practice/{tin}/clients")


@router.get("/organisations/{kind}/{identifier}/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, kind: str, identifier: str, principal: access.Principal = Depends(page_user)
) -> HTMLResponse:
    with transaction(request) as session:
        page = access.audit_page(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return render(request, "access/audit.html", {"page": page})


# ---------------------------------------------------------------- documentation


@router.get("/docs/permissions", response_class=HTMLResponse)
def permissions(request: Request) -> HTMLResponse:
    return render(request, "access/permissions.html", {"page": access.permissions_page()})
