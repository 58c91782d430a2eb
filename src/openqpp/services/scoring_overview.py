"""Use case: the preliminary score of a stored submission, as a practice or registry may see it.

:func:`preliminary_score` scores the entity's stored submission (every submitter's measurement
sets combined, as the Reporting Overview lists them) with the year's policy and measures data and
the scoring context built from the database (:mod:`openqpp.services.scoring_context`). Nothing is
stored: the score is computed each time, so it follows the data ("This preliminary score will
update as new data is submitted", 2019 data submission user guide).

Who sees what follows the permission matrix (``view_preliminary_scores``):

* a practice's Security Official or Staff User (and the operator) sees the score of the whole
  submission: the data it sent and every intermediary's;
* a registry or QCDR "View[s] preliminary scoring for your clients based on the data you
  submitted for them" (Appendix A): its score is computed from its own measurement sets only,
  and says so;
* the Clinician role does not see preliminary scores (it sees final feedback): refused.

Cost is calculated by CMS, not submitted. Its results are used only when the person may see cost
feedback (``view_cost_feedback``): never for a registry ("can't view data collected and
calculated by CMS for their clients, such as cost measures"), and for a practice not during the
submission period ("cost data won't be available during the submission period"). Otherwise cost
is left out of the preliminary score, which says why.

:func:`overview_score` gives the Reporting Overview what it shows: the total, each category's
score and weight, unverified flags and the links to the detail pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, Action, DataScope, OrganisationType
from openqpp.core.common import Npi, Tin
from openqpp.core.errors import OpenQppError
from openqpp.core.scoring.engine import score_submission
from openqpp.core.scoring.explain import number
from openqpp.core.scoring.final import CATEGORIES, TITLES, is_scored
from openqpp.core.scoring.tree import ScoreNode
from openqpp.core.submissions.model import EntityType, MeasurementSet, Submission
from openqpp.db.base import utcnow
from openqpp.db.models import MeasurementSetRow, SubmissionRow
from openqpp.measures import MeasuresError, MeasuresYear
from openqpp.policy import SUPPORTED_YEARS, Policy, UnsupportedPerformanceYear, load_policy
from openqpp.services.access.authorize import authorize
from openqpp.services.access.principals import Principal
from openqpp.services.elections.pages import entity_path
from openqpp.services.scoring_context import EntityFacts, entity_facts
from openqpp.services.submissions import store
from openqpp.services.submissions_convert import catalogue

#: The order the pages list the categories in (the Reporting Overview's).
PAGE_ORDER: tuple[str, ...] = ("quality", "pi", "ia", "cost")
DISCLAIMER = (
    "Preliminary score: an estimate from the data submitted to date. It will change as data is "
    "submitted and CMS finalises eligibility, reweighting and benchmarks."
)


# ---------------------------------------------------------------- paths


def reporting_path(year: int, tin: str, npi: str | None) -> str:
    return entity_path(year, tin, npi) + "/reporting"


def score_path(year: int, tin: str, npi: str | None, category: str | None = None) -> str:
    base = reporting_path(year, tin, npi) + "/score"
    return f"{base}/{category}" if category else base


def what_if_path(year: int, tin: str, npi: str | None) -> str:
    return reporting_path(year, tin, npi) + "/what-if"


# ---------------------------------------------------------------- who may see what


@dataclass(frozen=True, slots=True)
class ScoreAccess:
    """What the person may see of an entity's preliminary score."""

    own_submitter_key: str | None
    """A registry's submitter key: only its own sets are scored. None: every submitter's."""
    role: str | None
    include_cost: bool
    cost_withheld: str | None

    @property
    def scope(self) -> str:
        return DataScope.OWN_SUBMISSIONS.value if self.own_submitter_key else DataScope.ALL.value

    @property
    def scope_note(self) -> str | None:
        if self.own_submitter_key is None:
            return None
        return (
            "This score uses only the data your organisation submitted for this client: a "
            "registry or QCDR sees preliminary scoring based on the data it submitted, not data "
            "the practice or another third party sent."
        )


def score_access(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime | None = None,
) -> ScoreAccess:
    """May ``principal`` see the entity's preliminary score, and with which data? Raises
    AccessError (the Clinician role, an unconnected organisation)."""
    now = now or utcnow()
    if principal.kind == "operator":
        return ScoreAccess(None, None, True, None)
    decision = authorize(
        session,
        principal=principal,
        action=Action.VIEW_PRELIMINARY_SCORES,
        organisation_type=OrganisationType.PRACTICE,
        identifier=tin,
        npi=npi,
        performance_year=year,
        at=now,
    )
    own = (
        f"organization:{decision.grant.organisation.id}"
        if decision.scope is DataScope.OWN_SUBMISSIONS
        else None
    )
    try:
        authorize(
            session,
            principal=principal,
            action=Action.VIEW_COST_FEEDBACK,
            organisation_type=OrganisationType.PRACTICE,
            identifier=tin,
            npi=npi,
            performance_year=year,
            at=now,
        )
    except AccessError as exc:
        return ScoreAccess(own, decision.grant.role.value, False, exc.message)
    return ScoreAccess(own, decision.grant.role.value, True, None)


# ---------------------------------------------------------------- the score


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """One performance category as the overview and the pages show it."""

    key: str
    title: str
    points: Decimal
    maximum: Decimal | None
    weight: Decimal
    contribution: Decimal
    scored: bool
    explanation: str
    rule: str
    unverified: tuple[str, ...]
    detail_path: str

    @property
    def percent(self) -> Decimal | None:
        if not self.maximum:
            return None
        return self.points / self.maximum * 100

    @property
    def has_unverified(self) -> bool:
        return bool(self.unverified)


@dataclass(frozen=True, slots=True)
class PaymentEstimate:
    """The payment adjustment estimate of a score, and whether it applies to the entity."""

    percent: Decimal
    exceptional_percent: Decimal | None
    scaling_factor: Decimal
    explanation: str
    assumptions: tuple[str, ...]
    applies: bool
    reason: str

    @property
    def shown_percent(self) -> Decimal:
        """What the entity would get: the estimate, or 0 when no adjustment applies."""
        return self.percent if self.applies else Decimal(0)


def category_scores(
    tree: ScoreNode, *, year: int, tin: str, npi: str | None
) -> list[CategoryScore]:
    out = []
    for key in PAGE_ORDER:
        node = tree.child(key)
        if node is None:
            continue
        weight = node.weight or Decimal(0)
        scored = is_scored(node)
        contribution = (
            node.points / node.maximum * weight if scored and node.maximum else Decimal(0)
        )
        out.append(
            CategoryScore(
                key=key,
                title=node.title or TITLES[key],
                points=node.points,
                maximum=node.maximum if scored else None,
                weight=weight,
                contribution=contribution,
                scored=scored,
                explanation=node.explanation,
                rule=node.rule,
                unverified=node.all_unverified(),
                detail_path=score_path(year, tin, npi, key),
            )
        )
    return out


def payment_estimate(tree: ScoreNode, *, applies: bool, reason: str) -> PaymentEstimate:
    raw = tree.inputs.get("payment_adjustment")
    data = raw if isinstance(raw, dict) else {}
    exceptional = data.get("exceptional_percent")
    assumptions = data.get("assumptions")
    return PaymentEstimate(
        percent=Decimal(str(data.get("percent", "0"))),
        exceptional_percent=Decimal(str(exceptional)) if exceptional is not None else None,
        scaling_factor=Decimal(str(data.get("scaling_factor", "1"))),
        explanation=str(data.get("explanation", "")),
        assumptions=tuple(str(a) for a in assumptions) if isinstance(assumptions, list) else (),
        applies=applies,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class PreliminaryScore:
    """An entity's preliminary score, the data and facts it was computed from."""

    year: int
    tin: str
    npi: str | None
    submission_id: str | None
    last_updated: dt.datetime | None
    tree: ScoreNode
    entity: EntityFacts
    submission: Submission
    policy_year: int
    policy_verified: bool
    measures_data: str
    measures_year: int
    access: ScoreAccess
    sets_scored: int
    scored_at: dt.datetime

    @property
    def total(self) -> Decimal:
        return self.tree.points

    @property
    def maximum(self) -> Decimal:
        return self.tree.maximum or Decimal(100)

    @property
    def neutral(self) -> bool:
        """Fewer than two categories scored: the final score is the performance threshold."""
        return self.tree.rule == "final.neutral_score"

    @property
    def categories(self) -> list[CategoryScore]:
        return category_scores(self.tree, year=self.year, tin=self.tin, npi=self.npi)

    def category(self, key: str) -> CategoryScore | None:
        return next((c for c in self.categories if c.key == key), None)

    @property
    def bonus(self) -> ScoreNode | None:
        return self.tree.child("complex_patient_bonus")

    @property
    def payment(self) -> PaymentEstimate:
        return payment_estimate(
            self.tree, applies=self.entity.adjustment.applies, reason=self.entity.adjustment.reason
        )

    @property
    def unverified(self) -> tuple[str, ...]:
        paths = list(self.tree.all_unverified())
        cost = self.tree.child("cost")
        if (
            cost is not None
            and is_scored(cost)
            and any(r.case_minimum_source == "policy" for r in self.entity.cost_results)
        ):
            paths.append("scoring.cost.case_minimums")
        return tuple(dict.fromkeys(paths))

    @property
    def warnings(self) -> tuple[str, ...]:
        notes = [*self.tree.warnings]
        if self.access.scope_note:
            notes.append(self.access.scope_note)
        if self.entity.cost_withheld:
            notes.append("Cost is left out of this preliminary score: " + self.entity.cost_withheld)
        return tuple(notes)

    @property
    def reporting_path(self) -> str:
        return reporting_path(self.year, self.tin, self.npi)

    @property
    def what_if_path(self) -> str:
        return what_if_path(self.year, self.tin, self.npi)

    @property
    def summary_path(self) -> str:
        return score_path(self.year, self.tin, self.npi)


def entity_row(
    session: Session, *, year: int, tin: str, npi: str | None = None
) -> SubmissionRow | None:
    """The entity's stored submission (group when ``npi`` is None), if any."""
    entity_type = EntityType.INDIVIDUAL if npi else EntityType.GROUP
    key = f"{tin}/{npi}" if npi else tin
    return store.find_submission(session, year=year, entity_type=entity_type, key=key)


def sets_for(row: SubmissionRow, access: ScoreAccess) -> list[MeasurementSetRow]:
    if access.own_submitter_key is None:
        return list(row.measurement_sets)
    return [s for s in row.measurement_sets if s.submitter_key == access.own_submitter_key]


class ScoringUnavailable(OpenQppError):
    """The year cannot be scored: no policy for it, or its measures data is not installed."""

    code = "OQ-SCORE-002"

    def __init__(self, message: str, *, fix: str, status: int, code: str | None = None) -> None:
        super().__init__(message, fix=fix, code=code)
        self.http_status = status


def year_rules(year: int) -> tuple[Policy, MeasuresYear]:
    """The year's policy and measures data; raises :class:`ScoringUnavailable`."""
    try:
        policy = load_policy(year)
    except UnsupportedPerformanceYear as exc:
        raise ScoringUnavailable(
            f"Performance year {year} cannot be scored: openqpp has scoring rules for "
            f"{SUPPORTED_YEARS[0]}-{SUPPORTED_YEARS[-1]}.",
            fix="Choose a supported performance year.",
            status=422,
        ) from exc
    try:
        measures = catalogue().year(year)
    except MeasuresError as exc:
        raise ScoringUnavailable(
            f"Performance year {year} cannot be scored here: {exc.message}",
            fix=exc.fix,
            status=503,
            code=exc.code,
        ) from exc
    return policy, measures


def score_with(
    submission: Submission,
    *,
    facts: EntityFacts,
    policy: Policy,
    measures: MeasuresYear,
) -> ScoreNode:
    return score_submission(submission, policy=policy, measures=measures, context=facts.context)


def empty_submission(year: int, tin: str, npi: str | None) -> Submission:
    return Submission(
        performance_year=year,
        entity_type=EntityType.INDIVIDUAL if npi else EntityType.GROUP,
        tin=tin,
        npi=npi,
    )


@dataclass(frozen=True, slots=True)
class Scoring:
    """What a preliminary score is computed from (shared by the score and the what-if)."""

    year: int
    tin: str
    npi: str | None
    access: ScoreAccess
    facts: EntityFacts
    policy: Policy
    measures: MeasuresYear
    submission_id: str | None
    last_updated: dt.datetime | None
    sets: tuple[MeasurementSet, ...] = field(default=())

    @property
    def submission(self) -> Submission:
        base = empty_submission(self.year, self.tin, self.npi)
        return Submission(
            performance_year=base.performance_year,
            entity_type=base.entity_type,
            tin=base.tin,
            npi=base.npi,
            measurement_sets=self.sets,
        )


def prepare(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime | None = None,
    scaling_factor: Decimal | None = None,
) -> Scoring:
    """Check access and read everything a score of the entity needs (nothing is written)."""
    now = now or utcnow()
    tin = str(Tin(tin))
    npi = str(Npi(npi)) if npi else None
    access = score_access(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    policy, measures = year_rules(year)
    facts = entity_facts(
        session,
        year=year,
        tin=tin,
        npi=npi,
        include_cost=access.include_cost,
        cost_withheld=access.cost_withheld,
        scaling_factor=scaling_factor,
    )
    row = entity_row(session, year=year, tin=tin, npi=npi)
    sets: tuple[MeasurementSet, ...] = ()
    if row is not None:
        sets = tuple(store.set_from_row(s) for s in sets_for(row, access))
    return Scoring(
        year,
        tin,
        npi,
        access,
        facts,
        policy,
        measures,
        row.id if row else None,
        row.updated_at if row else None,
        sets,
    )


def score_of(scoring: Scoring, submission: Submission, *, now: dt.datetime) -> PreliminaryScore:
    tree = score_with(
        submission, facts=scoring.facts, policy=scoring.policy, measures=scoring.measures
    )
    return PreliminaryScore(
        year=scoring.year,
        tin=scoring.tin,
        npi=scoring.npi,
        submission_id=scoring.submission_id,
        last_updated=scoring.last_updated,
        tree=tree,
        entity=scoring.facts,
        submission=submission,
        policy_year=scoring.policy.year,
        policy_verified=scoring.policy.is_verified("scoring"),
        measures_data=scoring.measures.source,
        measures_year=scoring.measures.year,
        access=scoring.access,
        sets_scored=len(submission.measurement_sets),
        scored_at=now,
    )


def preliminary_score(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime | None = None,
    scaling_factor: Decimal | None = None,
) -> PreliminaryScore | None:
    """The preliminary score of the group ``tin`` (or the clinician ``tin``/``npi``) in ``year``
    from its stored data as ``principal`` may see it; None when there is no data to score.

    Raises AccessError when the person may not see preliminary scores for the entity,
    InvalidValue for a malformed TIN or NPI, ScoringUnavailable when the year cannot be scored
    (no policy, or its measures data is not installed)."""
    now = now or utcnow()
    scoring = prepare(
        session,
        principal=principal,
        year=year,
        tin=tin,
        npi=npi,
        now=now,
        scaling_factor=scaling_factor,
    )
    if not scoring.sets:
        return None
    return score_of(scoring, scoring.submission, now=now)


# ---------------------------------------------------------------- the Reporting Overview


@dataclass(frozen=True, slots=True)
class OverviewScore:
    """What the Reporting Overview shows of the preliminary score.

    ``state`` is ``scored`` (the numbers are there), ``no_data`` (nothing submitted yet, or
    nothing the person's organisation submitted) or ``refused`` (``refused`` says why, e.g. the
    Clinician role sees final feedback, not preliminary scores)."""

    state: str
    year: int
    tin: str
    npi: str | None
    total: Decimal | None = None
    maximum: Decimal = Decimal(100)
    categories: tuple[CategoryScore, ...] = ()
    bonus: Decimal = Decimal(0)
    neutral: bool = False
    explanation: str = ""
    payment: PaymentEstimate | None = None
    unverified: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    refused: str | None = None
    policy_year: int | None = None
    measures_data: str | None = None
    summary_path: str = ""
    what_if_path: str = ""
    disclaimer: str = DISCLAIMER

    @property
    def scored(self) -> bool:
        return self.state == "scored"

    @property
    def total_words(self) -> str:
        if self.total is None:
            return ""
        return f"{number(self.total)} / {number(self.maximum)}"

    @property
    def has_unverified(self) -> bool:
        return bool(self.unverified)


def overview_score(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime | None = None,
) -> OverviewScore:
    """The Reporting Overview's preliminary score block for the group ``tin`` (or clinician
    ``tin``/``npi``). Never raises for access: a person who may not see preliminary scores gets
    ``state="refused"`` with the reason."""
    summary = score_path(year, str(tin), npi)
    what_if = what_if_path(year, str(tin), npi)
    try:
        score = preliminary_score(
            session, principal=principal, year=year, tin=tin, npi=npi, now=now
        )
    except AccessError as exc:
        return OverviewScore(
            "refused",
            year,
            tin,
            npi,
            refused=exc.message,
            summary_path=summary,
            what_if_path=what_if,
        )
    if score is None:
        return OverviewScore("no_data", year, tin, npi, summary_path=summary, what_if_path=what_if)
    return OverviewScore(
        "scored",
        year,
        score.tin,
        score.npi,
        total=score.total,
        maximum=score.maximum,
        categories=tuple(score.categories),
        bonus=score.bonus.points if score.bonus else Decimal(0),
        neutral=score.neutral,
        explanation=score.tree.explanation,
        payment=score.payment,
        unverified=score.unverified,
        warnings=score.warnings,
        policy_year=score.policy_year,
        measures_data=score.measures_data,
        summary_path=summary,
        what_if_path=what_if,
    )


def describe_categories(categories: Sequence[CategoryScore]) -> str:
    """``Quality 45 of 60 + Improvement Activities 15 of 15`` (scored categories)."""
    return " + ".join(
        f"{c.title} {number(c.contribution)} of {number(c.weight)}" for c in categories if c.scored
    )


__all__ = [
    "CATEGORIES",
    "CategoryScore",
    "OverviewScore",
    "PaymentEstimate",
    "PreliminaryScore",
    "ScoreAccess",
    "Scoring",
    "category_scores",
    "overview_score",
    "preliminary_score",
    "prepare",
    "score_access",
]
