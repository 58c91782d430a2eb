"""What the election use cases share: the year's policy, the run relied on, an entity's
standing in it, the election it already has, who is acting, and elections as the pages and
APIs show them."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, Action, Decision, OrganisationType
from openqpp.core.common import ApmEntityId, Npi, Tin
from openqpp.core.elections import (
    ActorKind,
    Authority,
    Channel,
    ElectionKind,
    ElectionNotAuthorised,
    Eligibility,
    Entity,
    ExistingElection,
    InvalidElectionRequest,
    Pathway,
    Window,
)
from openqpp.core.eligibility import Level, Status
from openqpp.db.models import (
    DeterminationRun,
    Election,
    EligibilityResultRow,
    Organisation,
    PublicReportingOptOut,
)
from openqpp.policy import Policy, UnsupportedPerformanceYear, load_policy
from openqpp.services.access.authorize import PracticeDirectory, authorize, practice_directory
from openqpp.services.access.principals import Principal
from openqpp.services.eligibility_lookup import (
    RecordedElection,
    existing_election,
    keys_by_level,
    latest_run,
    recorded_elections,
    virtual_groups_of,
)


def begin_writes(session: Session) -> None:
    """Start the write transaction now, before the first SAVEPOINT.

    pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT issued first
    would itself start the transaction, and SQLite commits when that outermost savepoint is
    released: the election would commit alone, before its audit record. ``BEGIN IMMEDIATE``
    makes one transaction of everything that follows and takes SQLite's write lock (waiting up
    to the busy timeout), so racing writers queue instead of failing. PostgreSQL needs nothing.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.driver_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_POLICY_LOADING = threading.Lock()
"""One thread reads a year's policy files; the others wait for it instead of each parsing the
same YAML (a cold worker meeting many concurrent elections would otherwise spend seconds)."""


def policy_for(year: int) -> Policy:
    """The year's policy; an unsupported year is a user error, not a crash."""
    try:
        with _POLICY_LOADING:
            return load_policy(int(year))
    except UnsupportedPerformanceYear as exc:
        raise InvalidElectionRequest(
            str(exc), fix="Choose a supported performance year.", code=exc.code
        ) from None


def window_for(year: int) -> Window:
    return Window.for_policy(policy_for(year))


def entity_from(
    level: Level | str,
    *,
    tin: str | None = None,
    npi: str | None = None,
    identifier: str | None = None,
) -> Entity:
    """An entity from what a caller typed (identifiers validated: InvalidValue when not);
    ``identifier`` is the APM entity or virtual group id."""
    chosen = Level(level)
    if chosen is Level.INDIVIDUAL:
        return Entity.individual(str(Tin(tin or "")), str(Npi(npi or "")))
    if chosen is Level.GROUP:
        return Entity.group(str(Tin(tin or "")))
    if chosen is Level.APM_ENTITY:
        return Entity.apm_entity(str(ApmEntityId(identifier or "")))
    return Entity.virtual_group(str(identifier or "").strip().upper())


def run_for(session: Session, year: int) -> DeterminationRun:
    """The run an election relies on: the newest determination run of the year."""
    return latest_run(session, year)


# Built once (bind parameters): the election rules ask these for every entity elected.
_STATUSES = select(
    EligibilityResultRow.level, EligibilityResultRow.entity_key, EligibilityResultRow.status
).where(
    EligibilityResultRow.run_id == bindparam("run"),
    EligibilityResultRow.level == bindparam("level"),
    EligibilityResultRow.entity_key.in_(bindparam("keys", expanding=True)),
)
_ELECTION_OF_ENTITY = select(Election).where(
    Election.performance_year == bindparam("year"),
    Election.level == bindparam("level"),
    Election.entity_key == bindparam("key"),
)
_OPT_OUT_OF_ELECTION = select(PublicReportingOptOut.id).where(
    PublicReportingOptOut.election_id == bindparam("election")
)

EntityKey = tuple[str, str]
"""(level, entity key), as in ``eligibility_results`` and ``elections``."""


@dataclass(frozen=True, slots=True)
class Standing:
    """Where entities stand in a run: their statuses and their TINs' virtual groups."""

    run: DeterminationRun
    statuses: Mapping[EntityKey, str]
    virtual_groups: Mapping[str, str]

    def eligibility(self, run: DeterminationRun, entity: Entity) -> Eligibility:
        if run.id != self.run.id:
            raise RuntimeError("the standing was read for another determination run")
        status = self.statuses.get((entity.level.value, entity.key))
        return Eligibility(
            status=Status(status) if status else None,
            performance_year=run.performance_year,
            run_number=run.run_number,
            virtual_group_id=self.virtual_groups.get(entity.tin or "")
            if entity.level is Level.GROUP
            else None,
        )


def standing(session: Session, run: DeterminationRun, entities: Iterable[Entity]) -> Standing:
    """The :class:`Standing` of ``entities`` in ``run``: one statement per level and 500
    entities, and one for the virtual groups of the groups' TINs."""
    keys = {(entity.level.value, entity.key) for entity in entities}
    statuses: dict[EntityKey, str] = {}
    for level, chunk in keys_by_level(keys):
        for row in session.execute(_STATUSES, {"run": run.id, "level": level, "keys": chunk}):
            statuses[(row.level, row.entity_key)] = row.status
    group_tins = [key for level, key in keys if level == Level.GROUP.value]
    virtual_groups = virtual_groups_of(session, run, group_tins) if group_tins else {}
    return Standing(run, statuses, virtual_groups)


def eligibility_of(session: Session, run: DeterminationRun, entity: Entity) -> Eligibility:
    return standing(session, run, [entity]).eligibility(run, entity)


@dataclass(frozen=True, slots=True)
class ElectionFacts:
    """What the election rules ask about the entities of one request, read at once: a batch
    of 25 asked entity by entity made some 150 statements. Entities not asked about have no
    status, no virtual group and no election here; :func:`election_facts` reads them."""

    standing: Standing | None
    """None when the year has no run (the rules refuse before asking)."""
    elections: Mapping[EntityKey, RecordedElection]
    directory: PracticeDirectory

    def eligibility(self, run: DeterminationRun, entity: Entity) -> Eligibility:
        if self.standing is None:
            raise RuntimeError("election facts were read without a determination run")
        return self.standing.eligibility(run, entity)

    def existing(self, entity: Entity) -> ExistingElection | None:
        found = self.elections.get((entity.level.value, entity.key))
        return found.election if found is not None else None

    def practice_id(self, entity: Entity) -> int | None:
        practice = self.directory.practices.get(entity.tin or "")
        return practice.id if practice is not None else None


def election_facts(
    session: Session,
    run: DeterminationRun | None,
    year: int,
    entities: Iterable[Entity],
    *,
    directory: PracticeDirectory | None = None,
) -> ElectionFacts:
    """The :class:`ElectionFacts` of ``entities`` in ``run`` (None: the year has no run) and
    ``year``; ``directory``: their practices when already read."""
    listed = list(entities)
    if directory is None:
        directory = practice_directory(session, {e.tin for e in listed if e.tin is not None})
    return ElectionFacts(
        standing(session, run, listed) if run is not None else None,
        recorded_elections(session, year=year, keys={(e.level.value, e.key) for e in listed}),
        directory,
    )


def election_row(session: Session, year: int, entity: Entity) -> Election | None:
    return session.scalar(
        _ELECTION_OF_ENTITY, {"year": year, "level": entity.level.value, "key": entity.key}
    )


def existing_for(session: Session, year: int, entity: Entity) -> ExistingElection | None:
    row = election_row(session, year, entity)
    return existing_election(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Acting:
    """Who acts and through which role: the rules' :class:`Authority`, and for practice
    representatives and registries the permission matrix's decision."""

    authority: Authority
    decision: Decision | None

    @property
    def acting_organisation_id(self) -> int | None:
        return self.decision.grant.organisation.id if self.decision else None

    @property
    def role(self) -> str | None:
        return self.decision.grant.role.value if self.decision else None

    @property
    def via_registry(self) -> bool:
        return self.authority.kind is ActorKind.REGISTRY


def provisional_authority(principal: Principal) -> Authority:
    """Before the matrix is asked: the operator, or someone who must pass the matrix."""
    if principal.kind == "operator":
        return Authority(ActorKind.OPERATOR)
    return Authority(ActorKind.PRACTICE_REPRESENTATIVE)


def acting(
    session: Session,
    *,
    principal: Principal,
    entity: Entity,
    year: int,
    now: dt.datetime,
    action: Action = Action.ELECT,
    directory: PracticeDirectory | None = None,
) -> Acting:
    """Ask the permission matrix whether ``principal`` may ``action`` for the entity's practice
    (or clinician) in ``year``. Refusals become :class:`ElectionNotAuthorised` (the matrix's
    own code kept as ``access_code``), with the same words whether or not the practice exists."""
    if principal.kind == "operator":
        return Acting(Authority(ActorKind.OPERATOR), None)
    if entity.level not in (Level.INDIVIDUAL, Level.GROUP) or entity.tin is None:
        return Acting(provisional_authority(principal), None)
    try:
        decision = authorize(
            session,
            principal=principal,
            action=action,
            organisation_type=OrganisationType.PRACTICE,
            identifier=entity.tin,
            npi=entity.npi,
            performance_year=year,
            at=now,
            directory=directory,
        )
    except AccessError as exc:
        raise ElectionNotAuthorised(exc.message, fix=exc.fix, access_code=exc.code) from None
    kind = (
        ActorKind.REGISTRY
        if decision.grant.organisation.type is OrganisationType.REGISTRY
        else ActorKind.PRACTICE_REPRESENTATIVE
    )
    return Acting(Authority(kind, decision.grant.role.value), decision)


@dataclass(frozen=True, slots=True)
class ElectionInfo:
    """A recorded election as pages, the API and the CLI show it."""

    id: int
    performance_year: int
    level: Level
    entity_key: str
    tin: str | None
    npi: str | None
    apm_entity_id: str | None
    kind: ElectionKind
    pathway: Pathway
    decided_at: dt.datetime
    run_number: int
    status_at_election: str
    actor: str
    actor_name: str
    role: str | None
    actor_kind: ActorKind
    acting_organisation: str | None
    on_behalf_of: str | None
    channel: Channel
    confirmation_text: str
    public_reporting_opt_out: bool = False

    @property
    def entity(self) -> Entity:
        return Entity(self.level, tin=self.tin, npi=self.npi, identifier=self.apm_entity_id)

    @property
    def opted_in(self) -> bool:
        return self.kind is ElectionKind.OPT_IN

    def as_dict(self) -> dict[str, object]:
        return {
            "electionId": self.id,
            "performanceYear": self.performance_year,
            "level": self.level.value,
            "tin": self.tin,
            "npi": self.npi,
            "apmEntityId": self.apm_entity_id,
            "decision": self.kind.value,
            "pathway": self.pathway.value,
            "decidedAt": iso(self.decided_at),
            "runNum": self.run_number,
            "statusAtElection": self.status_at_election,
            "actor": self.actor,
            "role": self.role,
            "actingOrganisation": self.acting_organisation,
            "onBehalfOf": self.on_behalf_of,
            "channel": self.channel.value,
            "publicReportingOptOut": self.public_reporting_opt_out,
        }


def iso(moment: dt.datetime | None) -> str | None:
    """UTC with a Z, milliseconds, as CMS's optInDecisionDate (2020-01-27T16:57:38.646Z)."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _org_name(session: Session, organisation_id: int | None) -> str | None:
    if organisation_id is None:
        return None
    row = session.get(Organisation, organisation_id)
    return row.name if row is not None else None


def election_info(
    session: Session, row: Election, *, opted_out: bool | None = None
) -> ElectionInfo:
    """The election as shown; ``opted_out`` when the caller knows it (an election inserted in
    this transaction has no public reporting opt-out yet), else read."""
    if opted_out is None:
        opted_out = session.scalar(_OPT_OUT_OF_ELECTION, {"election": row.id}) is not None
    return ElectionInfo(
        id=row.id,
        performance_year=row.performance_year,
        level=Level(row.level),
        entity_key=row.entity_key,
        tin=row.tin,
        npi=row.npi,
        apm_entity_id=row.apm_entity_id,
        kind=ElectionKind(row.kind),
        pathway=Pathway(row.pathway),
        decided_at=row.decided_at,
        run_number=row.run_number,
        status_at_election=row.status_at_election,
        actor=row.actor,
        actor_name=row.actor_name,
        role=row.role,
        actor_kind=ActorKind(row.actor_kind),
        acting_organisation=_org_name(session, row.acting_organisation_id),
        on_behalf_of=_org_name(session, row.on_behalf_of_organisation_id),
        channel=Channel(row.channel),
        confirmation_text=row.confirmation_text,
        public_reporting_opt_out=opted_out,
    )


def list_elections(
    session: Session, *, year: int | None = None, tin: str | None = None, limit: int = 1000
) -> list[ElectionInfo]:
    """Recorded elections, newest first (for the operator)."""
    query = select(Election).order_by(Election.id.desc()).limit(max(1, min(limit, 100_000)))
    if year is not None:
        query = query.where(Election.performance_year == year)
    if tin is not None:
        query = query.where(Election.tin == str(Tin(tin)))
    return [election_info(session, row) for row in session.scalars(query)]
