"""Demo data from the CMS guides, loaded by `make serve` (idempotent).

Organisations and people come from the 2019 guides: Miami Medical and Greenville Podiatry
(practices), the American Academy of Neurology (a QCDR), Sam Smith (practice staff) and Debara
Jones (a clinician at Miami Medical). The other people, the virtual group and the APM entity are
invented so that every organisation type and role can be tried. Demo passwords are random at
every start and only returned to `openqpp serve --demo`, which prints them to the console.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.core.access import Conflict
from openqpp.db.models import Organisation, OrganisationKind, RoleGrant, User
from openqpp.services import audit
from openqpp.services.access import accounts, clients, passwords, roles
from openqpp.services.access.principals import Principal


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    kind: OrganisationKind
    identifier: str
    name: str
    address: str | None
    registry_type: str | None = None
    apm_model: str | None = None


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
    DemoOrganisation(
        OrganisationKind.REGISTRY,
        "AAN-QCDR",
        "American Academy of Neurology",
        None,
        registry_type="qcdr",
    ),
    DemoOrganisation(
        OrganisationKind.VIRTUAL_GROUP, "VG-2019-001", "Gulf Coast Virtual Group", None
    ),
    DemoOrganisation(
        OrganisationKind.APM_ENTITY,
        "A1234",
        "Sunshine ACO",
        None,
        apm_model="Medicare Shared Savings Program",
    ),
)


def load_demo(session: Session) -> int:
    """Insert the demo organisations that are missing; returns how many were added."""
    added = 0
    for demo in DEMO_ORGANISATIONS:
        existing = session.scalar(
            select(Organisation).where(
                Organisation.kind == demo.kind, Organisation.identifier == demo.identifier
            )
        )
        if existing is None:
            session.add(
                Organisation(
                    kind=demo.kind,
                    identifier=demo.identifier,
                    name=demo.name,
                    address=demo.address,
                    registry_type=demo.registry_type,
                    apm_model=demo.apm_model,
                )
            )
            added += 1
        elif existing.registry_type is None and existing.apm_model is None:
            existing.registry_type = demo.registry_type
            existing.apm_model = demo.apm_model
    session.flush()
    return added


def list_organisations(session: Session) -> list[DemoOrganisation]:
    rows = session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name))
    return [
        DemoOrganisation(r.kind, r.identifier, r.name, r.address, r.registry_type, r.apm_model)
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class DemoUser:
    user_id: str
    name: str
    roles: tuple[tuple[str, str, str], ...]
    """(role, organisation kind, identifier) granted by the operator."""
    pending: tuple[tuple[str, str, str, str], ...] = ()
    """(role, organisation kind, identifier, reason) requested and waiting for a decision."""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "sam.smith",
        "Sam Smith",
        (("staff_user", "practice", "123456789"), ("staff_user", "practice", "454599323")),
    ),
    DemoUser("maria.garcia", "Maria Garcia", (("security_official", "practice", "123456789"),)),
    DemoUser("lee.wong", "Lee Wong", (("security_official", "practice", "454599323"),)),
    DemoUser("debara.jones", "Debara Jones", (("clinician", "practice", "123456789"),)),
    DemoUser("alex.chen", "Alex Chen", (("security_official", "registry", "AAN-QCDR"),)),
    DemoUser("jordan.rivera", "Jordan Rivera", (("staff_user", "registry", "AAN-QCDR"),)),
    DemoUser("pat.kim", "Pat Kim", (("security_official", "virtual_group", "VG-2019-001"),)),
    DemoUser("morgan.ellis", "Morgan Ellis", (("security_official", "apm_entity", "A1234"),)),
    DemoUser(
        "chris.taylor",
        "Chris Taylor",
        (),
        pending=(("staff_user", "practice", "454599323", "Practice manager at Greenville."),),
    ),
)

DEMO_CLIENT_AUTHORISATIONS = (
    # (registry vendor id, practice TIN, performance year, evidence)
    ("AAN-QCDR", "123456789", 2019, "demo: signed registry agreement"),  # year-literal: demo data
    ("AAN-QCDR", "123456789", 2022, "demo: signed registry agreement"),  # year-literal: demo data
)


@dataclass(frozen=True, slots=True)
class DemoCredential:
    user_id: str
    name: str
    password: str
    roles: str


def load_demo_access(session: Session) -> list[DemoCredential]:
    """Create the demo users (once) with their roles, a pending request and a client
    authorisation, and give every demo user a fresh random password. Returns the credentials
    for the console of `openqpp serve --demo`; they are never logged."""
    credentials = []
    for demo in DEMO_USERS:
        password = passwords.generate()
        user = session.scalar(select(User).where(User.user_id == demo.user_id))
        if user is None:
            info = accounts.create_user(
                session,
                user_id=demo.user_id,
                name=demo.name,
                email=f"{demo.user_id}@demo.openqpp.invalid",
                password=password,
                actor="demo",
            )
            for role, kind, identifier in demo.roles:
                roles.operator_grant(
                    session,
                    user_id=demo.user_id,
                    organisation_type=kind,
                    identifier=identifier,
                    role=role,
                )
            principal = Principal(kind="user", actor=info.user_id, name=info.name, user_pk=info.id)
            for role, kind, identifier, reason in demo.pending:
                roles.request_role(
                    session,
                    principal=principal,
                    organisation_type=kind,
                    identifier=identifier,
                    role=role,
                    reason=reason,
                    context=audit.OPERATOR,
                )
        else:
            user.password_hash = passwords.hash_password(password)
        held = session.execute(
            select(RoleGrant.role, RoleGrant.status, Organisation.name)
            .join(User, User.id == RoleGrant.user_fk)
            .join(Organisation, Organisation.id == RoleGrant.organisation_fk)
            .where(User.user_id == demo.user_id)
            .order_by(RoleGrant.id)
        ).all()
        described = "; ".join(
            f"{role.replace('_', ' ')} at {org}" + ("" if status == "approved" else f" ({status})")
            for role, status, org in held
        )
        credentials.append(
            DemoCredential(demo.user_id, demo.name, password, described or "no role yet")
        )
    for vendor_id, tin, year, evidence in DEMO_CLIENT_AUTHORISATIONS:
        try:
            with session.begin_nested():
                clients.operator_authorise(
                    session,
                    practice_tin=tin,
                    registry_vendor_id=vendor_id,
                    performance_year=year,
                    evidence=evidence,
                )
        except Conflict:
            pass
    return credentials
