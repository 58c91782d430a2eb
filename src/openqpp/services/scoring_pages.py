"""What the preliminary score pages show, one call per page.

* :func:`summary_page`: the preliminary total score, each category's score and weight, the
  payment adjustment estimate and the facts the score relied on;
* :func:`category_page`: "how we arrived at" one category's points (2019 data submission user
  guide, "Preliminary Quality Score Calculation" and its PI and IA counterparts): quality measures
  with their performance rate, decile, points, bonus and cap reasons; PI measures with their
  points and exclusions; improvement activities with their weights and points; cost measures
  with their cases and points. Every number carries its explanation from the score tree, and
  values resting on unverified policy are flagged;
* :func:`what_if_page`: the estimate if the practice adds a measure or an activity, improves a
  rate, or (opt-in eligible, before electing) opts in rather than reporting voluntarily, computed
  with the same engine on a modified copy of the combined submission. Nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from openqpp.core.errors import OpenQppError
from openqpp.core.scoring.explain import number
from openqpp.core.scoring.tree import ScoreNode
from openqpp.core.submissions.model import (
    Category,
    Measurement,
    MeasurementSet,
    PerformanceCounts,
    SinglePerformanceRate,
    Submission,
    SubmissionMethod,
)
from openqpp.db.base import utcnow
from openqpp.services.access.principals import Principal
from openqpp.services.elections.pages import ElectionPage, election_page
from openqpp.services.scoring_context import Adjustment, Fact
from openqpp.services.scoring_costs import StoredCostResult
from openqpp.services.scoring_overview import (
    PAGE_ORDER,
    CategoryScore,
    PaymentEstimate,
    PreliminaryScore,
    Scoring,
    category_scores,
    payment_estimate,
    prepare,
    score_of,
    score_path,
    what_if_path,
)

SLUG_TITLES = {
    "quality": "Quality",
    "pi": "Promoting Interoperability",
    "ia": "Improvement Activities",
    "cost": "Cost",
}


class UnknownCategory(OpenQppError):
    code = "OQ-SCORE-404-CAT"
    http_status = 404


# ---------------------------------------------------------------- numbers in words


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _num(value: object) -> str:
    found = _decimal(value)
    return number(found) if found is not None else str(value)


def _percent(value: object) -> str:
    return f"{_num(value)}%"


def _share(value: object) -> str:
    found = _decimal(value)
    return f"{number(found * 100)}%" if found is not None else str(value)


def _yes(value: object) -> str:
    return "Yes" if value else "No"


def _words(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


#: Inputs shown on a row, in order, with their label and how to write them.
FACTS: tuple[tuple[str, str, object], ...] = (
    ("submission_method", "Collection type", _words),
    ("best", "Collection type used", _words),
    ("performance_rate", "Performance rate", _percent),
    ("inverse", "Lower rate is better", _yes),
    ("eligible_population", "Eligible population", _num),
    ("reported", "Cases reported", _num),
    ("data_completeness", "Data completeness", _share),
    ("data_completeness_threshold", "Data completeness needed", _share),
    ("case_minimum", "Case minimum", _num),
    ("case_count", "Cases", _num),
    ("benchmark_layout", "Benchmark", _words),
    ("benchmark_year", "Benchmark year", _num),
    ("decile", "Decile", _num),
    ("percentile", "Percentile", _num),
    ("decile_points", "Decile points", _num),
    ("partial", "Partial decile points", _num),
    ("floor", "Minimum points", _num),
    ("cap", "Cap", _num),
    ("measure_type", "Measure type", _words),
    ("high_priority", "High priority", _yes),
    ("end_to_end_reported", "Reported end to end", _yes),
    ("numerator", "Numerator", _num),
    ("denominator", "Denominator", _num),
    ("formula", "Formula", _words),
    ("objective", "Objective", _words),
    ("base_points", "Base points", _num),
    ("weight", "Weight", _words),
    ("subcategory", "Subcategory", _words),
    ("submission_methods", "Submitted through", _words),
    ("bonus_points", "Bonus points", _num),
)


def row_facts(inputs: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    out = []
    for key, label, write in FACTS:
        if key in inputs and inputs[key] is not None and inputs[key] != "":
            out.append((label, write(inputs[key])))  # type: ignore[operator]
    return tuple(out)


# ---------------------------------------------------------------- page pieces


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a category table: a measure, an activity or a step, explained."""

    key: str
    title: str | None
    points: Decimal
    maximum: Decimal | None
    status: str
    facts: tuple[tuple[str, str], ...]
    explanations: tuple[str, ...]
    unverified: tuple[str, ...]
    rule: str
    sub: bool = False

    @property
    def points_words(self) -> str:
        if self.maximum is None:
            return "not scored"
        return f"{number(self.points)} / {number(self.maximum)}"

    @property
    def anchor(self) -> str:
        return "row-" + "".join(c if c.isalnum() else "-" for c in self.key.lower())


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    intro: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class TreeLine:
    """A node of the score tree for the "every number" list."""

    depth: int
    node: ScoreNode

    @property
    def label(self) -> str:
        title = self.node.title or self.node.name
        return title if title == self.node.name else f"{title} ({self.node.name})"

    @property
    def points_words(self) -> str:
        if self.node.maximum is None:
            return "not scored"
        return f"{number(self.node.points)} / {number(self.node.maximum)}"

    @property
    def indent(self) -> int:
        return min(self.depth, 6)


def tree_lines(node: ScoreNode, depth: int = 0) -> Iterator[TreeLine]:
    yield TreeLine(depth, node)
    for child in node.children:
        yield from tree_lines(child, depth + 1)


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    title: str
    path: str
    current: bool


def _nav(score_year: int, tin: str, npi: str | None, current: str | None) -> tuple[NavItem, ...]:
    items = [
        NavItem(
            "summary", "Preliminary Total Score", score_path(score_year, tin, npi), current is None
        )
    ]
    for key in PAGE_ORDER:
        items.append(
            NavItem(key, SLUG_TITLES[key], score_path(score_year, tin, npi, key), current == key)
        )
    items.append(
        NavItem("what-if", "What if…", what_if_path(score_year, tin, npi), current == "what-if")
    )
    return tuple(items)


def _row(node: ScoreNode, *, status: str, title: str | None = None, sub: bool = False) -> Row:
    return Row(
        key=node.name,
        title=title or node.title,
        points=node.points,
        maximum=node.maximum,
        status=status,
        facts=row_facts(node.inputs),
        explanations=(node.explanation,),
        unverified=node.all_unverified(),
        rule=node.rule,
        sub=sub,
    )


# ---------------------------------------------------------------- quality


def _used_instance(measure: ScoreNode) -> tuple[ScoreNode | None, ScoreNode | None]:
    """(the collection type node used, its achievement leaf) of a measure node."""
    if not measure.children:
        return None, None
    best = measure.inputs.get("best")
    used = next((c for c in measure.children if c.name == best), None) or max(
        measure.children, key=lambda c: c.points
    )
    leaf = used
    while leaf.children and leaf.rule == "quality.topped_out_cap":
        leaf = leaf.children[0]
    return used, leaf


def _bonus_by_measure(category: ScoreNode) -> dict[str, list[tuple[str, Decimal]]]:
    bonuses: dict[str, list[tuple[str, Decimal]]] = {}
    for bonus in category.children:
        if bonus.rule not in ("quality.high_priority_bonus", "quality.end_to_end_bonus"):
            continue
        label = "High-priority bonus" if "high_priority" in bonus.rule else "End-to-end bonus"
        for child in bonus.children:
            bonuses.setdefault(child.name, []).append((label, child.points))
    return bonuses


def _measure_row(
    measure: ScoreNode, *, counted: bool, bonuses: Mapping[str, list[tuple[str, Decimal]]]
) -> Row:
    used, leaf = _used_instance(measure)
    facts: list[tuple[str, str]] = []
    explanations = [measure.explanation]
    unverified = list(measure.all_unverified())
    if leaf is not None:
        facts.extend(row_facts(leaf.inputs))
        if leaf is not measure:
            explanations.append(leaf.explanation)
    if used is not None and used is not leaf:
        explanations.append(used.explanation)
        facts.append(("Capped", f"at {number(used.points)} points"))
    for label, points in bonuses.get(measure.name, []):
        facts.append((label, number(points)))
    if len(measure.children) > 1 and used is not None:
        for other in measure.children:
            if other is not used:
                explanations.append(f"Not used: {other.explanation}")
    if counted:
        status = "Counted"
    elif bonuses.get(measure.name) and any(p for _, p in bonuses[measure.name]):
        status = "Bonus points only"
    else:
        status = "Not counted"
    return Row(
        key=measure.name,
        title=measure.title,
        points=measure.points,
        maximum=measure.maximum,
        status=status,
        facts=tuple(dict.fromkeys(facts)),
        explanations=tuple(dict.fromkeys(explanations)),
        unverified=tuple(dict.fromkeys(unverified)),
        rule=measure.rule,
    )


def quality_sections(node: ScoreNode) -> tuple[Section, ...]:
    bonuses = _bonus_by_measure(node)
    sections = []
    counted = next((c for c in node.children if c.rule == "quality.measures_counted"), None)
    if counted is not None:
        sections.append(
            Section(
                "Measures that count toward your Quality score",
                counted.explanation,
                tuple(_measure_row(m, counted=True, bonuses=bonuses) for m in counted.children),
            )
        )
    not_counted = next((c for c in node.children if c.rule == "quality.measures_not_counted"), None)
    if not_counted is not None and not_counted.children:
        sections.append(
            Section(
                "Measures that do not count (their bonus points still may)",
                not_counted.explanation,
                tuple(
                    _measure_row(m, counted=False, bonuses=bonuses) for m in not_counted.children
                ),
            )
        )
    others = [c for c in node.children if c not in (counted, not_counted)]
    if others:
        rows = []
        for other in others:
            row = _row(other, status="Bonus" if "bonus" in other.rule else "Step")
            rows.append(replace(row, key=other.title or other.name, title=None))
            for child in other.children:
                rows.append(_row(child, status="", sub=True))
        sections.append(
            Section(
                "Bonus points and other parts of the Quality score",
                "Bonus points are added to the measure points, each within its cap.",
                tuple(rows),
            )
        )
    return tuple(sections)


# ---------------------------------------------------------------- PI, IA, cost


def _title_of(scoring: Scoring, measure_id: str) -> str | None:
    measure = scoring.measures.measure(measure_id)
    return measure.title if measure is not None else None


PI_STATUS = {
    "pi.performance_rate": "Performance score",
    "pi.yes_measure": "Yes/no measure",
    "pi.bonus": "Bonus",
    "pi.bonus_limit": "Bonus limit",
    "pi.attestation": "Required attestation",
    "pi.exclusion": "Exclusion claimed",
    "pi.public_health_objective": "Public health objective",
    "pi.public_health_registry": "Public health registry",
    "pi.required_measure_missing": "Required, missing",
    "pi.not_scored": "Not scored",
    "pi.unknown_measure": "Unknown measure",
    "pi.alternative_not_used": "Alternative not used",
}


def pi_sections(node: ScoreNode, scoring: Scoring) -> tuple[Section, ...]:
    rows = []
    for child in node.children:
        rows.append(
            _row(
                child,
                status=PI_STATUS.get(child.rule, child.rule),
                title=_title_of(scoring, child.name) or child.title,
            )
        )
        for grand in child.children:
            rows.append(
                _row(
                    grand,
                    status=PI_STATUS.get(grand.rule, grand.rule),
                    title=_title_of(scoring, grand.name) or grand.title,
                    sub=True,
                )
            )
    failures = node.inputs.get("failures")
    intro = node.explanation
    if isinstance(failures, list) and failures:
        intro += " " + " ".join(str(f.get("message", "")) for f in failures if isinstance(f, dict))
    return (Section("Promoting Interoperability measures", intro, tuple(rows)),)


def ia_sections(node: ScoreNode, scoring: Scoring) -> tuple[Section, ...]:
    rows = []
    for child in node.children:
        status = {
            "ia.activity": "Activity",
            "ia.apm_credit": "APM participation credit",
            "ia.pcmh_full_credit": "Medical home full credit",
        }.get(child.rule, child.rule)
        rows.append(_row(child, status=status, title=child.title or _title_of(scoring, child.name)))
    return (Section("Improvement activities", node.explanation, tuple(rows)),)


def cost_sections(
    node: ScoreNode, scoring: Scoring, stored: tuple[StoredCostResult, ...]
) -> tuple[Section, ...]:
    loaded = {s.result.measure_id: s for s in stored}
    rows = []
    leaves: list[ScoreNode] = []
    for child in node.children:
        if child.rule in ("cost.measure_points", "cost.below_case_minimum"):
            leaves.append(child)
        elif child.rule == "cost.achievement":
            leaves.extend(child.children)
        else:
            rows.append(
                _row(child, status="Improvement" if "improvement" in child.rule else child.rule)
            )
    for leaf in leaves:
        row = _row(
            leaf,
            status="Scored" if leaf.rule == "cost.measure_points" else "Below case minimum",
            title=_title_of(scoring, leaf.name),
        )
        source = loaded.get(leaf.name)
        if source is not None:
            extra = (
                (
                    "Case minimum from",
                    "CMS's file"
                    if source.case_minimum_source == "file"
                    else "openqpp policy (unverified)",
                ),
                ("Loaded from", source.source_file),
            )
            row = replace(row, facts=row.facts + extra)
            if source.case_minimum_source == "policy":
                row = replace(row, unverified=(*row.unverified, "scoring.cost.case_minimums"))
        rows.append(row)
    return (Section("Cost measures (calculated by CMS)", node.explanation, tuple(rows)),)


# ---------------------------------------------------------------- pages


@dataclass(frozen=True, slots=True)
class ScoreBasis:
    """What the score rests on, shown on every page."""

    policy_year: int
    policy_verified: bool
    measures_data: str
    run_number: int | None
    facts: tuple[Fact, ...]
    adjustment: Adjustment
    unverified: tuple[str, ...]
    warnings: tuple[str, ...]


def _basis(score: PreliminaryScore) -> ScoreBasis:
    return ScoreBasis(
        policy_year=score.policy_year,
        policy_verified=score.policy_verified,
        measures_data=score.measures_data,
        run_number=score.entity.run_number,
        facts=score.entity.facts,
        adjustment=score.entity.adjustment,
        unverified=score.unverified,
        warnings=score.warnings,
    )


@dataclass(frozen=True, slots=True)
class SummaryPage:
    header: ElectionPage
    score: PreliminaryScore | None
    nav: tuple[NavItem, ...]
    basis: ScoreBasis | None
    tree: tuple[TreeLine, ...] = ()

    @property
    def heading(self) -> str:
        return "Preliminary Total Score"


def _header(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None,
    now: dt.datetime,
) -> ElectionPage:
    return election_page(session, principal=principal, year=year, tin=tin, npi=npi, now=now)


def summary_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime | None = None,
) -> SummaryPage:
    now = now or utcnow()
    header = _header(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    scoring = prepare(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    nav = _nav(year, scoring.tin, scoring.npi, None)
    if not scoring.sets:
        return SummaryPage(header, None, nav, None)
    score = score_of(scoring, scoring.submission, now=now)
    return SummaryPage(header, score, nav, _basis(score), tuple(tree_lines(score.tree)))


@dataclass(frozen=True, slots=True)
class CategoryPage:
    header: ElectionPage
    key: str
    title: str
    nav: tuple[NavItem, ...]
    score: PreliminaryScore | None
    category: CategoryScore | None
    node: ScoreNode | None
    sections: tuple[Section, ...]
    calculation: tuple[str, ...]
    basis: ScoreBasis | None
    tree: tuple[TreeLine, ...]
    notes: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        return f"{self.title} preliminary score"


def _calculation(
    node: ScoreNode, category: CategoryScore, score: PreliminaryScore
) -> tuple[str, ...]:
    lines = [node.explanation]
    if category.scored and category.maximum:
        lines.append(
            f"{number(category.points)} / {number(category.maximum)} x "
            f"{number(category.weight)}% (the category weight) = "
            f"{number(category.contribution)} points toward the final score."
        )
    else:
        lines.append(
            f"{category.title} is not scored in this preliminary score: its weight "
            "goes to the other categories."
        )
    lines.append(score.tree.explanation.split(". ")[0] + ".")
    return tuple(lines)


def category_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    category: str,
    npi: str | None = None,
    now: dt.datetime | None = None,
) -> CategoryPage:
    now = now or utcnow()
    key = category.strip().lower()
    if key not in PAGE_ORDER:
        raise UnknownCategory(
            f"There is no performance category {category!r}.",
            fix="Choose quality, pi, ia or cost.",
        )
    header = _header(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    scoring = prepare(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    nav = _nav(year, scoring.tin, scoring.npi, key)
    title = SLUG_TITLES[key]
    notes: list[str] = []
    if key == "cost" and scoring.facts.cost_withheld:
        notes.append("Cost results are not shown to you: " + scoring.facts.cost_withheld)
    if not scoring.sets:
        return CategoryPage(
            header, key, title, nav, None, None, None, (), (), None, (), tuple(notes)
        )
    score = score_of(scoring, scoring.submission, now=now)
    node = score.tree.child(key)
    cat = score.category(key)
    assert node is not None
    assert cat is not None
    if key == "quality":
        sections = quality_sections(node)
    elif key == "pi":
        sections = pi_sections(node, scoring)
    elif key == "ia":
        sections = ia_sections(node, scoring)
    else:
        sections = cost_sections(node, scoring, scoring.facts.cost_results)
    return CategoryPage(
        header=header,
        key=key,
        title=title,
        nav=nav,
        score=score,
        category=cat,
        node=node,
        sections=sections,
        calculation=_calculation(node, cat, score),
        basis=_basis(score),
        tree=tuple(tree_lines(node)),
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- what-if


@dataclass(frozen=True, slots=True)
class Outcome:
    """A final score estimate and the payment adjustment it leads to."""

    label: str
    total: Decimal
    maximum: Decimal
    categories: tuple[CategoryScore, ...]
    payment: PaymentEstimate
    neutral: bool
    explanation: str

    @property
    def adjustment_words(self) -> str:
        if not self.payment.applies:
            return "0% (no payment adjustment applies)"
        sign = "+" if self.payment.percent > 0 else ""
        return f"{sign}{number(self.payment.percent)}%"


def _outcome(label: str, tree: ScoreNode, score: Scoring, adjustment: Adjustment) -> Outcome:
    return Outcome(
        label=label,
        total=tree.points,
        maximum=tree.maximum or Decimal(100),
        categories=tuple(category_scores(tree, year=score.year, tin=score.tin, npi=score.npi)),
        payment=payment_estimate(tree, applies=adjustment.applies, reason=adjustment.reason),
        neutral=tree.rule == "final.neutral_score",
        explanation=tree.explanation,
    )


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class WhatIfPage:
    header: ElectionPage
    year: int
    tin: str
    npi: str | None
    nav: tuple[NavItem, ...]
    has_data: bool
    baseline: Outcome
    scenario: Outcome | None
    election_choices: tuple[Outcome, Outcome] | None
    changes: tuple[str, ...]
    assumptions: tuple[str, ...]
    errors: tuple[dict[str, str], ...]
    form: Mapping[str, str]
    measure_options: tuple[Option, ...]
    activity_options: tuple[Option, ...]
    improve_options: tuple[Option, ...]
    max_scaling_factor: Decimal
    basis: ScoreBasis | None
    notes: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        return what_if_path(self.year, self.tin, self.npi)

    @property
    def difference(self) -> Decimal | None:
        if self.scenario is None:
            return None
        return self.scenario.total - self.baseline.total

    def field_error(self, name: str) -> str | None:
        return next((e["message"] for e in self.errors if e["field"] == name), None)


@dataclass
class _Changes:
    submission: Submission
    described: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def error(self, name: str, message: str) -> None:
        self.errors.append(
            {"field": name, "message": message, "href": f"#{name.replace('_', '-')}"}
        )


def _whole(raw: str, name: str, label: str, changes: _Changes, *, minimum: int = 0) -> int | None:
    try:
        value = int(raw.strip())
    except ValueError:
        changes.error(name, f"{label} must be a whole number.")
        return None
    if value < minimum:
        changes.error(name, f"{label} must be {minimum} or more.")
        return None
    return value


def _what_if_set(
    submission: Submission, category: Category, year: int
) -> tuple[Submission, MeasurementSet]:
    """The what-if set of ``category`` (registry, program mips), created empty if needed."""
    found = next(
        (
            s
            for s in submission.measurement_sets
            if s.category is category
            and s.submission_method is SubmissionMethod.REGISTRY
            and s.source == "what-if"
        ),
        None,
    )
    if found is not None:
        return submission, found
    new = MeasurementSet(
        category=category,
        submission_method=SubmissionMethod.REGISTRY,
        performance_start=dt.date(year, 1, 1),
        performance_end=dt.date(year, 12, 31),
        source="what-if",
    )
    return replace(submission, measurement_sets=(*submission.measurement_sets, new)), new


def _add(submission: Submission, target: MeasurementSet, measurement: Measurement) -> Submission:
    sets = []
    for s in submission.measurement_sets:
        if s is target:
            s = replace(s, measurements=(*s.measurements, measurement))
        sets.append(s)
    return replace(submission, measurement_sets=tuple(sets))


def _reported(submission: Submission, category: Category) -> set[str]:
    return {
        m.measure_id.upper()
        for s in submission.measurement_sets
        if s.category is category
        for m in s.measurements
    }


def _improvable(submission: Submission, scoring: Scoring) -> tuple[Option, ...]:
    out: dict[str, Option] = {}
    for s in submission.measurement_sets:
        if s.category is not Category.QUALITY:
            continue
        for m in s.measurements:
            value = m.value
            if not isinstance(value, SinglePerformanceRate):
                continue
            counts = value.counts
            denominator = counts.performance_met + (counts.performance_not_met or 0)
            rate = (
                f"{number(Decimal(counts.performance_met) / denominator * 100)}%"
                if denominator
                else "no rate"
            )
            title = _title_of(scoring, m.measure_id) or ""
            out.setdefault(
                m.measure_id.upper(),
                Option(m.measure_id, f"{m.measure_id} {title} (now {rate})".strip()),
            )
    return tuple(out.values())


def _apply(form: Mapping[str, str], scoring: Scoring, submission: Submission) -> _Changes:
    changes = _Changes(submission)
    year = scoring.year
    measure_id = form.get("measure", "").strip()
    if measure_id:
        measure = scoring.measures.quality(measure_id)
        met = _whole(form.get("measure_met", ""), "measure_met", "Performance met", changes)
        population = _whole(
            form.get("measure_population", ""),
            "measure_population",
            "Eligible population",
            changes,
            minimum=1,
        )
        if measure is None:
            changes.error("measure", f"{measure_id} is not a {year} quality measure.")
        elif measure.measure_id.upper() in _reported(changes.submission, Category.QUALITY):
            changes.error(
                "measure",
                f'{measure.measure_id} is already reported: use "Improve a rate" instead.',
            )
        elif met is not None and population is not None:
            if met > population:
                changes.error(
                    "measure_met", "Performance met cannot be more than the eligible population."
                )
            else:
                end_to_end = form.get("measure_end_to_end") == "yes"
                value = SinglePerformanceRate(
                    is_end_to_end_reported=end_to_end,
                    counts=PerformanceCounts(
                        performance_met=met,
                        eligible_population=population,
                        performance_not_met=population - met,
                        eligible_population_exclusion=0,
                        eligible_population_exception=0,
                    ),
                )
                submission_now, target = _what_if_set(changes.submission, Category.QUALITY, year)
                changes.submission = _add(
                    submission_now, target, Measurement(measure.measure_id, value)
                )
                changes.described.append(
                    f"Add quality measure {measure.measure_id} ({measure.title}): {met} of "
                    f"{population} patients met ({number(Decimal(met) / population * 100)}%)"
                    + (", reported end to end" if end_to_end else "")
                    + "."
                )
                changes.assumptions.append(
                    "An added measure is reported as a MIPS CQM (registry) for the whole year with "
                    "every eligible patient reported (100% data completeness)."
                )
    activity_id = form.get("activity", "").strip()
    if activity_id:
        activity = scoring.measures.ia(activity_id)
        if activity is None:
            changes.error("activity", f"{activity_id} is not a {year} improvement activity.")
        elif activity.measure_id.upper() in _reported(changes.submission, Category.IA):
            changes.error("activity", f"{activity.measure_id} is already attested.")
        else:
            submission_now, target = _what_if_set(changes.submission, Category.IA, year)
            changes.submission = _add(
                submission_now, target, Measurement(activity.measure_id, True)
            )
            weight = f", {activity.weight}-weighted" if activity.weight else ""
            changes.described.append(
                f"Attest improvement activity {activity.measure_id} ({activity.title}{weight})."
            )
    improve_id = form.get("improve", "").strip()
    raw_rate = form.get("improve_rate", "").strip()
    if improve_id or raw_rate:
        rate: Decimal | None = None
        try:
            rate = Decimal(raw_rate)
        except InvalidOperation:
            changes.error(
                "improve_rate", "The new performance rate must be a number from 0 to 100."
            )
        if rate is not None and (not rate.is_finite() or not 0 <= rate <= 100):
            changes.error(
                "improve_rate", "The new performance rate must be a number from 0 to 100."
            )
            rate = None
        if not improve_id:
            changes.error("improve", "Choose the measure whose rate you want to change.")
        elif rate is not None:
            changes.submission, found = _improve(changes.submission, improve_id, rate)
            if not found:
                changes.error(
                    "improve",
                    f"{improve_id} is not a reported measure with a single performance rate.",
                )
            else:
                changes.described.append(
                    f"Change the performance rate of measure {improve_id} to {number(rate)}%."
                )
                changes.assumptions.append(
                    "A changed rate keeps the measure's eligible population and cases reported "
                    "(the same data completeness); only the split between met and not met "
                    "changes."
                )
    return changes


def _improve(submission: Submission, measure_id: str, rate: Decimal) -> tuple[Submission, bool]:
    found = False
    sets = []
    for s in submission.measurement_sets:
        if s.category is Category.QUALITY:
            measurements = []
            for m in s.measurements:
                value = m.value
                if m.measure_id.upper() == measure_id.upper() and isinstance(
                    value, SinglePerformanceRate
                ):
                    counts = value.counts
                    denominator = counts.performance_met + (counts.performance_not_met or 0)
                    met = int((Decimal(denominator) * rate / 100).to_integral_value())
                    counts = replace(
                        counts, performance_met=met, performance_not_met=denominator - met
                    )
                    m = Measurement(
                        m.measure_id, replace(value, counts=counts, performance_rate=None)
                    )
                    found = True
                measurements.append(m)
            s = replace(s, measurements=tuple(measurements))
        sets.append(s)
    return replace(submission, measurement_sets=tuple(sets)), found


def _scaling(
    form: Mapping[str, str], scoring: Scoring, errors: list[dict[str, str]]
) -> Decimal | None:
    raw = form.get("scaling_factor", "").strip()
    if not raw:
        return None
    maximum = scoring.policy.scoring.payment_adjustment.max_scaling_factor
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 < value <= maximum:
        errors.append(
            {
                "field": "scaling_factor",
                "message": "The scaling factor must be a number above 0 and at most "
                f"{number(maximum)}.",
                "href": "#scaling-factor",
            }
        )
        return None
    return value


def what_if_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    form: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> WhatIfPage:
    """The what-if page: the baseline estimate and, when the form asks for changes, the estimate
    with them (computed on a copy of the combined submission; nothing is stored)."""
    now = now or utcnow()
    form = {k: v for k, v in (form or {}).items() if isinstance(v, str)}
    header = _header(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    scoring = prepare(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    errors: list[dict[str, str]] = []
    factor = _scaling(form, scoring, errors)
    if factor is not None:
        scoring = replace(
            scoring,
            facts=replace(
                scoring.facts, context=replace(scoring.facts.context, scaling_factor=factor)
            ),
        )
    facts = scoring.facts
    base_submission = scoring.submission
    baseline_score = score_of(scoring, base_submission, now=now)
    baseline = _outcome(
        "Now (data submitted to date)", baseline_score.tree, scoring, facts.adjustment
    )
    changes = _apply(form, scoring, base_submission)
    errors.extend(changes.errors)
    scenario: Outcome | None = None
    scenario_tree: ScoreNode | None = None
    if changes.described and not errors:
        scenario_tree = score_of(scoring, changes.submission, now=now).tree
        scenario = _outcome("With your changes", scenario_tree, scoring, facts.adjustment)
    choices: tuple[Outcome, Outcome] | None = None
    if facts.opt_in_eligible_without_election:
        tree = scenario_tree or baseline_score.tree
        choices = (
            _outcome(
                "If you opt in",
                tree,
                scoring,
                Adjustment(
                    True,
                    "Opted in: the payment adjustment would apply (positive, neutral or negative).",
                ),
            ),
            _outcome(
                "If you report voluntarily",
                tree,
                scoring,
                Adjustment(
                    False,
                    "Voluntary reporters get no payment adjustment; the score is feedback only.",
                ),
            ),
        )
    payment = (scenario or baseline).payment
    assumptions = [
        "Every figure is an ESTIMATE from openqpp's scoring engine, computed on a copy of the data "
        "submitted to date; nothing you enter here is stored or submitted.",
        *(dict.fromkeys(changes.assumptions) if scenario else ()),
        *(a[:1].upper() + a[1:] for a in payment.assumptions),
        f"Scored with the {scoring.policy.year} rules and measures data {scoring.measures.source}.",
        "The payment adjustment applies two years after the performance year.",
    ]
    if baseline_score.unverified:
        assumptions.append(
            f"The score relies on {len(baseline_score.unverified)} policy value(s) openqpp "
            "could not verify (listed below)."
        )
    notes = list(baseline_score.warnings)
    qualities = tuple(
        Option(m.measure_id, f"{m.measure_id} {m.title}")
        for m in sorted(scoring.measures.quality_measures, key=lambda m: m.measure_id)
        if m.metric_type == "singlePerformanceRate" and "registry" in m.submission_methods
    )
    activities = tuple(
        Option(a.measure_id, f"{a.measure_id} {a.title}" + (f" ({a.weight})" if a.weight else ""))
        for a in sorted(scoring.measures.improvement_activities, key=lambda a: a.measure_id)
        if a.measure_id.upper() not in _reported(base_submission, Category.IA)
    )
    return WhatIfPage(
        header=header,
        year=scoring.year,
        tin=scoring.tin,
        npi=scoring.npi,
        nav=_nav(year, scoring.tin, scoring.npi, "what-if"),
        has_data=bool(scoring.sets),
        baseline=baseline,
        scenario=scenario,
        election_choices=choices,
        changes=tuple(changes.described) if scenario else (),
        assumptions=tuple(dict.fromkeys(assumptions)),
        errors=tuple(errors),
        form=form,
        measure_options=qualities,
        activity_options=activities,
        improve_options=_improvable(base_submission, scoring),
        max_scaling_factor=scoring.policy.scoring.payment_adjustment.max_scaling_factor,
        basis=_basis(baseline_score),
        notes=tuple(notes),
    )
