"""The access JSON API: `Authorization: Bearer <token>` (or a signed-in session with the
X-CSRF-Token header for changes). Errors are the `{"error": {...}}` envelope, never HTML."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from openqpp.core.access import Action, Invalid
from openqpp.services import access
from openqpp.web import params
from openqpp.web.access import forms
from openqpp.web.access.deps import api_principal, context, transaction
from openqpp.web.api_errors import error_responses

router = APIRouter(
    prefix="/api/access",
    tags=["access"],
    responses=error_responses(400, 401, 403, 404, 409, 422, 503),
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NewToken(_Body):
    label: str = Field(min_length=1, max_length=100)
    expires_on: str | None = Field(default=None, alias="expiresOn")


class RoleDecision(_Body):
    decision: Literal["approve", "reject"]
    expires_on: str | None = Field(default=None, alias="expiresOn")
    note: str | None = Field(default=None, max_length=500)


class NewClientAuthorisation(_Body):
    registry: str = Field(min_length=1, max_length=40, description="The registry's vendor ID.")
    performance_year: int = Field(alias="performanceYear", ge=params.YEAR_MIN, le=params.YEAR_MAX)
    npi: str | None = None


def _principal_json(principal: access.Principal) -> dict[str, Any]:
    return {
        "actor": principal.actor,
        "kind": principal.kind,
        "name": principal.name,
        "roles": [
            {
                "role": g.role.value,
                "organisationType": g.organisation.type.value,
                "identifier": g.organisation.identifier,
                "name": principal.organisation_names.get(g.organisation.id),
            }
            for g in principal.grants
        ],
    }


@router.get("/me", summary="Who the request acts as, and its roles")
def me(principal: access.Principal = Depends(api_principal)) -> dict[str, Any]:
    return _principal_json(principal)


@router.get("/permissions", summary="The permission matrix (role x organisation type x action)")
def permissions() -> dict[str, Any]:
    matrix = access.load_matrix()
    return {
        "source": matrix.source,
        "actions": {a.value: d for a, d in matrix.action_descriptions.items()},
        "cells": [
            {
                "role": c.role.value,
                "organisationType": c.organisation_type.value,
                "action": c.action.value,
                "effect": c.effect.value,
                "reach": c.reach.value,
                "scope": c.scope.value,
                "offered": c.offered,
                "reference": c.reference,
                "note": c.note,
            }
            for c in matrix
        ],
    }


@router.get("/authorize", summary="Whether the caller may take an action for an organisation")
def authorize(
    request: Request,
    action: str,
    organisation_type: str,
    identifier: str,
    npi: str | None = None,
    performance_year: Annotated[int | None, Query(ge=params.YEAR_MIN, le=params.YEAR_MAX)] = None,
    principal: access.Principal = Depends(api_principal),
) -> dict[str, Any]:
    try:
        wanted = Action(action)
    except ValueError:
        raise Invalid(
            f"{action!r} is not an action.",
            fix="Use one of: " + ", ".join(a.value for a in Action) + ".",
        ) from None
    with transaction(request) as session:
        decision = access.authorize(
            session,
            principal=principal,
            action=wanted,
            organisation_type=forms.kind(organisation_type),
            identifier=identifier,
            npi=npi,
            performance_year=performance_year,
        )
    return {
        "allowed": True,
        "action": wanted.value,
        "role": decision.grant.role.value,
        "actingFor": {
            "organisationType": decision.grant.organisation.type.value,
            "identifier": decision.grant.organisation.identifier,
        },
        "viaClientAuthorisation": decision.via_client is not None,
        "scope": decision.scope.value,
        "reference": decision.cell.reference,
    }


@router.get("/organisations/{kind}/{identifier}/tokens", summary="The organisation's API tokens")
def list_tokens(
    request: Request,
    kind: str,
    identifier: str,
    principal: access.Principal = Depends(api_principal),
) -> dict[str, Any]:
    with transaction(request) as session:
        page = access.list_tokens(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return {"tokens": [t.as_dict() for t in page.tokens]}


@router.post(
    "/organisations/{kind}/{identifier}/tokens",
    summary="Create an API token (shown once)",
    status_code=201,
)
def create_token(
    request: Request,
    kind: str,
    identifier: str,
    body: NewToken,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    with transaction(request) as session:
        created = access.create_token(
            session,
            principal=principal,
            organisation_type=forms.kind(kind),
            identifier=identifier,
            label=body.label,
            expires_at=forms.expiry(body.expires_on),
            context=context(request),
        )
    return JSONResponse(
        {
            **created.info.as_dict(),
            "token": created.token,
            "notice": "This is the only time the token is shown; store it in a secret store.",
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/organisations/{kind}/{identifier}/tokens/{token_id}/revoke", summary="Revoke an API token"
)
def revoke_token(
    request: Request,
    kind: str,
    identifier: str,
    token_id: forms.RowId,
    principal: access.Principal = Depends(api_principal),
) -> dict[str, Any]:
    with transaction(request) as session:
        info = access.revoke_token(
            session,
            principal=principal,
            organisation_type=forms.kind(kind),
            identifier=identifier,
            token_id=token_id,
            context=context(request),
        )
    return info.as_dict()


@router.post("/role-requests/{grant_id}/decision", summary="Approve or reject a role request")
def decide_role(
    request: Request,
    grant_id: forms.RowId,
    body: RoleDecision,
    principal: access.Principal = Depends(api_principal),
) -> dict[str, Any]:
    with transaction(request) as session:
        grant = access.decide(
            session,
            principal=principal,
            grant_id=grant_id,
            approve=body.decision == "approve",
            expires_at=forms.expiry(body.expires_on),
            note=body.note,
            context=context(request),
        )
    return {
        "id": grant.id,
        "userId": grant.user_id,
        "role": grant.role.value,
        "status": grant.status,
        "expiresAt": grant.expires_at.isoformat() if grant.expires_at else None,
    }


@router.get(
    "/organisations/{kind}/{identifier}/client-authorisations",
    summary="Intermediaries acting for a practice, or a registry's clients",
)
def list_clients(
    request: Request,
    kind: str,
    identifier: str,
    principal: access.Principal = Depends(api_principal),
) -> dict[str, Any]:
    with transaction(request) as session:
        page = access.clients_page(
            session, principal=principal, organisation_type=forms.kind(kind), identifier=identifier
        )
    return {"clientAuthorisations": [a.as_dict() for a in page.authorisations]}


@router.post(
    "/organisations/practice/{tin}/client-authorisations",
    summary="Authorise a registry to act for the practice in a performance year",
    status_code=201,
)
def authorise_client(
    request: Request,
    tin: str,
    body: NewClientAuthorisation,
    principal: access.Principal = Depends(api_principal),
) -> JSONResponse:
    with transaction(request) as session:
        info = access.authorise(
            session,
            principal=principal,
            practice_tin=tin,
            registry_vendor_id=body.registry,
            performance_year=body.performance_year,
            npi=body.npi,
            context=context(request),
        )
    return JSONResponse(info.as_dict(), status_code=201)


@router.get("/organisations/{kind}/{identifier}/audit", summary="The organisation's audit log")
def audit_log(
    request: Request,
    kind: str,
    identifier: str,
    limit: int = 200,
    principal: access.Principal = Depends(api_principal),
) -> dict[str, Any]:
    with transaction(request) as session:
        page = access.audit_page(
            session,
            principal=principal,
            organisation_type=forms.kind(kind),
            identifier=identifier,
            limit=limit,
        )
    return {
        "records": [
            {
                "id": e.id,
                "occurredAt": e.occurred_at.isoformat(),
                "actor": e.actor,
                "role": e.role,
                "onBehalfOf": e.on_behalf_of,
                "action": e.action,
                "objectType": e.object_type,
                "objectId": e.object_id,
                "before": e.before,
                "after": e.after,
                "requestId": e.request_id,
                "clientAddress": e.client_address,
            }
            for e in page.entries
        ]
    }
