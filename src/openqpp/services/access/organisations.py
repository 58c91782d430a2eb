"""Organisations as access sees them, and the practice lookup other domains call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from openqpp.core.access import Invalid, OrganisationRef, OrganisationType
from openqpp.core.common import ApmEntityId, Tin
from openqpp.db.models import Organisation, OrganisationKind

REGISTRY_TYPES = {"qualified_registry": "Qualified Registry", "qcdr": "QCDR"}


@dataclass(frozen=True, slots=True)
class OrganisationInfo:
    id: int
    type: OrganisationType
    identifier: str
    name: str
    address: str | None
    registry_type: str | None = None
    apm_model: str | None = None

    @property
    def ref(self) -> OrganisationRef:
        return OrganisationRef(self.id, self.type, self.identifier)

    @property
    def path(self) -> str:
        """The web path of the organisation's page."""
        return f"/organisations/{self.type.value}/{self.identifier}"

    @property
    def kind_label(self) -> str:
        if self.type is OrganisationType.REGISTRY and self.registry_type:
            return REGISTRY_TYPES.get(self.registry_type, self.type.label)
        return self.type.label


def info(row: Organisation) -> OrganisationInfo:
    return OrganisationInfo(
        id=row.id,
        type=OrganisationType(row.kind.value),
        identifier=row.identifier,
        name=row.name,
        address=row.address,
        registry_type=row.registry_type,
        apm_model=row.apm_model,
    )


def organisation_type(raw: str) -> OrganisationType:
    try:
        return OrganisationType(str(raw).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        known = ", ".join(t.value for t in OrganisationType)
        raise Invalid(
            f"{raw!r} is not an organisation type.", fix=f"Use one of: {known}."
        ) from None


def normalise_identifier(kind: OrganisationType, raw: str) -> str:
    """The stored form of an organisation identifier; raises InvalidValue when malformed."""
    if kind is OrganisationType.PRACTICE:
        return str(Tin(raw))
    if kind is OrganisationType.APM_ENTITY:
        return str(ApmEntityId(raw))
    value = str(raw).strip().upper()
    if not (1 <= len(value) <= 40) or not all(c.isalnum() or c in "-_" for c in value):
        raise Invalid(
            f"{kind.identifier_label} {raw!r} is not valid.",
            fix="Use 1 to 40 letters, digits, dashes or underscores.",
        )
    return value


_BY_KIND_AND_IDENTIFIER = select(Organisation).where(
    Organisation.kind == bindparam("kind"), Organisation.identifier == bindparam("identifier")
)
"""Built once: elections and lookups ask for an organisation several times per request."""


def find(session: Session, kind: OrganisationType, identifier: str) -> Organisation | None:
    return session.scalar(
        _BY_KIND_AND_IDENTIFIER, {"kind": OrganisationKind(kind.value), "identifier": identifier}
    )


def practice_by_tin(session: Session, tin: str | Tin) -> OrganisationInfo | None:
    """The practice registered with ``tin`` (any accepted TIN spelling), or None.

    For other domains (eligibility, elections, submissions) that key their data by TIN and need
    the practice's organisation id, name and address.
    """
    row = find(session, OrganisationType.PRACTICE, str(Tin(tin)))
    return info(row) if row is not None else None


def create(
    session: Session,
    *,
    kind: OrganisationType,
    identifier: str,
    name: str,
    address: str | None = None,
    registry_type: str | None = None,
    apm_model: str | None = None,
) -> OrganisationInfo:
    """Register an organisation (operator use). Idempotent on (kind, identifier): an existing
    organisation is returned unchanged."""
    ident = normalise_identifier(kind, identifier)
    existing = find(session, kind, ident)
    if existing is not None:
        return info(existing)
    if registry_type is not None and registry_type not in REGISTRY_TYPES:
        raise Invalid(
            f"Registry type {registry_type!r} is not known.",
            fix="Use qualified_registry or qcdr.",
        )
    if not name.strip():
        raise Invalid("The organisation needs a name.", fix="Give its legal business name.")
    row = Organisation(
        kind=OrganisationKind(kind.value),
        identifier=ident,
        name=name.strip(),
        address=address,
        registry_type=registry_type if kind is OrganisationType.REGISTRY else None,
        apm_model=apm_model if kind is OrganisationType.APM_ENTITY else None,
    )
    session.add(row)
    session.flush()
    return info(row)


def list_all(session: Session) -> list[OrganisationInfo]:
    rows = session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name))
    return [info(r) for r in rows]
