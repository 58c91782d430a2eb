"""What the account, organisation, audit and permissions pages show (one call per page)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from openqpp.core.access import (
    Action,
    Cell,
    OrganisationType,
    PermissionMatrix,
    Target,
    describe,
    not_connected,
)
from openqpp.db.base import utcnow
from openqpp.db.models import Organisation
from openqpp.services import audit
from openqpp.services.access import organisations, roles
from openqpp.services.access.authorize import allowed, authorize, in_submission_period
from openqpp.services.access.matrix import load_matrix
from openqpp.services.access.principals import Principal

MANAGE_ACTIONS = (
    Action.MANAGE_USERS,
    Action.MANAGE_API_TOKENS,
    Action.VIEW_CLIENT_AUTHORISATIONS,
    Action.MANAGE_CLIENT_AUTHORISATIONS,
    Action.VIEW_AUDIT_LOG,
)


@dataclass(frozen=True, slots=True)
class Membership:
    organisation: organisations.OrganisationInfo
    roles: tuple[str, ...]
    may: frozenset[Action]


@dataclass(frozen=True, slots=True)
class AccountPage:
    name: str
    user_id: str
    memberships_by_type: dict[OrganisationType, list[Membership]]
    requests: list[roles.RoleGrantInfo]
    """The user's own requests and grants, newest first."""
    to_decide: list[roles.RoleGrantInfo]
    """Pending requests at organisations where the user may approve roles."""
    organisation_types: tuple[OrganisationType, ...] = tuple(OrganisationType)
    roles_by_type: dict[OrganisationType, tuple[str, ...]] = field(default_factory=dict)


def _may(
    session: Session, principal: Principal, org: organisations.OrganisationInfo
) -> frozenset[Action]:
    return frozenset(
        a
        for a in MANAGE_ACTIONS
        if allowed(session, principal=principal, action=a, target=Target(org.ref))
    )


def account_page(session: Session, *, principal: Principal) -> AccountPage:
    assert principal.user_pk is not None
    by_org: dict[int, list[str]] = {}
    for grant in principal.grants:
        by_org.setdefault(grant.organisation.id, []).append(grant.role.label)
    memberships: dict[OrganisationType, list[Membership]] = {}
    to_decide: list[roles.RoleGrantInfo] = []
    for org_id, role_labels in by_org.items():
        row = session.get(Organisation, org_id)
        assert row is not None
        org = organisations.info(row)
        may = _may(session, principal, org)
        memberships.setdefault(org.type, []).append(Membership(org, tuple(role_labels), may))
        if Action.MANAGE_USERS in may:
            to_decide += [
                g
                for g in roles.grants_at(session, organisation_id=org_id)
                if g.status == "pending" and g.user_id != principal.actor
            ]
    for items in memberships.values():
        items.sort(key=lambda m: m.organisation.name)
    matrix = load_matrix()
    return AccountPage(
        name=principal.name,
        user_id=principal.actor,
        memberships_by_type={t: memberships[t] for t in OrganisationType if t in memberships},
        requests=roles.grants_of_user(session, user_pk=principal.user_pk),
        to_decide=to_decide,
        roles_by_type={
            t: tuple(r.value for r in matrix.offered_roles(t)) for t in OrganisationType
        },
    )


@dataclass(frozen=True, slots=True)
class OrganisationPage:
    organisation: organisations.OrganisationInfo
    your_roles: tuple[str, ...]
    may: frozenset[Action]
    members: list[roles.RoleGrantInfo]
    """Every request and grant at the organisation (only for those who may manage users)."""


def organisation_page(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
) -> OrganisationPage:
    """The organisation's page, for people who hold a role there (else the usual refusal)."""
    ident = organisations.normalise_identifier(organisation_type, identifier)
    row = organisations.find(session, organisation_type, ident)
    held = principal.grants_at(row.id) if row is not None else ()
    if row is None or not held:
        raise not_connected(describe(organisation_type, ident))
    org = organisations.info(row)
    may = _may(session, principal, org)
    members = roles.grants_at(session, organisation_id=org.id) if Action.MANAGE_USERS in may else []
    return OrganisationPage(org, tuple(g.role.label for g in held), may, members)


@dataclass(frozen=True, slots=True)
class AuditPage:
    organisation: organisations.OrganisationInfo
    entries: list[audit.AuditEntry]


def audit_page(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
    limit: int = 200,
) -> AuditPage:
    """A Security Official's view of the records about, or made by, their organisation."""
    decision = authorize(
        session,
        principal=principal,
        action=Action.VIEW_AUDIT_LOG,
        organisation_type=organisation_type,
        identifier=identifier,
    )
    row = session.get(Organisation, decision.grant.organisation.id)
    assert row is not None
    entries = audit.search(session, organisation_ids=[row.id], limit=limit)
    return AuditPage(organisations.info(row), entries)


@dataclass(frozen=True, slots=True)
class PermissionsPage:
    matrix: PermissionMatrix
    rows: list[tuple[OrganisationType, str, list[Cell]]]
    in_submission_period: bool = False
    generated_at: str = ""


def permissions_page() -> PermissionsPage:
    matrix = load_matrix()
    rows = []
    for org_type in OrganisationType:
        for role in matrix.offered_roles(org_type):
            rows.append((org_type, role.label, [matrix.cell(role, org_type, a) for a in Action]))
    return PermissionsPage(
        matrix=matrix,
        rows=rows,
        in_submission_period=in_submission_period(),
        generated_at=utcnow().isoformat(timespec="seconds"),
    )
