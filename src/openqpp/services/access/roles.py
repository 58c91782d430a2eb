"""Requesting a role at an organisation, and a Security Official's (or the operator's) decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openqpp.core.access import (
    Action,
    ActionRefused,
    Conflict,
    Invalid,
    NotConnected,
    OrganisationType,
    Role,
    RoleNotOffered,
    Target,
)
from openqpp.core.errors import Location
from openqpp.db.base import utcnow
from openqpp.db.models import Organisation, RoleGrant, User
from openqpp.services import audit
from openqpp.services.access import organisations
from openqpp.services.access.authorize import authorize_target
from openqpp.services.access.matrix import load_matrix
from openqpp.services.access.principals import OPERATOR, Principal, ref


@dataclass(frozen=True, slots=True)
class RoleGrantInfo:
    id: int
    user_id: str
    user_name: str
    organisation: organisations.OrganisationInfo
    role: Role
    status: str
    requested_at: dt.datetime
    reason: str | None
    decided_at: dt.datetime | None
    decided_by: str | None
    expires_at: dt.datetime | None

    def is_active(self, now: dt.datetime) -> bool:
        return self.status == "approved" and (self.expires_at is None or self.expires_at > now)

    @property
    def shown_status(self) -> str:
        if (
            self.status == "approved"
            and self.expires_at is not None
            and self.expires_at <= utcnow()
        ):
            return "expired"
        return self.status


def _info(grant: RoleGrant, user: User, org: Organisation) -> RoleGrantInfo:
    return RoleGrantInfo(
        id=grant.id,
        user_id=user.user_id,
        user_name=user.name,
        organisation=organisations.info(org),
        role=Role(grant.role),
        status=grant.status,
        requested_at=grant.requested_at,
        reason=grant.reason,
        decided_at=grant.decided_at,
        decided_by=grant.decided_by,
        expires_at=grant.expires_at,
    )


def _role(raw: str | Role) -> Role:
    try:
        return Role(str(raw).strip().lower().replace(" ", "_"))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise Invalid(f"{raw!r} is not a role.", fix=f"Use one of: {known}.") from None


def _check_offered(role: Role, kind: OrganisationType) -> None:
    offered = load_matrix().offered_roles(kind)
    if role not in offered:
        names = ", ".join(r.label for r in offered)
        raise RoleNotOffered(
            f"The {role.label} role does not exist for a {kind.label.lower()}.",
            fix=f"Request one of: {names}.",
        )


def _organisation(session: Session, kind: OrganisationType, identifier: str) -> Organisation:
    ident = organisations.normalise_identifier(kind, identifier)
    org = organisations.find(session, kind, ident)
    if org is None:
        raise Invalid(
            f"No {kind.label.lower()} with {kind.identifier_label} {ident} is registered on this "
            "server.",
            fix="Check the identifier; the operator registers organisations "
            "(`openqpp access org add`).",
        )
    return org


def _open_grant(session: Session, user_pk: int, org_pk: int, role: Role) -> RoleGrant | None:
    now = utcnow()
    return session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_fk == user_pk,
            RoleGrant.organisation_fk == org_pk,
            RoleGrant.role == role.value,
            or_(
                RoleGrant.status == "pending",
                (RoleGrant.status == "approved")
                & or_(RoleGrant.expires_at.is_(None), RoleGrant.expires_at > now),
            ),
        )
    )


def request_role(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType | str,
    identifier: str,
    role: Role | str,
    reason: str | None,
    context: audit.RequestContext,
) -> RoleGrantInfo:
    """Ask for ``role`` at an organisation; a Security Official of it decides."""
    if principal.user_pk is None:
        raise ActionRefused(
            "Only a signed-in person can request a role.",
            fix="Sign in with your user ID, not an API token.",
        )
    kind = organisations.organisation_type(str(organisation_type))
    wanted = _role(role)
    _check_offered(wanted, kind)
    org = _organisation(session, kind, identifier)
    if _open_grant(session, principal.user_pk, org.id, wanted) is not None:
        raise Conflict(
            f"You already hold or have requested the {wanted.label} role at {org.name}.",
            fix="Wait for a Security Official's decision; see Account for its status.",
        )
    grant = RoleGrant(
        user_fk=principal.user_pk,
        organisation_fk=org.id,
        role=wanted.value,
        status="pending",
        reason=(reason or "").strip()[:500] or None,
    )
    session.add(grant)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=None,
        on_behalf_of=audit.OnBehalfOf(kind.value, org.identifier, organisation_id=org.id),
        action="role.requested",
        object_type="role_grant",
        object_id=grant.id,
        after={"user_id": principal.actor, "role": wanted.value, "status": "pending"},
    )
    user = session.get(User, principal.user_pk)
    assert user is not None
    return _info(grant, user, org)


def _not_yours(grant_id: int) -> NotConnected:
    return NotConnected(
        f"You do not have access to role request #{grant_id}.",
        fix="Only Security Officials of the organisation the request is for can decide it; "
        "check the request number.",
    )


def decide(
    session: Session,
    *,
    principal: Principal,
    grant_id: int,
    approve: bool,
    expires_at: dt.datetime | None = None,
    note: str | None = None,
    context: audit.RequestContext,
    now: dt.datetime | None = None,
) -> RoleGrantInfo:
    """A Security Official of the organisation approves (optionally until ``expires_at``) or
    rejects a pending role request. The operator may decide any request."""
    now = now or utcnow()
    row = session.execute(
        select(RoleGrant, User, Organisation)
        .join(User, User.id == RoleGrant.user_fk)
        .join(Organisation, Organisation.id == RoleGrant.organisation_fk)
        .where(RoleGrant.id == grant_id)
    ).first()
    if row is None:
        raise _not_yours(grant_id)
    grant, user, org = row
    role_used: str | None = "operator"
    if principal.kind != "operator":
        try:
            decision = authorize_target(
                session, principal=principal, action=Action.MANAGE_USERS, target=Target(ref(org))
            )
        except NotConnected:
            raise _not_yours(grant_id) from None
        role_used = decision.grant.role.value
        if principal.user_pk == grant.user_fk:
            raise ActionRefused(
                "You cannot decide your own role request.",
                fix="Ask another Security Official of the organisation, or the operator.",
            )
    if grant.status != "pending":
        raise Conflict(
            f"Role request #{grant_id} was already {grant.status}.",
            fix="Nothing to do; the user can make a new request if needed.",
        )
    if expires_at is not None and expires_at <= now:
        raise Invalid(
            "The expiry date is in the past.",
            fix="Give a future date, or leave it empty for a role that does not expire.",
            location=Location(path="expires_on"),
        )
    grant.status = "approved" if approve else "rejected"
    grant.decided_at = now
    grant.decided_by = principal.actor
    grant.decision_note = (note or "").strip()[:500] or None
    grant.expires_at = expires_at if approve else None
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=role_used,
        on_behalf_of=audit.OnBehalfOf(org.kind.value, org.identifier, organisation_id=org.id),
        action="role.approved" if approve else "role.rejected",
        object_type="role_grant",
        object_id=grant.id,
        before={"status": "pending"},
        after={
            "user_id": user.user_id,
            "role": grant.role,
            "status": grant.status,
            "expires_at": grant.expires_at,
        },
        at=now,
    )
    return _info(grant, user, org)


def operator_grant(
    session: Session,
    *,
    user_id: str,
    organisation_type: OrganisationType | str,
    identifier: str,
    role: Role | str,
    expires_at: dt.datetime | None = None,
    context: audit.RequestContext = audit.OPERATOR,
) -> RoleGrantInfo:
    """The operator grants a role directly (e.g. an organisation's first Security Official).
    A pending request for the same role is approved instead of adding a second row."""
    kind = organisations.organisation_type(str(organisation_type))
    wanted = _role(role)
    _check_offered(wanted, kind)
    org = _organisation(session, kind, identifier)
    user = session.scalar(select(User).where(User.user_id == str(user_id).strip().lower()))
    if user is None:
        raise Invalid(
            f"No user {user_id!r}.", fix="Create it first with `openqpp access user add`."
        )
    existing = _open_grant(session, user.id, org.id, wanted)
    if existing is not None and existing.status == "approved":
        raise Conflict(
            f"{user.user_id} already holds the {wanted.label} role at {org.name}.",
            fix="Nothing to do.",
        )
    if existing is not None:
        return decide(
            session,
            principal=OPERATOR,
            grant_id=existing.id,
            approve=True,
            expires_at=expires_at,
            context=context,
        )
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise Invalid("The expiry date is in the past.", fix="Give a future date.")
    grant = RoleGrant(
        user_fk=user.id,
        organisation_fk=org.id,
        role=wanted.value,
        status="approved",
        requested_at=now,
        decided_at=now,
        decided_by="operator",
        expires_at=expires_at,
    )
    session.add(grant)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor="operator",
        role="operator",
        on_behalf_of=audit.OnBehalfOf(kind.value, org.identifier, organisation_id=org.id),
        action="role.granted",
        object_type="role_grant",
        object_id=grant.id,
        after={
            "user_id": user.user_id,
            "role": wanted.value,
            "status": "approved",
            "expires_at": expires_at,
        },
    )
    return _info(grant, user, org)


def grants_of_user(session: Session, *, user_pk: int) -> list[RoleGrantInfo]:
    rows = session.execute(
        select(RoleGrant, User, Organisation)
        .join(User, User.id == RoleGrant.user_fk)
        .join(Organisation, Organisation.id == RoleGrant.organisation_fk)
        .where(RoleGrant.user_fk == user_pk)
        .order_by(RoleGrant.requested_at.desc(), RoleGrant.id.desc())
    ).all()
    return [_info(g, u, o) for g, u, o in rows]


def grants_at(session: Session, *, organisation_id: int) -> list[RoleGrantInfo]:
    rows = session.execute(
        select(RoleGrant, User, Organisation)
        .join(User, User.id == RoleGrant.user_fk)
        .join(Organisation, Organisation.id == RoleGrant.organisation_fk)
        .where(RoleGrant.organisation_fk == organisation_id)
        .order_by(RoleGrant.requested_at.desc(), RoleGrant.id.desc())
    ).all()
    return [_info(g, u, o) for g, u, o in rows]
