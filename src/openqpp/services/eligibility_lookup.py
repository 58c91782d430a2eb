"""Reading eligibility results: the Participation Status lookup (by NPI), rosters and statistics.

Results are read from the newest determination run of a performance year (or the run asked for)
and turned into views whose words come from the core's reasons. Each view carries the entity's
election for the year, if it has one (a confirmed election, or the opt-in a virtual group
election implies for an opt-in eligible group it lists), so every page and API shows
"MIPS eligible via opt-in" once an entity opted in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeAlias

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Row,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from openqpp.core.access import Action, OrganisationType
from openqpp.core.common import Npi, Tin
from openqpp.core.elections import (
    ElectionKind,
    ElectionSource,
    Eligibility,
    Entity,
    ExistingElection,
    participation_display,
    virtual_group_election,
)
from openqpp.core.eligibility import Criterion, Level, Reason, SpecialStatus, Status
from openqpp.core.errors import OpenQppError
from openqpp.db.models import (
    DeterminationRun,
    Election,
    EligibilityResultRow,
    Organisation,
    OrganisationKind,
    PublicReportingOptOut,
    RunApmParticipant,
    RunClinician,
    RunVirtualGroupMember,
)
from openqpp.policy import load_policy
from openqpp.services.access import Principal, allowed
from openqpp.services.access.authorize import resolve_target


class NoDeterminationRun(OpenQppError):
    code = "OQ-ELIG-404-RUN"
    http_status = 404


class ClinicianNotFound(OpenQppError):
    code = "OQ-ELIG-404-NPI"
    http_status = 404


# The lookup's statements, built once with bind parameters (``expanding`` for IN lists) and
# read as plain rows: SQLAlchemy then only finds the compiled form in its cache, where building
# each query and loading ORM objects cost several times the database's own work (an NPI lookup
# made ~10 queries; bench/load.py). The rows carry the same names as the models' attributes.
_RESULTS = EligibilityResultRow.__table__
_ELECTIONS = Election.__table__
_OPT_OUTS = PublicReportingOptOut.__table__
_ORGANISATIONS = Organisation.__table__
_PARTICIPANTS = RunApmParticipant.__table__
_VG_MEMBERS = RunVirtualGroupMember.__table__
_CLINICIANS = RunClinician.__table__


def _each(name: str) -> BindParameter[Any]:
    return bindparam(name, expanding=True)


RESULTS_BY_KEY = select(_RESULTS).where(
    _RESULTS.c.run_id == bindparam("run"),
    _RESULTS.c.level.in_(_each("levels")),
    _RESULTS.c.entity_key.in_(_each("keys")),
)
"""Results of a run by level(s) and entity keys (the unique index on run, level, entity key)."""
_CLINICIAN_FIELDS = (
    "first_name",
    "last_name",
    "clinician_type",
    "specialty_code",
    "first_enrolled",
    "qp_status",
)
"""A clinician's enrolment facts, as a lookup shows them."""
_VG_MEMBERS_BY_TIN = select(_VG_MEMBERS).where(
    _VG_MEMBERS.c.run_id == bindparam("run"), _VG_MEMBERS.c.tin.in_(_each("tins"))
)
_ELECTIONS_BY_KEY = (
    select(
        _ELECTIONS.c.id,
        _ELECTIONS.c.level,
        _ELECTIONS.c.entity_key,
        _ELECTIONS.c.kind,
        _ELECTIONS.c.decided_at,
        _OPT_OUTS.c.id.label("opt_out_id"),
    )
    .select_from(_ELECTIONS.outerjoin(_OPT_OUTS, _OPT_OUTS.c.election_id == _ELECTIONS.c.id))
    .where(
        _ELECTIONS.c.performance_year == bindparam("year"),
        _ELECTIONS.c.level.in_(_each("levels")),
        _ELECTIONS.c.entity_key.in_(_each("keys")),
    )
)

AnyRow: TypeAlias = Row[*tuple[Any, ...]]

_RUNS = DeterminationRun.__table__


def _run_choice(*columns: Any, year: bool, run_number: bool) -> Select[Any]:
    """The run a read is about: run ``run_number`` (of ``year``, else of the newest year that
    has that run), or the newest run of ``year``, or the newest run of all. One rule for the
    lookup's statement (columns of the table) and :func:`find_run` (the ORM entity)."""
    query = (
        select(*columns)
        .order_by(_RUNS.c.performance_year.desc(), _RUNS.c.run_number.desc())
        .limit(1)
    )
    if year:
        query = query.where(_RUNS.c.performance_year == bindparam("year"))
    if run_number:
        query = query.where(_RUNS.c.run_number == bindparam("run_number"))
    return query


_CHOICES = [(year, run_number) for year in (False, True) for run_number in (False, True)]
"""Which of ``year`` and ``run_number`` a read names: each way has its prebuilt statements."""

_RUN_CHOICE = {
    choice: _run_choice(DeterminationRun, year=choice[0], run_number=choice[1])
    for choice in _CHOICES
}

_LOOKUP_EXTRAS: dict[str, Any] = {
    "apm_entity_id": _PARTICIPANTS.c.apm_entity_id.type,
    "apm_model": _PARTICIPANTS.c.apm_model.type,
    "mips_apm": _PARTICIPANTS.c.mips_apm.type,
    "advanced_apm": _PARTICIPANTS.c.advanced_apm.type,
    "virtual_group_id": _VG_MEMBERS.c.virtual_group_id.type,
    "practice_name": _ORGANISATIONS.c.name.type,
    "practice_address": _ORGANISATIONS.c.address.type,
    "election_id": _ELECTIONS.c.id.type,
    "election_kind": _ELECTIONS.c.kind.type,
    "election_decided_at": _ELECTIONS.c.decided_at.type,
    "opt_out_id": _OPT_OUTS.c.id.type,
    "run_year": _RUNS.c.performance_year.type,
    "run_number": _RUNS.c.run_number.type,
    "policy_unverified": _RUNS.c.policy_unverified.type,
    **{name: _CLINICIANS.c[name].type for name in _CLINICIAN_FIELDS},
}
"""The lookup statement's columns besides role, NPI, TIN and the result's own: each branch
fills those it has, the others are typed NULLs (a UNION's branches must agree on types)."""


def _related_to_npis(*, year: bool, run_number: bool) -> CompoundSelect[Any]:
    """Everything an NPI lookup shows, in one statement (it was ten: a lookup's cost is mostly
    per statement, not per row). The run is chosen inside it (:func:`_run_choice`), and each
    row is labelled with its ``role`` and the NPI and TIN it was reached through:

    - ``run``: the chosen run (year, number, unverified policy values) with each asked-for NPI
      the run enrolled (names, type, QP status), or once with the clinician columns NULL when
      it enrolled none; no rows at all means there is no such run;
    - ``individual``: the NPI's results at each TIN, with the registered practice's name;
    - ``group``: the group result of each of those TINs;
    - ``apm``: the NPI's APM participations (TIN, model) with the APM entity's result, if any;
    - ``vg``: the virtual groups listing each TIN with the virtual group's result, if any.

    Result columns keep the table's names (for :func:`scenario_of`); a branch whose result is
    missing has them NULL. Elections are of the run's year, joined on (level, entity key) by
    the unique index; a public reporting opt-out on the election sets ``opt_out_id``."""
    chosen = _run_choice(
        _RUNS.c.id,
        _RUNS.c.performance_year,
        _RUNS.c.run_number,
        _RUNS.c.policy_unverified,
        year=year,
        run_number=run_number,
    ).cte("chosen_run")
    run_id = select(chosen.c.id).scalar_subquery()
    run_year = select(chosen.c.performance_year).scalar_subquery()
    individual = _RESULTS.alias("i")
    participants = _PARTICIPANTS.alias("p")
    members = _VG_MEMBERS.alias("m")
    practices = _ORGANISATIONS.alias("org")

    def branch(
        role: str,
        result: Any,
        source: Any,
        npi: Any,
        tin: Any,
        where: Sequence[Any],
        **values: Any,
    ) -> Select[Any]:
        if result is not None:
            election = _ELECTIONS.alias(f"e_{role}")
            opt_out = _OPT_OUTS.alias(f"o_{role}")
            source = source.outerjoin(
                election,
                (election.c.performance_year == run_year)
                & (election.c.level == result.c.level)
                & (election.c.entity_key == result.c.entity_key),
            ).outerjoin(opt_out, opt_out.c.election_id == election.c.id)
            values |= {
                "election_id": election.c.id,
                "election_kind": election.c.kind,
                "election_decided_at": election.c.decided_at,
                "opt_out_id": opt_out.c.id,
            }
        own = list(result.c) if result is not None else []
        return (
            select(
                literal_column(f"'{role}'", String()).label("role"),
                npi.label("npi_of"),
                tin.label("via_tin"),
                *(
                    values.get(name, null_of(kind)).label(name)
                    for name, kind in _LOOKUP_EXTRAS.items()
                ),
                *(own or (null_of(c.type).label(c.name) for c in _RESULTS.c)),
            )
            .select_from(source)
            .where(*where)
        )

    def result_of(result: Any, run: Any, level: Level, key: Any) -> Any:
        """The join to ``result`` (an alias of the results) of ``level`` keyed ``key``."""
        return (
            (result.c.run_id == run) & (result.c.level == level.value)
            & (result.c.entity_key == key)
        )  # fmt: skip

    def individual_of(table: Any) -> list[Any]:
        return [
            table.c.npi.in_(_each("npis")),
            table.c.run_id == run_id,
            table.c.level == Level.INDIVIDUAL.value,
        ]

    clinician = _CLINICIANS.alias("c")
    run = branch(
        "run",
        None,
        chosen.outerjoin(
            clinician, (clinician.c.run_id == chosen.c.id) & clinician.c.npi.in_(_each("npis"))
        ),
        clinician.c.npi,
        null_of(String()),
        [],
        run_year=chosen.c.performance_year,
        run_number=chosen.c.run_number,
        policy_unverified=chosen.c.policy_unverified,
        **{name: clinician.c[name] for name in _CLINICIAN_FIELDS},
    )
    result = _RESULTS.alias("r")
    own = branch(
        "individual",
        result,
        result.outerjoin(
            practices,
            (practices.c.kind == OrganisationKind.PRACTICE)
            & (practices.c.identifier == result.c.tin),
        ),
        result.c.npi,
        result.c.tin,
        individual_of(result),
        practice_name=practices.c.name,
        practice_address=practices.c.address,
    )
    result = _RESULTS.alias("g")
    group = branch(
        "group",
        result,
        individual.join(
            result, result_of(result, individual.c.run_id, Level.GROUP, individual.c.tin)
        ),
        individual.c.npi,
        individual.c.tin,
        individual_of(individual),
    )
    result = _RESULTS.alias("a")
    apm = branch(
        "apm",
        result,
        participants.outerjoin(
            result,
            result_of(
                result, participants.c.run_id, Level.APM_ENTITY, participants.c.apm_entity_id
            ),
        ),
        participants.c.npi,
        participants.c.tin,
        [participants.c.run_id == run_id, participants.c.npi.in_(_each("npis"))],
        apm_entity_id=participants.c.apm_entity_id,
        apm_model=participants.c.apm_model,
        mips_apm=participants.c.mips_apm,
        advanced_apm=participants.c.advanced_apm,
    )
    individual_vg = _RESULTS.alias("iv")
    result = _RESULTS.alias("v")
    vg = branch(
        "vg",
        result,
        individual_vg.join(
            members,
            (members.c.run_id == individual_vg.c.run_id) & (members.c.tin == individual_vg.c.tin),
        ).outerjoin(
            result,
            result_of(result, members.c.run_id, Level.VIRTUAL_GROUP, members.c.virtual_group_id),
        ),
        individual_vg.c.npi,
        individual_vg.c.tin,
        individual_of(individual_vg),
        virtual_group_id=members.c.virtual_group_id,
    )
    return union_all(run, own, group, apm, vg)


def null_of(kind: Any) -> Any:
    """A typed NULL (a UNION's branches must agree on each column's type)."""
    return cast(null(), kind)


_RELATED_TO_NPIS = {
    choice: _related_to_npis(year=choice[0], run_number=choice[1]) for choice in _CHOICES
}

ResultRecord: TypeAlias = EligibilityResultRow | AnyRow
"""A result as an ORM object or as a row of :data:`RESULTS_BY_KEY` (same names)."""


# CMS's lowVolStusRsnCd: which criteria an entity did NOT exceed.
_LOW_VOLUME_CODES = {
    frozenset({Criterion.BENEFICIARIES}): ("BENE", "Beneficiaries below the low-volume threshold"),
    frozenset({Criterion.ALLOWED_CHARGES}): ("CHRG", "Part B allowed charges below the threshold"),
    frozenset({Criterion.COVERED_SERVICES}): ("SRVC", "Covered services below the threshold"),
    frozenset({Criterion.BENEFICIARIES, Criterion.ALLOWED_CHARGES}): (
        "BOTH",
        "Both the unique beneficiaries and Part B allowed charges below the threshold",
    ),
    frozenset({Criterion.BENEFICIARIES, Criterion.COVERED_SERVICES}): (
        "BENE/SRVC",
        "Beneficiaries and covered services below the threshold",
    ),
    frozenset({Criterion.ALLOWED_CHARGES, Criterion.COVERED_SERVICES}): (
        "CHRG/SRVC",
        "Part B allowed charges and covered services below the threshold",
    ),
    frozenset(Criterion): ("ALL", "All low-volume threshold criteria below the threshold"),
}


@dataclass(frozen=True, slots=True)
class SegmentNumbers:
    segment: int
    allowed_charges: Decimal
    beneficiaries: int
    covered_services: int
    patient_facing_encounters: int


@dataclass(frozen=True, slots=True)
class ScenarioView:
    """One result (a clinician at a TIN, a practice, an APM entity or a virtual group)."""

    level: Level
    entity_key: str
    tin: str | None
    npi: str | None
    status: Status
    exceeded: tuple[Criterion, ...]
    low_volume_evaluated: bool
    segments: tuple[SegmentNumbers, ...]
    clinicians: int | None
    special_statuses: dict[SpecialStatus, int]
    """Each special status held, with the segment that gave it."""
    reasons: tuple[Reason, ...]
    is_opted_in: bool | None = None
    """True once opted in, False after a voluntary election, None with no election (the
    Eligibility API's ``isOptedIn``)."""
    opt_in_decision_date: dt.datetime | None = None
    election: ExistingElection | None = None
    public_reporting_opt_out: bool = False

    @property
    def display(self) -> str:
        """``MIPS eligible via opt-in`` once opted in; else the status (``MIPS EXEMPT ·
        Opt-in eligible``)."""
        return participation_display(self.status, self.election)

    @property
    def opted_in(self) -> bool:
        return self.election is not None and self.election.kind is ElectionKind.OPT_IN

    @property
    def may_elect(self) -> bool:
        """Opt-in eligible with no election yet."""
        return self.status is Status.OPT_IN_ELIGIBLE and self.election is None

    def with_election(
        self, election: ExistingElection | None, *, public_reporting_opt_out: bool = False
    ) -> ScenarioView:
        if election is None:
            return self
        return replace(
            self,
            election=election,
            is_opted_in=election.kind is ElectionKind.OPT_IN,
            opt_in_decision_date=election.decided_at,
            public_reporting_opt_out=public_reporting_opt_out,
        )

    @property
    def exceeds_low_volume_threshold(self) -> bool:
        return len(self.exceeded) == len(Criterion)

    @property
    def low_volume_reason(self) -> tuple[str, str] | None:
        """CMS's (lowVolStusRsnCd, description) for the criteria not exceeded; None if all were."""
        if not self.low_volume_evaluated:
            return None
        below = frozenset(Criterion) - frozenset(self.exceeded)
        return _LOW_VOLUME_CODES.get(below) if below else None

    @property
    def latest(self) -> SegmentNumbers | None:
        return self.segments[-1] if self.segments else None

    @property
    def reason_texts(self) -> list[str]:
        return [r.text for r in self.reasons]

    def has(self, status: SpecialStatus) -> bool:
        return status in self.special_statuses


@dataclass(frozen=True, slots=True)
class ApmView:
    apm_entity_id: str
    apm_model: str
    mips_apm: bool
    advanced_apm: bool
    result: ScenarioView | None


@dataclass(frozen=True, slots=True)
class OrganizationView:
    tin: Tin
    name: str | None
    address: str | None
    individual: ScenarioView | None
    group: ScenarioView | None
    apms: tuple[ApmView, ...] = ()
    virtual_groups: tuple[ScenarioView, ...] = ()


@dataclass(frozen=True, slots=True)
class ClinicianView:
    npi: Npi
    first_name: str | None
    last_name: str | None
    clinician_type: str | None
    specialty_code: str | None
    first_enrolled: dt.date | None
    qp_status: str | None
    performance_year: int
    run_number: int
    organizations: tuple[OrganizationView, ...] = field(default_factory=tuple)
    policy_unverified: tuple[str, ...] = ()
    """Policy parameters the run relied on whose value for the year is not verified."""

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or f"NPI {self.npi}"

    @property
    def newly_enrolled(self) -> bool:
        return self.first_enrolled is not None and self.first_enrolled.year >= self.performance_year


def scenario_of(row: ResultRecord) -> ScenarioView:
    """One result row as a view (without its election; see :func:`attach_elections`)."""
    return _scenario(row)


def _scenario(row: ResultRecord) -> ScenarioView:
    segments = []
    for number, prefix in ((1, "s1_"), (2, "s2_")):
        charges = getattr(row, prefix + "allowed_charges")
        if charges is None:
            continue
        segments.append(
            SegmentNumbers(
                segment=number,
                allowed_charges=Decimal(charges),
                beneficiaries=getattr(row, prefix + "beneficiaries") or 0,
                covered_services=getattr(row, prefix + "covered_services") or 0,
                patient_facing_encounters=getattr(row, prefix + "patient_facing") or 0,
            )
        )
    special: dict[SpecialStatus, int] = {}
    for item in filter(None, row.special_statuses.split(",")):
        name, _, segment = item.partition(":")
        special[SpecialStatus(name)] = int(segment or 0)
    reasons = tuple(Reason.from_record(r) for r in row.reasons or [])
    return ScenarioView(
        level=Level(row.level),
        entity_key=row.entity_key,
        tin=row.tin,
        npi=row.npi,
        status=Status(row.status),
        exceeded=tuple(Criterion(c) for c in filter(None, row.exceeded.split(","))),
        low_volume_evaluated=not any(r.code == "APM_LVT_NOT_EVALUATED" for r in reasons),
        segments=tuple(segments),
        clinicians=row.clinicians,
        special_statuses=special,
        reasons=reasons,
    )


ElectionKey = tuple[str, str]
"""(level, entity_key) as in ``eligibility_results`` and ``elections``."""


@dataclass(frozen=True, slots=True)
class RecordedElection:
    election: ExistingElection
    public_reporting_opt_out: bool


def recorded_elections(
    session: Session, *, year: int, keys: Iterable[ElectionKey]
) -> dict[ElectionKey, RecordedElection]:
    """The confirmed elections of ``year`` for the (level, entity_key) pairs asked for."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[ElectionKey, RecordedElection] = {}
    levels = sorted({level for level, _ in wanted})
    entity_keys = sorted({key for _, key in wanted})
    for chunk in _chunks(entity_keys, 500):
        params = {"year": year, "levels": levels, "keys": chunk}
        for row in session.execute(_ELECTIONS_BY_KEY, params):
            key = (row.level, row.entity_key)
            if key in wanted:  # the statement matches every level with every key
                found[key] = RecordedElection(existing_election(row), row.opt_out_id is not None)
    return found


def keys_by_level(keys: Iterable[ElectionKey]) -> Iterator[tuple[str, Sequence[str]]]:
    """(level, up to 500 entity keys) chunks: with the level given, the unique index on
    (run or year, level, entity_key) finds each row, where entity_key alone would read every
    result of the run (1.7 million at national size)."""
    by_level: dict[str, set[str]] = defaultdict(set)
    for level, key in keys:
        by_level[level].add(key)
    for level in sorted(by_level):
        for chunk in _chunks(sorted(by_level[level]), 500):
            yield level, chunk


def existing_election(row: Election | AnyRow) -> ExistingElection:
    return confirmed_election(row.kind, row.decided_at, row.id)


def confirmed_election(kind: str, decided_at: dt.datetime, election_id: int) -> ExistingElection:
    """A recorded (confirmed) election as the rules and views see it."""
    return ExistingElection(
        kind=ElectionKind(kind),
        source=ElectionSource.ELECTION,
        decided_at=decided_at,
        election_id=election_id,
    )


def attach_elections(
    session: Session,
    run: DeterminationRun,
    views: Mapping[ElectionKey, ScenarioView],
    *,
    virtual_groups: Mapping[str, str] | None = None,
) -> dict[ElectionKey, ScenarioView]:
    """``views`` with their elections for the run's year; ``virtual_groups`` maps a TIN to the
    virtual group listing it (a virtual group election is the opt-in of an opt-in eligible
    group it lists, where the year's policy says so)."""
    recorded = recorded_elections(session, year=run.performance_year, keys=views)
    return _with_elections(run, views, recorded, virtual_groups or {})


def _with_elections(
    run: DeterminationRun | ChosenRun,
    views: Mapping[ElectionKey, ScenarioView],
    recorded: Mapping[ElectionKey, RecordedElection],
    virtual_groups: Mapping[str, str],
) -> dict[ElectionKey, ScenarioView]:
    """``views`` with the ``recorded`` elections, or the opt-in a virtual group election
    implies for a group (see :func:`attach_elections`)."""
    policy = load_policy(run.performance_year) if virtual_groups else None
    out: dict[ElectionKey, ScenarioView] = {}
    for key, view in views.items():
        found = recorded.get(key)
        if found is not None:
            out[key] = view.with_election(
                found.election, public_reporting_opt_out=found.public_reporting_opt_out
            )
            continue
        vg = virtual_groups.get(view.tin or "") if view.level is Level.GROUP else None
        implied = (
            virtual_group_election(
                Eligibility(view.status, run.performance_year, run.run_number, vg),
                Entity.group(view.tin or ""),
                policy,
            )
            if vg and policy is not None
            else None
        )
        out[key] = view.with_election(implied)
    return out


def scenario_views(
    session: Session, run: DeterminationRun, keys: Iterable[ElectionKey]
) -> dict[ElectionKey, ScenarioView]:
    """The results (with elections) of the (level, entity_key) pairs asked for, in ``run``;
    pairs with no result are left out."""
    wanted = set(keys)
    rows: dict[ElectionKey, ResultRecord] = {}
    for level, chunk in keys_by_level(wanted):
        params = {"run": run.id, "levels": [level], "keys": chunk}
        for row in session.execute(RESULTS_BY_KEY, params):
            rows[(row.level, row.entity_key)] = row
    tins = {r.tin for r in rows.values() if r.level == Level.GROUP.value and r.tin}
    virtual_groups = virtual_groups_of(session, run, tins)
    return attach_elections(
        session, run, {k: _scenario(r) for k, r in rows.items()}, virtual_groups=virtual_groups
    )


def virtual_groups_of(
    session: Session, run: DeterminationRun, tins: Iterable[str]
) -> dict[str, str]:
    """TIN -> the virtual group of ``run`` listing it (a TIN is in at most one; were it in
    more, the first by id, so lookups and election rules name the same one)."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(tins)), 500):
        for member in session.execute(_VG_MEMBERS_BY_TIN, {"run": run.id, "tins": chunk}):
            _keep_first(found, member.tin, member.virtual_group_id)
    return found


def _keep_first(found: dict[str, str], tin: str, virtual_group: str) -> None:
    if tin not in found or virtual_group < found[tin]:
        found[tin] = virtual_group


def years_with_runs(session: Session) -> list[int]:
    """Performance years that have at least one determination run, oldest first."""
    return sorted(set(session.scalars(select(DeterminationRun.performance_year).distinct()).all()))


def latest_run(session: Session, year: int | None = None) -> DeterminationRun:
    """The newest run of ``year`` (or of the newest year that has one)."""
    return find_run(session, year, None)


def find_run(session: Session, year: int | None, run_number: int | None) -> DeterminationRun:
    """Run ``run_number`` (newest if None) of ``year`` (newest year if None); see
    :func:`_run_choice`."""
    choice = (year is not None, run_number is not None)
    run: DeterminationRun | None = session.scalars(
        _RUN_CHOICE[choice], {"year": year, "run_number": run_number}
    ).first()
    if run is None:
        raise _no_run(year, run_number)
    return run


def _no_run(year: int | None, run_number: int | None) -> NoDeterminationRun:
    if run_number is not None:
        return NoDeterminationRun(
            f"There is no determination run {run_number}"
            + (f" for performance year {year}." if year else "."),
            fix="Leave out runNum to get the newest run, or list runs with "
            "`openqpp eligibility runs`.",
        )
    where = f"performance year {year}" if year is not None else "any performance year"
    return NoDeterminationRun(
        f"No eligibility determination has been loaded for {where}.",
        fix="Ask the operator to run `openqpp eligibility determine --claims DIR --year Y`, "
        "or choose a year that has a determination.",
    )


@dataclass(frozen=True, slots=True)
class ChosenRun:
    """The run a lookup read (chosen inside its statement)."""

    performance_year: int
    run_number: int
    policy_unverified: tuple[str, ...]


def _lookup_many(
    session: Session, npis: Sequence[Npi], *, year: int | None, run_number: int | None
) -> tuple[ChosenRun, dict[str, ClinicianView]]:
    statement = _RELATED_TO_NPIS[(year is not None, run_number is not None)]
    at = {"npis": list(npis), "year": year, "run_number": run_number}
    related = session.execute(statement, at).all()
    found = next((row for row in related if row.role == "run"), None)
    if found is None:
        raise _no_run(year, run_number)
    run = ChosenRun(found.run_year, found.run_number, tuple(found.policy_unverified or ()))
    clinicians = {r.npi_of: r for r in related if r.role == "run" and r.npi_of is not None}
    results: dict[ElectionKey, AnyRow] = {}
    recorded: dict[ElectionKey, RecordedElection] = {}
    virtual_groups: dict[str, str] = {}
    for row in related:
        if row.role == "vg":
            _keep_first(virtual_groups, row.via_tin, row.virtual_group_id)
        if row.level is None:  # the run, or an APM entity or virtual group with no result
            continue
        key = (row.level, row.entity_key)
        results[key] = row
        if row.election_id is not None:
            election = confirmed_election(
                row.election_kind, row.election_decided_at, row.election_id
            )
            recorded[key] = RecordedElection(election, row.opt_out_id is not None)
    scenarios = _with_elections(
        run, {k: _scenario(r) for k, r in results.items()}, recorded, virtual_groups
    )
    by_npi: dict[str, list[AnyRow]] = defaultdict(list)
    for row in related:
        if row.role != "run":
            by_npi[row.npi_of].append(row)
    views: dict[str, ClinicianView] = {}
    for npi in npis:
        mine = by_npi.get(npi, [])
        own = sorted((r for r in mine if r.role == "individual"), key=lambda r: r.via_tin)
        clinician = clinicians.get(npi)
        if not own and clinician is None:
            continue
        organizations = []
        for row in own:
            tin = row.via_tin
            at_tin = [r for r in mine if r.via_tin == tin]
            apms = tuple(
                ApmView(
                    apm_entity_id=p.apm_entity_id,
                    apm_model=p.apm_model,
                    mips_apm=p.mips_apm,
                    advanced_apm=p.advanced_apm,
                    result=scenarios.get((Level.APM_ENTITY.value, p.apm_entity_id)),
                )
                for p in sorted(at_tin, key=lambda r: r.apm_entity_id or "")
                if p.role == "apm"
            )
            vgs = tuple(
                scenarios[(Level.VIRTUAL_GROUP.value, m.virtual_group_id)]
                for m in sorted(at_tin, key=lambda r: r.virtual_group_id or "")
                if m.role == "vg" and m.level is not None
            )
            group = scenarios.get((Level.GROUP.value, tin))
            organizations.append(
                OrganizationView(
                    tin=Tin(tin),
                    name=row.practice_name,
                    address=row.practice_address,
                    individual=scenarios[(row.level, row.entity_key)],
                    group=group,
                    apms=apms,
                    virtual_groups=vgs,
                )
            )
        views[npi] = ClinicianView(
            npi=Npi(npi),
            first_name=clinician.first_name if clinician else None,
            last_name=clinician.last_name if clinician else None,
            clinician_type=clinician.clinician_type if clinician else None,
            specialty_code=clinician.specialty_code if clinician else None,
            first_enrolled=clinician.first_enrolled if clinician else None,
            qp_status=clinician.qp_status if clinician else None,
            performance_year=run.performance_year,
            run_number=run.run_number,
            organizations=tuple(organizations),
            policy_unverified=run.policy_unverified,
        )
    return run, views


def lookup_npi(
    session: Session, npi: str, *, year: int | None = None, run_number: int | None = None
) -> ClinicianView:
    """A clinician's results at every TIN they billed under (individual and group scenarios)."""
    checked = Npi(npi)
    run, views = _lookup_many(session, [checked], year=year, run_number=run_number)
    if checked not in views:
        raise ClinicianNotFound(
            f"No individual clinician information exists for NPI {checked} in performance year "
            f"{run.performance_year}.",
            fix="Check the NPI; clinicians appear here only when they billed Medicare Part B "
            "during the determination period.",
        )
    return views[checked]


def lookup_npis(
    session: Session, npis: Sequence[str], *, year: int | None = None
) -> tuple[ChosenRun, list[ClinicianView]]:
    """Several clinicians at once (unknown NPIs are left out)."""
    checked = list(dict.fromkeys(Npi(n) for n in npis))
    run, views = _lookup_many(session, checked, year=year, run_number=None)
    return run, [views[n] for n in checked if n in views]


@dataclass(frozen=True, slots=True)
class RosterLine:
    line: int
    tin: str
    npi: str | None
    individual: ScenarioView | None
    group: ScenarioView | None
    error: str | None = None


def roster(
    session: Session, entries: Sequence[tuple[int, str, str | None]], *, year: int | None = None
) -> tuple[DeterminationRun, list[RosterLine]]:
    """Results for (line, TIN, NPI or None) entries; malformed identifiers become line errors."""
    run = latest_run(session, year)
    valid: list[tuple[int, Tin, Npi | None]] = []
    lines: dict[int, RosterLine] = {}
    for line, raw_tin, raw_npi in entries:
        try:
            tin = Tin(raw_tin)
            npi = Npi(raw_npi) if raw_npi else None
        except OpenQppError as exc:
            lines[line] = RosterLine(line, raw_tin, raw_npi, None, None, f"[{exc.code}] {exc}")
            continue
        valid.append((line, tin, npi))
    wanted: set[ElectionKey] = {(Level.GROUP.value, str(t)) for _, t, _ in valid}
    wanted |= {(Level.INDIVIDUAL.value, f"{t}/{n}") for _, t, n in valid if n}
    scenarios = scenario_views(session, run, wanted)
    for line, tin, npi in valid:
        group = scenarios.get((Level.GROUP.value, tin))
        individual = scenarios.get((Level.INDIVIDUAL.value, f"{tin}/{npi}")) if npi else None
        error = None
        if group is None and individual is None:
            error = "No result for this TIN" + ("/NPI" if npi else "") + " in the determination."
        elif npi and individual is None:
            error = "This NPI did not bill under this TIN in the determination period."
        lines[line] = RosterLine(line, tin, npi, individual, group, error)
    return run, [lines[k] for k in sorted(lines)]


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class RunStats:
    performance_year: int
    run_number: int
    counts: dict[str, dict[str, int]]
    """level -> status -> number of entities."""


def stats(session: Session, *, year: int | None = None) -> RunStats:
    run = latest_run(session, year)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for level, status, number in session.execute(
        select(EligibilityResultRow.level, EligibilityResultRow.status, func.count())
        .where(EligibilityResultRow.run_id == run.id)
        .group_by(EligibilityResultRow.level, EligibilityResultRow.status)
    ):
        counts[level][status] = number
    return RunStats(run.performance_year, run.run_number, dict(counts))


def visible_tins(session: Session, principal: Principal | None, tins: Iterable[str]) -> set[str]:
    """The TINs ``principal`` may see in full: practices where it may view eligibility (its own
    practices, or a registry's authorised clients). Everyone else sees masked TINs."""
    if principal is None:
        return set()
    visible = set()
    for tin in set(tins):
        target = resolve_target(session, OrganisationType.PRACTICE, tin)
        if target is not None and allowed(
            session, principal=principal, action=Action.VIEW_ELIGIBILITY, target=target
        ):
            visible.add(tin)
    return visible
