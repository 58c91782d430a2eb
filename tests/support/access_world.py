"""A small world for access tests: one organisation of each type (plus a second practice and a
second registry), one user for every role each type offers, and one client authorisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from openqpp.core.access import OrganisationType, Role
from openqpp.services import access

PASSWORD = "correct horse battery staple"
YEAR = 2019  # year-literal: the guides' performance year
IN_SUBMISSION_PERIOD = dt.datetime(2020, 2, 3, 15, 0, tzinfo=dt.UTC)
OUTSIDE_SUBMISSION_PERIOD = dt.datetime(2020, 7, 1, 15, 0, tzinfo=dt.UTC)

ORGANISATIONS = {
    OrganisationType.PRACTICE: ("123456789", "Miami Medical"),
    OrganisationType.REGISTRY: ("AAN-QCDR", "American Academy of Neurology"),
    OrganisationType.VIRTUAL_GROUP: ("VG-1", "Gulf Coast Virtual Group"),
    OrganisationType.APM_ENTITY: ("A1234", "Sunshine ACO"),
}
OTHER_PRACTICE = ("454599323", "Greenville Podiatry")
OTHER_REGISTRY = ("OTHER-QR", "Other Registry")
MISSING_PRACTICE = "987654321"
"""A TIN no organisation has."""
CLIENT_NPI = "1234567893"


def user_id(kind: OrganisationType, role: Role) -> str:
    return f"{kind.value}.{role.value}".replace("_", "-")


@dataclass
class World:
    users: dict[tuple[OrganisationType, Role], str] = field(default_factory=dict)
    identifiers: dict[OrganisationType, str] = field(default_factory=dict)

    def identifier(self, kind: OrganisationType) -> str:
        return self.identifiers[kind]


def build(session: Session, *, password: str = PASSWORD) -> World:
    world = World()
    for kind, (identifier, name) in ORGANISATIONS.items():
        access.create(
            session,
            kind=kind,
            identifier=identifier,
            name=name,
            registry_type="qcdr" if kind is OrganisationType.REGISTRY else None,
        )
        world.identifiers[kind] = identifier
    access.create(
        session,
        kind=OrganisationType.PRACTICE,
        identifier=OTHER_PRACTICE[0],
        name=OTHER_PRACTICE[1],
    )
    access.create(
        session,
        kind=OrganisationType.REGISTRY,
        identifier=OTHER_REGISTRY[0],
        name=OTHER_REGISTRY[1],
        registry_type="qualified_registry",
    )
    matrix = access.load_matrix()
    for kind in OrganisationType:
        for role in matrix.offered_roles(kind):
            uid = user_id(kind, role)
            access.create_user(
                session,
                user_id=uid,
                name=f"{role.label} of {kind.label}",
                email=f"{uid}@example.org",
                password=password,
            )
            access.operator_grant(
                session,
                user_id=uid,
                organisation_type=kind,
                identifier=world.identifiers[kind],
                role=role,
            )
            world.users[(kind, role)] = uid
    access.operator_authorise(
        session,
        practice_tin=ORGANISATIONS[OrganisationType.PRACTICE][0],
        registry_vendor_id=ORGANISATIONS[OrganisationType.REGISTRY][0],
        performance_year=YEAR,
        evidence="test agreement",
    )
    return world


def principal(session: Session, uid: str) -> access.Principal:
    """The principal a user acts as (what a session resolves to), without signing in."""
    from openqpp.services.access.principals import user_grants

    info = access.find_user(session, uid)
    assert info is not None
    grants, names = user_grants(session, user_pk=info.id)
    return access.Principal(
        kind="user",
        actor=info.user_id,
        name=info.name,
        grants=grants,
        user_pk=info.id,
        organisation_names=names,
    )
