"""Demo data from the CMS guides, loaded by `make serve` (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.db.models import Organisation, OrganisationKind


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    kind: OrganisationKind
    identifier: str
    name: str
    address: str | None


# The guides print placeholder TINs ("#1234567890", ten digits); the demo uses valid 9-digit ones.
DEMO_ORGANISATIONS: tuple[DemoOrganisation, ...] = (
    DemoOrganisation(
        OrganisationKind.PRACTICE, "123456789", "Miami Medical", "213 Miami Ln., Miami, FL 01234"
    ),
    DemoOrganisation(
        OrganisationKind.PRACTICE,
        "454599323",
        "Greenville Podiatry",
        "5200 Manchester Ln., Greenville, OH 01234",
    ),
    DemoOrganisation(OrganisationKind.REGISTRY, "AAN-QCDR", "American Academy of Neurology", None),
)


def load_demo(session: Session) -> int:
    """Insert the demo organisations that are missing; returns how many were added."""
    added = 0
    for demo in DEMO_ORGANISATIONS:
        exists = session.scalar(
            select(Organisation.id).where(
                Organisation.kind == demo.kind, Organisation.identifier == demo.identifier
            )
        )
        if exists is None:
            session.add(
                Organisation(
                    kind=demo.kind, identifier=demo.identifier, name=demo.name, address=demo.address
                )
            )
            added += 1
    return added


def list_organisations(session: Session) -> list[DemoOrganisation]:
    rows = session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name))
    return [DemoOrganisation(r.kind, r.identifier, r.name, r.address) for r in rows]
