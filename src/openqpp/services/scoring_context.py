"""What scoring needs to know about an entity besides its data, read from the database.

The scoring context (:class:`~openqpp.core.scoring.context.ScoringContext`) is built from:

* the newest determination run of the year: the entity's special statuses (small practice,
  rural, HPSA, non-patient facing, hospital-, facility- and ASC-based) and, for a group, the
  clinicians billing under the TIN;
* the run's APM participation lists: the share of the entity's clinicians in an APM (any share
  above 0 earns the APM credit in Improvement Activities: "based on having at least one clinician
  who participates in an APM", 2019 data submission user guide);
* the cost measure results the operator loaded from CMS's file (``openqpp scoring load-cost``),
  when the person may see them (see :mod:`openqpp.services.scoring_overview`);
* the entity's election: a voluntary reporter gets no payment adjustment, so its estimate is
  feedback only.

What openqpp does not hold yet is named in the facts rather than guessed: certified medical home
status, approved exception applications, last year's scores (improvement scoring) and the
complex patient bonus inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openqpp.core.elections import ElectionKind
from openqpp.core.eligibility import Level, Status
from openqpp.core.scoring.context import ScoringContext, SpecialStatus
from openqpp.core.submissions.model import EntityType
from openqpp.db.models import DeterminationRun, EligibilityResultRow, RunApmParticipant
from openqpp.services.eligibility_lookup import NoDeterminationRun, ScenarioView, scenario_views
from openqpp.services.eligibility_lookup import latest_run as newest_run
from openqpp.services.scoring_costs import StoredCostResult, cost_results_for


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing scoring relied on, in words, with where it came from."""

    label: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Whether the entity's score leads to a payment adjustment, and why."""

    applies: bool
    reason: str


@dataclass(frozen=True, slots=True)
class EntityFacts:
    """The scoring context of one entity and the facts it was built from."""

    year: int
    tin: str
    npi: str | None
    entity_type: EntityType
    run: DeterminationRun | None
    view: ScenarioView | None
    context: ScoringContext
    facts: tuple[Fact, ...]
    adjustment: Adjustment
    cost_results: tuple[StoredCostResult, ...]
    cost_withheld: str | None
    """Why cost results were left out of the context (None when they were used)."""

    @property
    def run_number(self) -> int | None:
        return self.run.run_number if self.run else None

    @property
    def opt_in_eligible_without_election(self) -> bool:
        return self.view is not None and self.view.may_elect


def _clinicians(session: Session, run: DeterminationRun, tin: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EligibilityResultRow)
            .where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.tin == tin,
                EligibilityResultRow.level == Level.INDIVIDUAL.value,
            )
        )
        or 0
    )


def _apm_clinicians(session: Session, run: DeterminationRun, tin: str, npi: str | None) -> set[str]:
    query = select(RunApmParticipant.npi).where(
        RunApmParticipant.run_id == run.id, RunApmParticipant.tin == tin
    )
    if npi is not None:
        query = query.where(RunApmParticipant.npi == npi)
    return set(session.scalars(query))


def adjustment_of(view: ScenarioView | None, year: int) -> Adjustment:
    """The payment adjustment standing of an entity from its status and election."""
    if view is None:
        return Adjustment(
            False,
            f"The entity has no result in the {year} determination, so openqpp cannot say "
            "whether a payment adjustment applies; the estimate is shown as if it did not.",
        )
    election = view.election
    if election is not None and election.kind is ElectionKind.VOLUNTARY:
        return Adjustment(
            False,
            "Elected to report voluntarily: voluntary reporters get no MIPS payment adjustment, "
            "so this score is feedback only (the estimate shows what it would have been).",
        )
    if election is not None and election.kind is ElectionKind.OPT_IN:
        return Adjustment(True, "Opted in: the MIPS payment adjustment applies to this score.")
    if view.status is Status.ELIGIBLE:
        return Adjustment(True, "MIPS eligible: the MIPS payment adjustment applies to this score.")
    if view.status is Status.OPT_IN_ELIGIBLE:
        return Adjustment(
            False,
            "Opt-in eligible with no election yet: opting in makes the payment adjustment apply; "
            "reporting voluntarily means none (see the what-if page).",
        )
    return Adjustment(
        False,
        "Not MIPS eligible (exempt): data is reported voluntarily and no MIPS payment adjustment "
        "applies.",
    )


def entity_facts(
    session: Session,
    *,
    year: int,
    tin: str,
    npi: str | None = None,
    include_cost: bool = True,
    cost_withheld: str | None = None,
    scaling_factor: Decimal | None = None,
) -> EntityFacts:
    """The scoring context of the group ``tin`` (or the clinician ``tin``/``npi``) in ``year``.

    ``include_cost=False`` leaves the loaded cost results out (``cost_withheld`` says why)."""
    entity_type = EntityType.INDIVIDUAL if npi else EntityType.GROUP
    facts: list[Fact] = []
    try:
        run: DeterminationRun | None = newest_run(session, year)
    except NoDeterminationRun:
        run = None
    view: ScenarioView | None = None
    statuses: frozenset[SpecialStatus] = frozenset()
    clinicians: int | None = 1 if npi else None
    share: Decimal | None = None
    if run is None:
        facts.append(
            Fact(
                "Special statuses",
                "unknown: no determination has been loaded for this year",
                "no determination run",
            )
        )
    else:
        level = Level.INDIVIDUAL if npi else Level.GROUP
        key = f"{tin}/{npi}" if npi else tin
        view = scenario_views(session, run, [(level.value, key)]).get((level.value, key))
        run_words = f"determination run {run.performance_year}:{run.run_number}"
        if view is not None:
            statuses = frozenset(SpecialStatus(s.value) for s in view.special_statuses)
        facts.append(
            Fact(
                "Special statuses",
                ", ".join(s.display for s in view.special_statuses)
                if view and view.special_statuses
                else "none",
                run_words,
            )
        )
        if not npi:
            clinicians = (view.clinicians if view else None) or _clinicians(session, run, tin)
            facts.append(Fact("Clinicians billing under the TIN", str(clinicians), run_words))
        in_apm = _apm_clinicians(session, run, tin, npi)
        base = clinicians or 0
        share = Decimal(len(in_apm)) / Decimal(base) if base else Decimal(0)
        share = min(share, Decimal(1))
        facts.append(
            Fact(
                "Clinicians in an APM",
                (
                    ("participates in an APM" if in_apm else "not on an APM participation list")
                    if npi
                    else f"{len(in_apm)} of {base}"
                ),
                run_words + " (APM participation lists)",
            )
        )
    stored = tuple(cost_results_for(session, year=year, tin=tin, npi=npi)) if include_cost else ()
    if include_cost:
        facts.append(
            Fact(
                "CMS cost measure results",
                f"{len(stored)} measure(s)" if stored else "none loaded",
                "loaded by the operator from CMS's file" if stored else "openqpp scoring load-cost",
            )
        )
    else:
        facts.append(
            Fact("CMS cost measure results", "not used", cost_withheld or "not available to you")
        )
    for label in (
        "Certified patient-centred medical home",
        "Approved exception applications",
        "Prior-year scores (improvement scoring)",
        "Complex patient bonus inputs",
    ):
        facts.append(Fact(label, "none known", "not held by openqpp yet"))
    adjustment = adjustment_of(view, year)
    if view is not None:
        facts.append(Fact("Eligibility and election", view.display, adjustment.reason))
    context = ScoringContext(
        entity_type=entity_type,
        special_statuses=statuses,
        clinician_count=clinicians,
        apm_participation_share=share,
        cost_results=tuple(s.result for s in stored),
        scaling_factor=scaling_factor,
    )
    return EntityFacts(
        year=year,
        tin=tin,
        npi=npi,
        entity_type=entity_type,
        run=run,
        view=view,
        context=context,
        facts=tuple(facts),
        adjustment=adjustment,
        cost_results=stored,
        cost_withheld=None if include_cost else cost_withheld,
    )
