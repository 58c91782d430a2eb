"""The world of the security tests (tests/security): the elections world (practices, registries,
a virtual group, an APM entity, the 2019 and 2022 determinations, client authorisations) plus

* one user for every role each organisation type offers, each holding that one role at the
  organisation of its type (``MEMBER_OF``), and a registry Staff User at a registry with no
  client authorisation for the year (``UNAUTHORISED_REGISTRY``);
* API tokens of the practice and the registry, a revoked one and an expired one;
* a second organisation of every type (``OTHER``), so every route can be asked about someone
  else's organisation as well as about one that does not exist (``MISSING``);
* stored data: Miami Medical's group submission for 2022 with a set from the practice and one
  from its registry (and Jordan Rivera's, whose sets the DELETE route may delete), Greenville
  Podiatry's submission (nobody here may see it; its group opted in first); a pending registry
  upload of each registry; role requests, tokens and client authorisations to decide or revoke
  (the 2020 authorisations).

The clock is pinned (``CLOCK``) inside the 2022 election window, which is also a submission
period. Every principal the tests act as is a :class:`Caller`: its grants and client
authorisations are written here as data, so the expected answers come from the permission
matrix and this data, never from the code under test."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select, update

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import OrganisationType, Role
from openqpp.core.submissions import Submission
from openqpp.db.models import (
    ApiToken,
    ClientAuthorisation,
    MeasurementRow,
    MeasurementSetRow,
    Organisation,
    RoleGrant,
    SubmissionReceipt,
    Upload,
)
from openqpp.services import access, audit, database
from openqpp.services.access.organisations import find
from openqpp.services.elections import records
from openqpp.services.submissions import store, uploads
from openqpp.settings import Settings
from tests.support.elections_world import (
    APM_ENTITY,
    CLIENTS,
    LAKESIDE,
    NOW_2022,
    PASSWORD,
    RIVERA,
    VIRTUAL_GROUP,
    World,
)
from tests.support.registry_uploads import qpp_json

CLOCK = "2023-03-19T20:00:00-04:00"
"""NOW_2022: inside the 2022 election window (a submission period is open)."""
YEAR = 2022
CONTEXT = audit.RequestContext(request_id="req-security", client_address="127.0.0.1")

PRACTICE, REGISTRY = OrganisationType.PRACTICE, OrganisationType.REGISTRY
VIRTUAL, APM = OrganisationType.VIRTUAL_GROUP, OrganisationType.APM_ENTITY

MEMBER_OF = {
    PRACTICE: MIAMI_MEDICAL,
    REGISTRY: "AAN-QCDR",
    VIRTUAL: VIRTUAL_GROUP,
    APM: APM_ENTITY,
}
"""The organisation of each type the world's users and tokens belong to."""
OTHER = {
    PRACTICE: LAKESIDE,
    REGISTRY: "OTHER-QR",
    VIRTUAL: "VG-OTHER-1",
    APM: "A9999",
}
"""Another organisation of each type: it exists, and none of the callers belongs to it."""
MISSING = {
    PRACTICE: "999000111",
    REGISTRY: "NONE-QR",
    VIRTUAL: "VG-NONE-1",
    APM: "A0000",
}
"""Identifiers no organisation has (the practice's TIN ends like OTHER's: same masked form)."""
UNAUTHORISED_REGISTRY = "OTHER-QR"
"""A registry no practice authorised for 2019 or 2022 (its staff user and uploads)."""
OTHER_NAMES = {VIRTUAL: "Bayou Virtual Group", APM: "Delta ACO"}


def user_id(kind: OrganisationType, role: Role) -> str:
    return f"sec.{kind.value}.{role.value}".replace("_", "-")


@dataclass(frozen=True)
class Link:
    """A client authorisation as data: ``registry`` may act for ``tin`` (``npi`` only, when set)
    in ``year``."""

    registry: str
    tin: str
    year: int
    npi: str | None = None


LINKS = (
    *(Link(registry, tin, year, npi) for registry, tin, year, npi in CLIENTS),
    Link("AAN-QCDR", MIAMI_MEDICAL, 2020),
    Link("OTHER-QR", LAKESIDE, 2020),
)
"""Every client authorisation of the world (the 2020 ones are there to be revoked)."""


@dataclass(frozen=True)
class Caller:
    """Someone the tests act as: anonymous, a signed-in user, or an API token."""

    name: str
    kind: Literal["anonymous", "user", "token", "dead_token"]
    grants: tuple[tuple[Role, OrganisationType, str], ...] = ()
    home: tuple[OrganisationType, str] = (PRACTICE, MIAMI_MEDICAL)
    """The organisation "own" means for this caller (anonymous: the practice)."""
    user: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.kind == "user"

    @property
    def authenticated(self) -> bool:
        """An API principal: a session or a valid token."""
        return self.kind in ("user", "token")


def callers() -> tuple[Caller, ...]:
    """Anonymous; every role at every organisation type; the registry without client
    authorisations; the practice's and the registry's API tokens (Staff Users); a revoked and
    an expired token."""
    out = [Caller("anonymous", "anonymous")]
    matrix = access.load_matrix()
    for kind in OrganisationType:
        for role in matrix.offered_roles(kind):
            out.append(
                Caller(
                    f"{kind.value}-{role.value}",
                    "user",
                    ((role, kind, MEMBER_OF[kind]),),
                    (kind, MEMBER_OF[kind]),
                    user_id(kind, role),
                )
            )
    out.append(
        Caller(
            "unauthorised_registry-staff_user",
            "user",
            ((Role.STAFF_USER, REGISTRY, UNAUTHORISED_REGISTRY),),
            (REGISTRY, UNAUTHORISED_REGISTRY),
            "sec.lone-registry.staff-user",
        )
    )
    for kind in (PRACTICE, REGISTRY):
        out.append(
            Caller(
                f"{kind.value}-token",
                "token",
                ((Role.STAFF_USER, kind, MEMBER_OF[kind]),),
                (kind, MEMBER_OF[kind]),
            )
        )
    out.append(Caller("revoked-token", "dead_token"))
    out.append(Caller("expired-token", "dead_token"))
    return tuple(out)


@dataclass
class Prepared:
    """What :func:`prepare` made, by name: tokens (secrets), objects the routes address."""

    tokens: dict[str, str] = field(default_factory=dict)
    """Caller name -> API token (practice-token, registry-token, revoked-token, expired-token)."""
    ids: dict[str, Any] = field(default_factory=dict)

    def id(self, name: str) -> Any:
        return self.ids[name]


def _org_id(session: Any, kind: OrganisationType, identifier: str) -> int:
    row = find(session, kind, identifier)
    assert row is not None, (kind, identifier)
    return row.id


def prepare(url: str) -> Prepared:
    """Add the callers, organisations, tokens and data described in the module docstring to a
    fresh copy of the elections world at ``url``."""
    world = World(url, "sqlite")
    made = Prepared()
    with world.factory.begin() as session:
        for kind in (VIRTUAL, APM):
            access.create(
                session,
                kind=kind,
                identifier=OTHER[kind],
                name=OTHER_NAMES[kind],
                apm_model="Medicare Shared Savings Program" if kind is APM else None,
            )
        for caller in callers():
            if caller.kind != "user":
                continue
            assert caller.user is not None
            access.create_user(
                session,
                user_id=caller.user,
                name=caller.name.replace("-", " ").replace("_", " ").title(),
                email=f"{caller.user}@example.org",
                password=PASSWORD,
            )
            for role, kind, identifier in caller.grants:
                access.operator_grant(
                    session, user_id=caller.user, organisation_type=kind, identifier=identifier,
                    role=role,
                )  # fmt: skip
        access.create_user(
            session,
            user_id="sec.requester",
            name="Role Requester",
            email="sec.requester@example.org",
            password=PASSWORD,
        )
        for link in LINKS[len(CLIENTS) :]:
            access.operator_authorise(
                session,
                practice_tin=link.tin,
                registry_vendor_id=link.registry,
                performance_year=link.year,
                evidence="security test agreement",
            )
    # role requests to decide: at each organisation of each type (own and other)
    requester = world.principal("sec.requester")
    with world.factory.begin() as session:
        for table in (MEMBER_OF, OTHER):
            for kind, identifier in table.items():
                grant = access.request_role(
                    session,
                    principal=requester,
                    organisation_type=kind,
                    identifier=identifier,
                    role="staff_user",
                    reason="security tests",
                    context=CONTEXT,
                )
                made.ids[f"grant.{kind.value}.{identifier}"] = grant.id
    # API tokens: the callers' and ones to revoke, at each practice and registry
    with world.factory.begin() as session:
        for kind, table in ((PRACTICE, MEMBER_OF), (REGISTRY, MEMBER_OF)):
            so = world.principal(user_id(kind, Role.SECURITY_OFFICIAL))
            for label in ("token", "revoked-token", "expired-token", "to-revoke"):
                if kind is REGISTRY and label in ("revoked-token", "expired-token"):
                    continue
                created = access.create_token(
                    session,
                    principal=so,
                    organisation_type=kind,
                    identifier=table[kind],
                    label=f"security {label}",
                    expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
                    context=CONTEXT,
                )
                if label == "token":
                    made.tokens[f"{kind.value}-token"] = created.token
                elif label == "to-revoke":
                    made.ids[f"token.{kind.value}.{table[kind]}"] = created.info.id
                else:
                    made.tokens[label] = created.token
                    made.ids[label] = created.info.id
        for kind, owner in ((PRACTICE, "dana.lake"), (REGISTRY, "olga.other")):
            created = access.create_token(
                session,
                principal=world.principal(owner),
                organisation_type=kind,
                identifier=OTHER[kind],
                label="someone else's token",
                context=CONTEXT,
            )
            made.ids[f"token.{kind.value}.{OTHER[kind]}"] = created.info.id
        practice_so = world.principal(user_id(PRACTICE, Role.SECURITY_OFFICIAL))
        access.revoke_token(
            session,
            principal=practice_so,
            organisation_type=PRACTICE,
            identifier=MIAMI_MEDICAL,
            token_id=made.ids["revoked-token"],
            context=CONTEXT,
        )
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == made.ids["expired-token"])
            .values(expires_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        )
        for tin in (MIAMI_MEDICAL, LAKESIDE):
            made.ids[f"client.{tin}"] = session.scalars(
                select(ClientAuthorisation.id).where(
                    ClientAuthorisation.practice_fk == _org_id(session, PRACTICE, tin),
                    ClientAuthorisation.performance_year == 2020,
                )
            ).one()
    _data(world, made)
    database.engine_for(url).dispose()
    return made


def ia_document(tin: str, *activities: str, npi: str | None = None) -> Submission:
    """A 2022 submission of one Improvement Activities set (each activity attested)."""
    return Submission.from_qpp_json(
        {
            "performanceYear": YEAR,
            "entityType": "individual" if npi else "group",
            "taxpayerIdentificationNumber": tin,
            **({"nationalProviderIdentifier": npi} if npi else {}),
            "measurementSets": [
                {
                    "category": "ia",
                    "submissionMethod": "registry",
                    "performanceStart": f"{YEAR}-01-01",
                    "performanceEnd": f"{YEAR}-12-31",
                    "measurements": [{"measureId": a, "value": True} for a in activities],
                }
            ],
        }
    )


KEEP = {PRACTICE: "IA_EPA_1", REGISTRY: "IA_BE_4"}
"""The activity each submitter's Miami Medical set keeps (the routes read and change it)."""
DOOMED = {PRACTICE: "IA_BE_6", REGISTRY: "IA_PM_2"}
"""The activity each submitter's set has for the DELETE measurement route."""


def _accept(world: World, user: str, submission: Submission) -> store.Accepted:
    with world.factory.begin() as session:
        return store.accept(
            session,
            principal=world.principal(user),
            submission=submission,
            context=CONTEXT,
            channel="api",
            now=NOW_2022,
        )


def _data(world: World, made: Prepared) -> None:
    """Stored submissions and registry uploads (see the module docstring)."""
    with world.factory.begin() as session:
        records.confirm(
            session,
            principal=world.principal("lee.wong"),
            year=YEAR,
            level="group",
            tin=GREENVILLE_PODIATRY,
            kind="opt_in",
            typed="confirm",
            now=NOW_2022,
            context=CONTEXT,
        )
    submitters = {
        PRACTICE: user_id(PRACTICE, Role.SECURITY_OFFICIAL),
        REGISTRY: user_id(REGISTRY, Role.SECURITY_OFFICIAL),
    }
    for kind, user in submitters.items():
        main = _accept(world, user, ia_document(MIAMI_MEDICAL, KEEP[kind], DOOMED[kind]))
        made.ids["submission.main"] = main.submission_id
        clinician = _accept(world, user, ia_document(MIAMI_MEDICAL, KEEP[kind], npi=RIVERA))
        made.ids["submission.clinician"] = clinician.submission_id
    other = _accept(world, "lee.wong", ia_document(GREENVILLE_PODIATRY, "IA_EPA_1"))
    made.ids["submission.other"] = other.submission_id
    with world.factory() as session:
        for which, submission_id in (
            ("main", made.ids["submission.main"]),
            ("doomed", made.ids["submission.clinician"]),
            ("other", other.submission_id),
        ):
            for row in session.scalars(
                select(MeasurementSetRow).where(MeasurementSetRow.submission_id == submission_id)
            ):
                org = session.get(Organisation, row.submitter_organisation_id)
                assert org is not None
                made.ids[f"set.{which}.{org.kind.value}"] = row.id
                if which == "doomed":
                    continue
                for measurement in session.scalars(
                    select(MeasurementRow).where(MeasurementRow.measurement_set_id == row.id)
                ):
                    role = "doomed" if measurement.measure_id in DOOMED.values() else which
                    made.ids[f"measurement.{role}.{org.kind.value}"] = measurement.id
        for which, submission_id in (
            ("main", made.ids["submission.main"]),
            ("clinician", made.ids["submission.clinician"]),
            ("other", other.submission_id),
        ):
            for receipt in session.scalars(
                select(SubmissionReceipt)
                .where(SubmissionReceipt.submission_id == submission_id)
                .order_by(SubmissionReceipt.version)
            ):
                org = session.get(Organisation, receipt.acting_organisation_id)
                assert org is not None
                made.ids[f"receipt.{which}.{org.kind.value}"] = receipt.id
    for vendor, user, tin, npi in (
        ("AAN-QCDR", user_id(REGISTRY, Role.SECURITY_OFFICIAL), MIAMI_MEDICAL, RIVERA),
        ("OTHER-QR", "olga.other", LAKESIDE, None),
    ):
        with world.factory.begin() as session:
            staged = uploads.stage_upload(
                session,
                principal=world.principal(user),
                vendor_id=vendor,
                files=[("data.json", qpp_json(tin, npi=npi, year=YEAR))],
                now=NOW_2022,
                context=CONTEXT,
                year=YEAR,
            )
            made.ids[f"upload.{vendor}"] = staged.id
    with world.factory() as session:
        assert session.get(Upload, made.ids["upload.AAN-QCDR"]) is not None
        assert session.scalars(select(RoleGrant).where(RoleGrant.status == "pending")).first()


@dataclass(frozen=True)
class SecurityWorld:
    url: str
    kind: str
    made: Prepared


def security_settings(url: str, **overrides: object) -> Settings:
    """The app's settings: JSON logs, the clock pinned in the 2022 submission period, and rate
    limits out of the way (the matrix sends many requests per caller)."""
    values: dict[str, object] = {
        "database_url": url,
        "log_json": True,
        "clock": CLOCK,
        "rate_limit_burst": 1_000_000,
        "rate_limit_per_second": 1_000_000,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
