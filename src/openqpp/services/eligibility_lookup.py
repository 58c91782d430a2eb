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

from sqlalchemy import func, select
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


def scenario_of(row: EligibilityResultRow) -> ScenarioView:
    """One result row as a view (without its election; see :func:`attach_elections`)."""
    return _scenario(row)


def _scenario(row: EligibilityResultRow) -> ScenarioView:
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
    for level, chunk in _by_level(wanted):
        rows = session.execute(
            select(Election, PublicReportingOptOut.id)
            .outerjoin(PublicReportingOptOut, PublicReportingOptOut.election_id == Election.id)
            .where(
                Election.performance_year == year,
                Election.level == level,
                Election.entity_key.in_(chunk),
            )
        ).all()
        for election, opt_out in rows:
            key = (election.level, election.entity_key)
            found[key] = RecordedElection(existing_election(election), opt_out is not None)
    return found


def _by_level(keys: Iterable[ElectionKey]) -> Iterator[tuple[str, Sequence[str]]]:
    """(level, up to 500 entity keys) chunks: with the level given, the unique index on
    (run or year, level, entity_key) finds each row, where entity_key alone would read every
    result of the run (1.7 million at national size)."""
    by_level: dict[str, set[str]] = defaultdict(set)
    for level, key in keys:
        by_level[level].add(key)
    for level in sorted(by_level):
        for chunk in _chunks(sorted(by_level[level]), 500):
            yield level, chunk


def existing_election(row: Election) -> ExistingElection:
    return ExistingElection(
        kind=ElectionKind(row.kind),
        source=ElectionSource.ELECTION,
        decided_at=row.decided_at,
        election_id=row.id,
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
    policy = load_policy(run.performance_year) if virtual_groups else None
    out: dict[ElectionKey, ScenarioView] = {}
    for key, view in views.items():
        found = recorded.get(key)
        if found is not None:
            out[key] = view.with_election(
                found.election, public_reporting_opt_out=found.public_reporting_opt_out
            )
            continue
        vg = (virtual_groups or {}).get(view.tin or "") if view.level is Level.GROUP else None
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
    rows: dict[ElectionKey, EligibilityResultRow] = {}
    for level, chunk in _by_level(wanted):
        for row in session.scalars(
            select(EligibilityResultRow).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.level == level,
                EligibilityResultRow.entity_key.in_(chunk),
            )
        ):
            rows[(row.level, row.entity_key)] = row
    tins = sorted({r.tin for r in rows.values() if r.level == Level.GROUP.value and r.tin})
    virtual_groups = {
        m.tin: m.virtual_group_id
        for chunk in _chunks(tins, 500)
        for m in session.scalars(
            select(RunVirtualGroupMember).where(
                RunVirtualGroupMember.run_id == run.id, RunVirtualGroupMember.tin.in_(chunk)
            )
        )
    }
    return attach_elections(
        session, run, {k: _scenario(r) for k, r in rows.items()}, virtual_groups=virtual_groups
    )


def years_with_runs(session: Session) -> list[int]:
    """Performance years that have at least one determination run, oldest first."""
    return sorted(set(session.scalars(select(DeterminationRun.performance_year).distinct()).all()))


def latest_run(session: Session, year: int | None = None) -> DeterminationRun:
    """The newest run of ``year`` (or of the newest year that has one)."""
    query = select(DeterminationRun).order_by(
        DeterminationRun.performance_year.desc(), DeterminationRun.run_number.desc()
    )
    if year is not None:
        query = query.where(DeterminationRun.performance_year == year)
    run = session.scalars(query.limit(1)).first()
    if run is None:
        where = f"performance year {year}" if year is not None else "any performance year"
        raise NoDeterminationRun(
            f"No eligibility determination has been loaded for {where}.",
            fix="Ask the operator to run `openqpp eligibility determine --claims DIR --year Y`, "
            "or choose a year that has a determination.",
        )
    return run


def find_run(session: Session, year: int | None, run_number: int | None) -> DeterminationRun:
    if run_number is None:
        return latest_run(session, year)
    query = select(DeterminationRun).where(DeterminationRun.run_number == run_number)
    if year is not None:
        query = query.where(DeterminationRun.performance_year == year)
    run = session.scalars(query.order_by(DeterminationRun.performance_year.desc())).first()
    if run is None:
        raise NoDeterminationRun(
            f"There is no determination run {run_number}"
            + (f" for performance year {year}." if year else "."),
            fix="Leave out runNum to get the newest run, or list runs with "
            "`openqpp eligibility runs`.",
        )
    return run


def _practice_names(session: Session, tins: Iterable[str]) -> dict[str, Organisation]:
    wanted = sorted(set(tins))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Organisation).where(
            Organisation.kind == OrganisationKind.PRACTICE, Organisation.identifier.in_(wanted)
        )
    )
    return {o.identifier: o for o in rows}


def _lookup_many(
    session: Session, run: DeterminationRun, npis: Sequence[Npi]
) -> dict[str, ClinicianView]:
    individual_rows = session.scalars(
        select(EligibilityResultRow).where(
            EligibilityResultRow.npi.in_(npis),
            EligibilityResultRow.run_id == run.id,
            EligibilityResultRow.level == Level.INDIVIDUAL.value,
        )
    ).all()
    clinicians = {
        c.npi: c
        for c in session.scalars(
            select(RunClinician).where(RunClinician.run_id == run.id, RunClinician.npi.in_(npis))
        )
    }
    tins = {r.tin for r in individual_rows if r.tin}
    groups = {
        r.tin: r
        for r in session.scalars(
            select(EligibilityResultRow).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.level == Level.GROUP.value,
                EligibilityResultRow.tin.in_(tins),
            )
        )
        if r.tin
    }
    participants = session.scalars(
        select(RunApmParticipant).where(
            RunApmParticipant.run_id == run.id, RunApmParticipant.npi.in_(npis)
        )
    ).all()
    vg_members = (
        session.scalars(
            select(RunVirtualGroupMember).where(
                RunVirtualGroupMember.run_id == run.id, RunVirtualGroupMember.tin.in_(tins)
            )
        ).all()
        if tins
        else []
    )
    collective_keys = {p.apm_entity_id for p in participants} | {
        m.virtual_group_id for m in vg_members
    }
    collective = (
        {
            (r.level, r.entity_key): r
            for r in session.scalars(
                select(EligibilityResultRow).where(
                    EligibilityResultRow.run_id == run.id,
                    EligibilityResultRow.level.in_(
                        [Level.APM_ENTITY.value, Level.VIRTUAL_GROUP.value]
                    ),
                    EligibilityResultRow.entity_key.in_(collective_keys),
                )
            )
        }
        if collective_keys
        else {}
    )
    names = _practice_names(session, tins)
    scenarios = attach_elections(
        session,
        run,
        {
            (r.level, r.entity_key): _scenario(r)
            for r in [*individual_rows, *groups.values(), *collective.values()]
        },
        virtual_groups={m.tin: m.virtual_group_id for m in vg_members},
    )
    by_npi: dict[str, list[EligibilityResultRow]] = defaultdict(list)
    for row in individual_rows:
        if row.npi:
            by_npi[row.npi].append(row)
    views: dict[str, ClinicianView] = {}
    for npi in npis:
        rows = sorted(by_npi.get(npi, []), key=lambda r: r.tin or "")
        clinician = clinicians.get(npi)
        if not rows and clinician is None:
            continue
        organizations = []
        for row in rows:
            tin = row.tin or ""
            practice = names.get(tin)
            apms = tuple(
                ApmView(
                    apm_entity_id=p.apm_entity_id,
                    apm_model=p.apm_model,
                    mips_apm=p.mips_apm,
                    advanced_apm=p.advanced_apm,
                    result=scenarios.get((Level.APM_ENTITY.value, p.apm_entity_id)),
                )
                for p in participants
                if p.npi == npi and p.tin == tin
            )
            vgs = tuple(
                scenarios[(Level.VIRTUAL_GROUP.value, m.virtual_group_id)]
                for m in vg_members
                if m.tin == tin and (Level.VIRTUAL_GROUP.value, m.virtual_group_id) in scenarios
            )
            organizations.append(
                OrganizationView(
                    tin=Tin(tin),
                    name=practice.name if practice else None,
                    address=practice.address if practice else None,
                    individual=scenarios[(row.level, row.entity_key)],
                    group=scenarios[(Level.GROUP.value, tin)] if tin in groups else None,
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
            policy_unverified=tuple(run.policy_unverified or ()),
        )
    return views


def lookup_npi(
    session: Session, npi: str, *, year: int | None = None, run_number: int | None = None
) -> ClinicianView:
    """A clinician's results at every TIN they billed under (individual and group scenarios)."""
    checked = Npi(npi)
    run = find_run(session, year, run_number)
    views = _lookup_many(session, run, [checked])
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
) -> tuple[DeterminationRun, list[ClinicianView]]:
    """Several clinicians at once (unknown NPIs are left out)."""
    checked = list(dict.fromkeys(Npi(n) for n in npis))
    run = latest_run(session, year)
    views = _lookup_many(session, run, checked)
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
    tins = {t for _, t, _ in valid}
    keys = {f"{t}/{n}" for _, t, n in valid if n}
    found: dict[tuple[str, str], EligibilityResultRow] = {}
    for chunk in _chunks(sorted(keys), 500):
        for row in session.scalars(
            select(EligibilityResultRow).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.level == Level.INDIVIDUAL.value,
                EligibilityResultRow.entity_key.in_(chunk),
            )
        ):
            found[(row.level, row.entity_key)] = row
    for chunk in _chunks(sorted(tins), 500):
        for row in session.scalars(
            select(EligibilityResultRow).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.level == Level.GROUP.value,
                EligibilityResultRow.entity_key.in_(chunk),
            )
        ):
            found[(row.level, row.entity_key)] = row
    vg_members = {
        m.tin: m.virtual_group_id
        for chunk in _chunks(sorted(tins), 500)
        for m in session.scalars(
            select(RunVirtualGroupMember).where(
                RunVirtualGroupMember.run_id == run.id, RunVirtualGroupMember.tin.in_(chunk)
            )
        )
    }
    scenarios = attach_elections(
        session, run, {k: _scenario(r) for k, r in found.items()}, virtual_groups=vg_members
    )
    for line, tin, npi in valid:
        group = found.get((Level.GROUP.value, tin))
        individual = found.get((Level.INDIVIDUAL.value, f"{tin}/{npi}")) if npi else None
        error = None
        if group is None and individual is None:
            error = "No result for this TIN" + ("/NPI" if npi else "") + " in the determination."
        elif npi and individual is None:
            error = "This NPI did not bill under this TIN in the determination period."
        lines[line] = RosterLine(
            line,
            tin,
            npi,
            scenarios[(individual.level, individual.entity_key)] if individual else None,
            scenarios[(group.level, group.entity_key)] if group else None,
            error,
        )
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
