"""API tokens: created and revoked by a Security Official, shown once, stored as a digest.

A request with ``Authorization: Bearer <token>`` acts with the Staff User permissions of the
token's organisation (so a token can submit and elect where staff may, but never manage users,
tokens or client authorisations, nor read the audit log).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.core.access import (
    Action,
    Conflict,
    Grant,
    Invalid,
    NotFound,
    OrganisationType,
    Role,
    Unauthenticated,
)
from openqpp.core.errors import Location
from openqpp.db.base import utcnow
from openqpp.db.models import ApiToken, Organisation
from openqpp.services import audit
from openqpp.services.access import organisations
from openqpp.services.access.authorize import authorize
from openqpp.services.access.principals import Principal, digest, ref

TOKEN_PREFIX = "oqp_"  # noqa: S105 (a marker, not a secret)
TOKEN_ROLE = Role.STAFF_USER
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
"""last_used_at is written at most once a minute per token."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    label: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "status": self.status,
            "createdBy": self.created_by,
            "createdAt": self.created_at.isoformat(),
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
            "lastUsedAt": self.last_used_at.isoformat() if self.last_used_at else None,
            "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """The only object that ever holds the token in clear; show it once, never log it."""

    info: TokenInfo
    token: str
    organisation: organisations.OrganisationInfo


@dataclass(frozen=True, slots=True)
class TokensPage:
    organisation: organisations.OrganisationInfo
    tokens: list[TokenInfo]


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        label=row.label,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def _organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    assert org is not None
    return org


def list_tokens(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
) -> TokensPage:
    decision = authorize(
        session,
        principal=principal,
        action=Action.MANAGE_API_TOKENS,
        organisation_type=organisation_type,
        identifier=identifier,
    )
    org = _organisation(session, decision.grant.organisation.id)
    rows = session.scalars(
        select(ApiToken).where(ApiToken.organisation_fk == org.id).order_by(ApiToken.id.desc())
    )
    return TokensPage(organisations.info(org), [_info(r) for r in rows])


def create_token(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
    label: str,
    expires_at: dt.datetime | None = None,
    context: audit.RequestContext,
) -> CreatedToken:
    decision = authorize(
        session,
        principal=principal,
        action=Action.MANAGE_API_TOKENS,
        organisation_type=organisation_type,
        identifier=identifier,
    )
    label = " ".join((label or "").split())[:100]
    if not label:
        raise Invalid(
            "The token needs a name.",
            fix="Name it after what will use it, for example 'EHR nightly upload'.",
            location=Location(path="label"),
        )
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise Invalid(
            "The expiry date is in the past.",
            fix="Give a future date or none.",
            location=Location(path="expires_on"),
        )
    org = _organisation(session, decision.grant.organisation.id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        organisation_fk=org.id,
        label=label,
        token_hash=digest(token),
        created_by=principal.actor,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=decision.grant.role.value,
        on_behalf_of=audit.OnBehalfOf(org.kind.value, org.identifier, organisation_id=org.id),
        action="api_token.created",
        object_type="api_token",
        object_id=row.id,
        after={"label": label, "expires_at": expires_at},
    )
    return CreatedToken(_info(row), token, organisations.info(org))


def revoke_token(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
    token_id: int,
    context: audit.RequestContext,
) -> TokenInfo:
    decision = authorize(
        session,
        principal=principal,
        action=Action.MANAGE_API_TOKENS,
        organisation_type=organisation_type,
        identifier=identifier,
    )
    org = _organisation(session, decision.grant.organisation.id)
    row = session.get(ApiToken, token_id)
    if row is None or row.organisation_fk != org.id:
        raise NotFound(
            f"{org.name} has no API token #{token_id}.",
            fix="Pick a token from the organisation's token list.",
        )
    if row.revoked_at is not None:
        raise Conflict(f"API token #{token_id} is already revoked.", fix="Nothing to do.")
    now = utcnow()
    row.revoked_at = now
    row.revoked_by = principal.actor
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=decision.grant.role.value,
        on_behalf_of=audit.OnBehalfOf(org.kind.value, org.identifier, organisation_id=org.id),
        action="api_token.revoked",
        object_type="api_token",
        object_id=row.id,
        before={"status": "active"},
        after={"status": "revoked", "revoked_at": now},
    )
    return _info(row)


def _invalid_token() -> Unauthenticated:
    return Unauthenticated(
        "The API token is not valid: it is unknown, revoked or expired.",
        fix="Send 'Authorization: Bearer <token>' with an active token; a Security Official "
        "of your organisation can create one under Organisation > API tokens.",
    )


def principal_for_token(
    session: Session, token: str, *, now: dt.datetime | None = None
) -> Principal:
    """The principal an API token acts as; raises Unauthenticated (401) when it is not valid."""
    if not token.startswith(TOKEN_PREFIX) or not 20 <= len(token) <= 200:
        raise _invalid_token()
    now = now or utcnow()
    row = session.execute(
        select(ApiToken, Organisation)
        .join(Organisation, Organisation.id == ApiToken.organisation_fk)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if row is None:
        raise _invalid_token()
    api_token, org = row
    if api_token.revoked_at is not None or (
        api_token.expires_at is not None and api_token.expires_at <= now
    ):
        raise _invalid_token()
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return Principal(
        kind="token",
        actor=f"token:{api_token.id}",
        name=f"API token '{api_token.label}' of {org.name}",
        grants=(Grant(TOKEN_ROLE, ref(org)),),
        token_id=api_token.id,
        organisation_names={org.id: org.name},
    )
