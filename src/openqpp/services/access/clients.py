"""Client authorisations: a registry acts for a practice (or one of its clinicians) in a
performance year only while one exists. The practice's Security Official grants it, or the
operator records it from a signed agreement; the practice sees every intermediary acting for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from openqpp.core.access import (
    Action,
    Conflict,
    Invalid,
    NotFound,
    OrganisationType,
    Target,
)
from openqpp.core.common import Npi, PerformanceYear
from openqpp.core.errors import Location
from openqpp.db.base import utcnow
from openqpp.db.models import ClientAuthorisation, Organisation
from openqpp.policy import SUPPORTED_YEARS
from openqpp.services import audit
from openqpp.services.access import organisations
from openqpp.services.access.authorize import allowed, authorize
from openqpp.services.access.principals import Principal


@dataclass(frozen=True, slots=True)
class ClientAuthorisationInfo:
    id: int
    registry: organisations.OrganisationInfo
    practice: organisations.OrganisationInfo
    npi: str | None
    performance_year: int
    granted_by: str
    evidence: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None

    @property
    def covers(self) -> str:
        return f"clinician NPI {self.npi}" if self.npi else "the whole practice"

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at else "active"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "registry": {"vendorId": self.registry.identifier, "name": self.registry.name},
            "practice": {"tin": self.practice.identifier, "name": self.practice.name},
            "npi": self.npi,
            "performanceYear": self.performance_year,
            "grantedBy": self.granted_by,
            "status": self.status,
            "createdAt": self.created_at.isoformat(),
            "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class ClientsPage:
    organisation: organisations.OrganisationInfo
    authorisations: list[ClientAuthorisationInfo]
    can_manage: bool


def _year(raw: int | str) -> int:
    year = int(PerformanceYear(raw))
    if year not in SUPPORTED_YEARS:
        raise Invalid(
            f"Performance year {year} is not supported.",
            fix=f"Use a year from {SUPPORTED_YEARS[0]} to {SUPPORTED_YEARS[-1]}.",
            location=Location(path="performance_year"),
        )
    return year


def _rows(
    session: Session, *, column: object, organisation_id: int
) -> list[ClientAuthorisationInfo]:
    registry = aliased(Organisation)
    practice = aliased(Organisation)
    rows = session.execute(
        select(ClientAuthorisation, registry, practice)
        .join(registry, registry.id == ClientAuthorisation.registry_fk)
        .join(practice, practice.id == ClientAuthorisation.practice_fk)
        .where(column == organisation_id)  # type: ignore[arg-type]
        .order_by(ClientAuthorisation.performance_year.desc(), ClientAuthorisation.id.desc())
    ).all()
    return [_info(a, r, p) for a, r, p in rows]


def _info(a: ClientAuthorisation, r: Organisation, p: Organisation) -> ClientAuthorisationInfo:
    return ClientAuthorisationInfo(
        id=a.id,
        registry=organisations.info(r),
        practice=organisations.info(p),
        npi=a.npi,
        performance_year=a.performance_year,
        granted_by=a.granted_by,
        evidence=a.evidence,
        created_at=a.created_at,
        revoked_at=a.revoked_at,
        revoked_by=a.revoked_by,
    )


def _registry(session: Session, vendor_id: str) -> Organisation:
    ident = organisations.normalise_identifier(OrganisationType.REGISTRY, vendor_id)
    org = organisations.find(session, OrganisationType.REGISTRY, ident)
    if org is None:
        raise Invalid(
            f"No registry with vendor ID {ident} is registered on this server.",
            fix="Check the registry's vendor ID (it is on its QPP registry page).",
            location=Location(path="registry"),
        )
    return org


def _grant(
    session: Session,
    *,
    registry: Organisation,
    practice: Organisation,
    npi: str | None,
    year: int,
    granted_by: str,
    evidence: str | None,
    role: str,
    context: audit.RequestContext,
) -> ClientAuthorisationInfo:
    duplicate = session.scalar(
        select(ClientAuthorisation.id).where(
            ClientAuthorisation.registry_fk == registry.id,
            ClientAuthorisation.practice_fk == practice.id,
            ClientAuthorisation.performance_year == year,
            ClientAuthorisation.revoked_at.is_(None),
            ClientAuthorisation.npi.is_(None) if npi is None else ClientAuthorisation.npi == npi,
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"{registry.name} is already authorised for {year} "
            f"({'the whole practice' if npi is None else 'NPI ' + npi}).",
            fix="Nothing to do; see the list of intermediaries.",
        )
    row = ClientAuthorisation(
        registry_fk=registry.id,
        practice_fk=practice.id,
        npi=npi,
        performance_year=year,
        granted_by=granted_by,
        evidence=evidence,
    )
    session.add(row)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=granted_by,
        role=role,
        on_behalf_of=audit.OnBehalfOf.practice(
            practice.identifier, npi=npi, organisation_id=practice.id
        ),
        action="client_authorisation.granted",
        object_type="client_authorisation",
        object_id=row.id,
        after={
            "registry": registry.identifier,
            "performance_year": year,
            "npi": npi,
            "evidence": evidence,
        },
        acting_organisation_id=registry.id,
    )
    return _info(row, registry, practice)


def authorise(
    session: Session,
    *,
    principal: Principal,
    practice_tin: str,
    registry_vendor_id: str,
    performance_year: int | str,
    npi: str | None = None,
    context: audit.RequestContext,
) -> ClientAuthorisationInfo:
    """The practice's Security Official authorises a registry for a year (whole practice, or
    one clinician when ``npi`` is given)."""
    decision = authorize(
        session,
        principal=principal,
        action=Action.MANAGE_CLIENT_AUTHORISATIONS,
        organisation_type=OrganisationType.PRACTICE,
        identifier=practice_tin,
    )
    practice = session.get(Organisation, decision.grant.organisation.id)
    assert practice is not None
    return _grant(
        session,
        registry=_registry(session, registry_vendor_id),
        practice=practice,
        npi=str(Npi(npi)) if npi else None,
        year=_year(performance_year),
        granted_by=principal.actor,
        evidence=None,
        role=decision.grant.role.value,
        context=context,
    )


def operator_authorise(
    session: Session,
    *,
    practice_tin: str,
    registry_vendor_id: str,
    performance_year: int | str,
    evidence: str,
    npi: str | None = None,
    context: audit.RequestContext = audit.OPERATOR,
) -> ClientAuthorisationInfo:
    """The operator records an authorisation from a signed agreement (``evidence`` names it)."""
    if not evidence.strip():
        raise Invalid(
            "An operator-recorded authorisation needs its evidence.",
            fix="Name the signed agreement, e.g. --evidence 'agreement 2019-17 signed 2020-01-06'.",
        )
    tin = organisations.normalise_identifier(OrganisationType.PRACTICE, practice_tin)
    practice = organisations.find(session, OrganisationType.PRACTICE, tin)
    if practice is None:
        raise Invalid(
            f"No practice with TIN {tin} is registered on this server.",
            fix="Register it first with `openqpp access org add practice ...`.",
        )
    return _grant(
        session,
        registry=_registry(session, registry_vendor_id),
        practice=practice,
        npi=str(Npi(npi)) if npi else None,
        year=_year(performance_year),
        granted_by="operator",
        evidence=evidence.strip()[:300],
        role="operator",
        context=context,
    )


def revoke(
    session: Session,
    *,
    principal: Principal,
    practice_tin: str,
    authorisation_id: int,
    context: audit.RequestContext,
) -> ClientAuthorisationInfo:
    decision = authorize(
        session,
        principal=principal,
        action=Action.MANAGE_CLIENT_AUTHORISATIONS,
        organisation_type=OrganisationType.PRACTICE,
        identifier=practice_tin,
    )
    row = session.get(ClientAuthorisation, authorisation_id)
    if row is None or row.practice_fk != decision.grant.organisation.id:
        raise NotFound(
            f"This practice has no client authorisation #{authorisation_id}.",
            fix="Pick one from the practice's list of intermediaries.",
        )
    if row.revoked_at is not None:
        raise Conflict(f"Client authorisation #{authorisation_id} is already revoked.", fix="")
    now = utcnow()
    row.revoked_at = now
    row.revoked_by = principal.actor
    registry = session.get(Organisation, row.registry_fk)
    practice = session.get(Organisation, row.practice_fk)
    assert registry is not None
    assert practice is not None
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=decision.grant.role.value,
        on_behalf_of=audit.OnBehalfOf.practice(
            practice.identifier, npi=row.npi, organisation_id=practice.id
        ),
        action="client_authorisation.revoked",
        object_type="client_authorisation",
        object_id=row.id,
        before={"status": "active"},
        after={"status": "revoked", "registry": registry.identifier},
        acting_organisation_id=registry.id,
    )
    return _info(row, registry, practice)


def clients_page(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
) -> ClientsPage:
    """For a practice: every intermediary authorised to act for it. For a registry: its clients."""
    decision = authorize(
        session,
        principal=principal,
        action=Action.VIEW_CLIENT_AUTHORISATIONS,
        organisation_type=organisation_type,
        identifier=identifier,
    )
    org = session.get(Organisation, decision.grant.organisation.id)
    assert org is not None
    if organisation_type is OrganisationType.PRACTICE:
        rows = _rows(session, column=ClientAuthorisation.practice_fk, organisation_id=org.id)
    else:
        rows = _rows(session, column=ClientAuthorisation.registry_fk, organisation_id=org.id)
    can_manage = allowed(
        session,
        principal=principal,
        action=Action.MANAGE_CLIENT_AUTHORISATIONS,
        target=Target(decision.grant.organisation),
    )
    return ClientsPage(organisations.info(org), rows, can_manage)
