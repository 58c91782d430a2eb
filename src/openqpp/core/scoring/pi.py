"""Promoting Interoperability: the category score from the submitted PI measurement sets.

The rules (mips-rules.md §4.4; 2019 data submission user guide, Promoting Interoperability):

* Gates, each scoring the category 0 when failed: one consistent set of PI data (conflicting
  data sent through several submission types scores 0 of 25, the guide), a CMS EHR
  Certification ID of the year's format, a performance period of at least the year's days, and
  every required attestation answered yes (a few count with either answer).
* All or nothing: every required measure is reported (a numerator of at least 1, or yes) or
  excluded, or one of its substitutes is (the HIE alternatives); otherwise the category is 0.
* A measure earns its rate times its points, rounded half up, and at least 1 point when the
  numerator is at least 1; a yes measure earns its points. An excluded measure gives its points
  to the measures the year names (``pi.exclusion_redistribution``).
* Public Health and Clinical Data Exchange earns its points as an objective (``pi.public_health``).
* Bonus measures add their points; the sum is capped (``pi.cap``).

Measure ids, objectives, exclusion ids and substitutes come from the year's measures data; the
points and which measures are required or bonus come from policy (``pi.measures``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.explain import HUNDRED, ZERO, listed, node, number, unverified, whole
from openqpp.core.scoring.tree import Combine, ScoreNode
from openqpp.core.submissions.combine import pi_conflicting_data, pi_conflicts
from openqpp.core.submissions.model import (
    Category,
    MeasurementSet,
    MeasurementValue,
    Proportion,
)
from openqpp.measures import MeasuresYear
from openqpp.policy import Policy
from openqpp.policy.model import Pi

PUBLIC_HEALTH = "publicHealthAndClinicalDataExchange"
_MEASURES = "scoring.pi.measures"


@dataclass(frozen=True, slots=True)
class _Failure:
    rule: str
    message: str


@dataclass(slots=True)
class _Merged:
    values: dict[str, MeasurementValue] = field(default_factory=dict)
    methods: dict[str, list[str]] = field(default_factory=dict)
    cehrt_ids: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- measures data


@dataclass(frozen=True, slots=True)
class _Catalogue:
    """What the measures data says about the year's PI measures, indexed once per year."""

    objective: Mapping[str, str]
    exclusions: Mapping[str, tuple[str, ...]]
    substitutes: Mapping[str, tuple[str, ...]]
    known: frozenset[str]


@lru_cache(maxsize=16)
def _catalogue(measures: MeasuresYear) -> _Catalogue:
    objective: dict[str, str] = {}
    linked: dict[str, list[str]] = defaultdict(list)
    exclusion_ids: list[str] = []
    substitutes: dict[str, tuple[str, ...]] = {}
    for m in measures.pi_measures:
        key = m.measure_id.upper()
        objective[key] = m.objective or key
        substitutes[key] = tuple(s.upper() for s in m.substitutes)
        for e in m.exclusion:
            linked[key].append(e.upper())
        if m.reporting_category == "exclusion":
            exclusion_ids.append(key)
    claimed = {e for es in linked.values() for e in es}
    for e in exclusion_ids:
        if e in claimed:
            continue
        owner = next((m for m in objective if e.startswith(m + "_EX_")), None)
        if owner is not None:
            linked[owner].append(e)
            continue
        # An exclusion no measure names (PY2019 PI_LVITC_2, PI_CUITC_1): it belongs to the
        # required measures of its objective that name no exclusion of their own.
        for m in measures.pi_measures:
            mid = m.measure_id.upper()
            if (
                m.is_required
                and objective[mid] == objective[e]
                and not m.exclusion
                and m.reporting_category == "required"
                and m.metric_type == "proportion"
            ):
                linked[mid].append(e)
    return _Catalogue(
        objective=objective,
        exclusions={k: tuple(dict.fromkeys(v)) for k, v in linked.items()},
        substitutes=substitutes,
        known=frozenset(objective),
    )


# --------------------------------------------------------------------------- helpers


def _merge(sets: Sequence[MeasurementSet]) -> _Merged:
    merged = _Merged()
    for s in sets:
        method = s.submission_method.value
        if s.cehrt_id and s.cehrt_id not in merged.cehrt_ids:
            merged.cehrt_ids.append(s.cehrt_id)
        for m in s.measurements:
            key = m.measure_id.upper()
            merged.values.setdefault(key, m.value)
            merged.methods.setdefault(key, []).append(method)
    return merged


def _is_yes(value: MeasurementValue | None) -> bool:
    return value is True


def _met(value: MeasurementValue | None) -> bool:
    """Reported as CMS requires: yes, or a numerator of at least 1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Proportion):
        return value.numerator >= 1 and value.denominator >= 1
    return False


def _why_unmet(measure_id: str, value: MeasurementValue | None) -> str:
    if value is None:
        return f"{measure_id} was not reported"
    if value is False:
        return f"{measure_id} was answered no"
    if isinstance(value, Proportion):
        return f"{measure_id} has a numerator of {value.numerator} (CMS requires at least 1)"
    return f"{measure_id} has a value of the wrong kind"


def _days(sets: Sequence[MeasurementSet]) -> int | None:
    starts = [s.performance_start for s in sets if s.performance_start]
    ends = [s.performance_end for s in sets if s.performance_end]
    if not starts or not ends:
        return None
    return (max(ends) - min(starts)).days + 1


# --------------------------------------------------------------------------- scoring


def score_pi(
    sets: Sequence[MeasurementSet],
    *,
    policy: Policy,
    measures: MeasuresYear,
    context: ScoringContext,
) -> ScoreNode:
    """The Promoting Interoperability category node ``pi``: points out of the cap (100)."""
    rules = policy.scoring.pi
    cap = Decimal(rules.cap)
    pi_sets = [s for s in sets if s.category is Category.PI]
    base_unverified = unverified(policy, "scoring.pi.cap")
    if not pi_sets:
        return node(
            "pi",
            "pi.no_data",
            ZERO,
            cap,
            "No Promoting Interoperability data was submitted, so the category scores 0 of "
            f"{number(cap)} points.",
            title="Promoting Interoperability",
            unverified=base_unverified,
        )
    merged = _merge(pi_sets)
    methods = sorted({s.submission_method.value for s in pi_sets})
    inputs: dict[str, object] = {
        "submission_methods": methods,
        "cehrt_id": merged.cehrt_ids[0] if merged.cehrt_ids else None,
        "cap": rules.cap,
    }
    conflicts = pi_conflicting_data(pi_sets, measures=measures)
    if conflicts:
        # One rule for the overview page and the scorer: core.submissions.combine.
        return node(
            "pi",
            "pi.conflicting_submissions",
            ZERO,
            cap,
            str(pi_conflicts(pi_sets, measures=measures))
            + " (2019 data submission user guide: conflicting data for a measure or a required "
            "attestation through multiple submission types scores the category 0.)",
            title="Promoting Interoperability",
            inputs={**inputs, "conflicts": [f"{c.subject}: {c.detail}" for c in conflicts]},
            unverified=base_unverified,
        )

    catalogue = _catalogue(measures)
    failures: list[_Failure] = []
    used_paths: list[str] = ["scoring.pi.cap", _MEASURES]
    failures += _check_gates(pi_sets, merged, rules, policy, inputs, used_paths)

    scorer = _MeasureScorer(policy, catalogue, merged.values)
    children, measure_failures = scorer.score()
    failures += measure_failures
    used_paths += scorer.used_paths
    node_unverified = unverified(policy, *dict.fromkeys(used_paths))

    if failures:
        first = failures[0]
        return node(
            "pi",
            first.rule,
            ZERO,
            cap,
            "Promoting Interoperability scores 0 because "
            + "; ".join(f.message for f in failures)
            + ". Every requirement must be met for the category to score (all or nothing).",
            title="Promoting Interoperability",
            inputs={
                **inputs,
                "failures": [{"rule": f.rule, "message": f.message} for f in failures],
            },
            unverified=node_unverified,
        )

    total = sum((c.points for c in children), ZERO)
    required_points = sum((c.points for c in children if not c.inputs.get("bonus")), ZERO)
    bonus_points = total - required_points
    capped = min(total, cap)
    explanation = (
        f"Promoting Interoperability: {number(required_points)} points from the required "
        f"measures and {number(bonus_points)} bonus points, {number(total)} in all"
    )
    explanation += f", capped at {number(cap)}." if total > cap else f", out of {number(cap)}."
    explanation += (
        f" The category gives {number(capped)} / {number(cap)} of its weight "
        "(points divided by 100, times the category weight)."
    )
    return node(
        "pi",
        "pi.measure_points",
        capped,
        cap,
        explanation,
        title="Promoting Interoperability",
        combine=Combine.SUM,
        children=tuple(children),
        inputs={**inputs, "sum": number(total)},
        unverified=node_unverified,
    )


def _check_gates(
    sets: Sequence[MeasurementSet],
    merged: _Merged,
    rules: Pi,
    policy: Policy,
    inputs: dict[str, object],
    used_paths: list[str],
) -> list[_Failure]:
    failures: list[_Failure] = []
    used_paths.append("scoring.pi.cehrt_id_pattern")
    if not merged.cehrt_ids:
        failures.append(
            _Failure(
                "pi.cehrt_id_missing",
                "no CMS EHR Certification ID (CEHRT ID) was submitted with the data",
            )
        )
    elif not re.fullmatch(rules.cehrt_id_pattern, merged.cehrt_ids[0]):
        failures.append(
            _Failure(
                "pi.cehrt_id_invalid",
                f"the CEHRT ID {merged.cehrt_ids[0]} is not of the {policy.year} format "
                f"({rules.cehrt_id_pattern}); generate the ID for your certified EHR in CHPL",
            )
        )
    days = _days(sets)
    inputs["performance_period_days"] = days
    used_paths.append("scoring.pi.performance_period_days")
    if days is not None and days < rules.performance_period_days:
        failures.append(
            _Failure(
                "pi.performance_period_too_short",
                f"the performance period is {days} days, shorter than the "
                f"{rules.performance_period_days} continuous days required",
            )
        )
    used_paths += ["scoring.pi.required_attestations", "scoring.pi.any_answer_attestations"]
    missing: list[str] = []
    for attestation in rules.required_attestations:
        value = merged.values.get(attestation.upper())
        if attestation in rules.any_answer_attestations:
            if not isinstance(value, bool):
                missing.append(f"{attestation} was not answered")
        elif value is not True:
            missing.append(
                f"{attestation} was not answered yes"
                if value is not None
                else f"{attestation} was not attested"
            )
    if missing:
        failures.append(_Failure("pi.attestation_missing", "; ".join(missing)))
    return failures


class _MeasureScorer:
    """Scores the measures of one merged PI submission."""

    def __init__(
        self, policy: Policy, catalogue: _Catalogue, values: Mapping[str, MeasurementValue]
    ) -> None:
        rules = policy.scoring.pi
        self.rules = rules
        self.ph_unverified = unverified(policy, "scoring.pi.public_health")
        self.catalogue = catalogue
        self.values = values
        self.points = {k.upper(): Decimal(v.points) for k, v in rules.measures.items()}
        self.used_paths: list[str] = []

    # -- small questions --------------------------------------------------------------

    def objective(self, measure_id: str) -> str:
        return self.catalogue.objective.get(measure_id, measure_id)

    def claimed_exclusions(self, measure_id: str) -> list[str]:
        return [
            e for e in self.catalogue.exclusions.get(measure_id, ()) if _is_yes(self.values.get(e))
        ]

    # -- the whole category ------------------------------------------------------------

    def score(self) -> tuple[list[ScoreNode], list[_Failure]]:
        rules = self.rules
        failures: list[_Failure] = []
        required = [k.upper() for k, v in rules.measures.items() if v.required]
        bonus = [k.upper() for k, v in rules.measures.items() if v.bonus]
        ph_measures = [
            k.upper() for k in rules.measures if self.objective(k.upper()) == PUBLIC_HEALTH
        ]

        # Objectives other than public health: required measures, with their alternatives.
        by_objective: dict[str, list[str]] = defaultdict(list)
        for m in required:
            if m not in ph_measures:
                by_objective[self.objective(m)].append(m)
        chosen: dict[str, list[str]] = {}
        not_chosen: dict[str, tuple[list[str], str]] = {}
        excluded: set[str] = set()
        for objective, members in by_objective.items():
            option, unmet, dropped = self._choose_option(members)
            if unmet:
                failures.append(_Failure("pi.required_measure_missing", "; ".join(unmet)))
            chosen[objective] = option
            for m in dropped:
                not_chosen[m] = (option, objective)
            excluded |= {
                m for m in option if not _met(self.values.get(m)) and self.claimed_exclusions(m)
            }

        ph = self._public_health(ph_measures, failures)
        if ph.fully_excluded:
            excluded.add(PUBLIC_HEALTH)

        extra, moved, lost = self._redistribute(excluded, ph.points)

        children: list[ScoreNode] = []
        for option in chosen.values():
            for m in option:
                children.append(self._required_leaf(m, extra, moved, lost))
        for m, (option, objective) in not_chosen.items():
            value = self.values.get(m)
            if value is None:
                continue
            children.append(
                node(
                    m,
                    "pi.alternative_not_used",
                    ZERO,
                    ZERO,
                    f"{m} is an alternative within {objective}; the higher-scoring "
                    f"{listed(option)} was counted instead.",
                )
            )
        if ph.leaves or ph.points:
            children.append(ph.node(moved, lost))
        children += self._bonus_leaves(bonus, ph_measures)
        children += self._other_leaves({c.name for c in children} | set(ph_measures))
        return children, failures

    # -- alternatives (HIE: send + receive, bi-directional exchange, TEFCA) -------------

    def _options(self, members: list[str]) -> list[list[str]]:
        options: list[list[str]] = []
        for m in members:
            subs = set(self.catalogue.substitutes.get(m, ()))
            option = [
                n
                for n in members
                if n == m or (n not in subs and m not in self.catalogue.substitutes.get(n, ()))
            ]
            if option not in options:
                options.append(option)
        return options

    def _option_points(self, option: list[str]) -> Decimal:
        total = ZERO
        for m in option:
            value = self.values.get(m)
            if isinstance(value, Proportion) and value.denominator:
                total += Decimal(value.numerator) / Decimal(value.denominator) * self.points[m]
            elif value is True:
                total += self.points[m]
        return total

    def _satisfied(self, m: str) -> bool:
        return _met(self.values.get(m)) or bool(self.claimed_exclusions(m))

    def _choose_option(self, members: list[str]) -> tuple[list[str], list[str], list[str]]:
        """The option counted, the unmet requirements (empty when one option is complete),
        and the measures of the other options."""
        options = self._options(members)
        complete = [o for o in options if all(self._satisfied(m) for m in o)]
        if complete:
            best = max(complete, key=self._option_points)
            return best, [], [m for m in members if m not in best]
        base = options[0]
        unmet = [_why_unmet(m, self.values.get(m)) for m in base if not self._satisfied(m)]
        if len(options) > 1:
            others = [listed(o) for o in options[1:]]
            unmet[-1] += f" (nor was its alternative {' or '.join(others)} reported)"
        return base, unmet, [m for m in members if m not in base]

    # -- exclusions ----------------------------------------------------------------------

    def _redistribute(
        self, excluded: set[str], ph_points: Decimal
    ) -> tuple[dict[str, Decimal], dict[str, tuple[Decimal, tuple[str, ...]]], dict[str, Decimal]]:
        """Points each receiver gains, what each excluded item gave and to whom, and points
        that had nowhere to go."""
        if excluded:
            self.used_paths.append("scoring.pi.exclusion_redistribution")
        mapping = {
            k.upper() if k != PUBLIC_HEALTH else k: v
            for k, v in self.rules.exclusion_redistribution.items()
        }
        held: dict[str, Decimal] = {
            x: (ph_points if x == PUBLIC_HEALTH else self.points.get(x, ZERO)) for x in excluded
        }
        extra: dict[str, Decimal] = defaultdict(lambda: ZERO)
        moved: dict[str, tuple[Decimal, tuple[str, ...]]] = {}
        lost: dict[str, Decimal] = {}
        for _ in range(len(held) + 1):
            changed = False
            for key in list(held):
                pts = held[key]
                if pts == 0:
                    continue
                held[key] = ZERO
                changed = True
                receivers = tuple(r.upper() for r in mapping.get(key, ()))
                if not receivers:
                    lost[key] = lost.get(key, ZERO) + pts
                    continue
                share = pts / len(receivers)
                for r in receivers:
                    if r in held:
                        held[r] += share
                    else:
                        extra[r] += share
                previous = moved.get(key, (ZERO, receivers))[0]
                moved[key] = (previous + pts, receivers)
            if not changed:
                break
        return dict(extra), moved, lost

    # -- leaves ------------------------------------------------------------------------

    def _required_leaf(
        self,
        m: str,
        extra: Mapping[str, Decimal],
        moved: Mapping[str, tuple[Decimal, tuple[str, ...]]],
        lost: Mapping[str, Decimal],
    ) -> ScoreNode:
        base = self.points[m]
        gained = extra.get(m, ZERO)
        maximum = base + gained
        value = self.values.get(m)
        inputs: dict[str, object] = {"base_points": str(base), "objective": self.objective(m)}
        if gained:
            inputs["redistributed_points"] = str(gained)
        gained_text = (
            f" ({number(base)} plus {number(gained)} redistributed from an exclusion)"
            if gained
            else ""
        )
        if not _met(value):
            claimed = self.claimed_exclusions(m)
            if claimed:
                gave, to = moved.get(m, (ZERO, ()))
                where = (
                    f"its {number(gave)} points go to {listed(list(to))}"
                    if to
                    else f"its {number(lost.get(m, base))} points are not redistributed"
                )
                return node(
                    m,
                    "pi.exclusion",
                    ZERO,
                    ZERO,
                    f"Exclusion {listed(claimed)} claimed for {m}: {where}.",
                    inputs={**inputs, "exclusions": claimed},
                )
            # unmet: the category fails; show the measure at 0
            return node(
                m,
                "pi.required_measure_missing",
                ZERO,
                maximum,
                _why_unmet(m, value) + ".",
                inputs=inputs,
            )
        if isinstance(value, Proportion):
            rate = Decimal(value.numerator) / Decimal(value.denominator)
            raw = rate * maximum
            points = max(whole(raw), Decimal(1)) if maximum >= 1 else whole(raw)
            points = min(points, maximum)
            floor = " (at least 1 point for a numerator of at least 1)" if whole(raw) < 1 else ""
            return node(
                m,
                "pi.performance_rate",
                points,
                maximum,
                f"{value.numerator} of {value.denominator} ({number(rate * HUNDRED)}%) times "
                f"{number(maximum)} points{gained_text} = {number(raw)}, rounded to "
                f"{number(points)}{floor}.",
                inputs={
                    **inputs,
                    "numerator": value.numerator,
                    "denominator": value.denominator,
                    "formula": (
                        f"(({value.numerator}/{value.denominator})*{number(maximum)})"
                        f" = {number(points)}"
                    ),
                },
            )
        return node(
            m,
            "pi.yes_measure",
            maximum,
            maximum,
            f"{m} answered yes: {number(maximum)} points{gained_text}.",
            inputs=inputs,
        )

    def _bonus_leaves(self, bonus: list[str], ph_measures: list[str]) -> list[ScoreNode]:
        leaves: list[ScoreNode] = []
        limit = self.rules.public_health.bonus_registries_max
        ph_counted = 0
        for m in bonus:
            value = self.values.get(m)
            if value is None:
                continue
            points = self.points[m]
            inputs: dict[str, object] = {"bonus": True, "objective": self.objective(m)}
            if not _met(value):
                leaves.append(
                    node(
                        m,
                        "pi.bonus",
                        ZERO,
                        points,
                        f"Bonus measure {m} not earned: {_why_unmet(m, value)}.",
                        inputs=inputs,
                    )
                )
                continue
            if m in ph_measures:
                if limit is not None and ph_counted >= limit:
                    leaves.append(
                        node(
                            m,
                            "pi.bonus_limit",
                            ZERO,
                            ZERO,
                            f"{m} answered yes, but only {limit} optional public health registry "
                            "earns the bonus.",
                            inputs=inputs,
                            unverified=self.ph_unverified,
                        )
                    )
                    continue
                ph_counted += 1
            leaves.append(
                node(
                    m,
                    "pi.bonus",
                    points,
                    points,
                    f"Bonus measure {m} reported: {number(points)} bonus points.",
                    inputs=inputs,
                )
            )
        return leaves

    def _other_leaves(self, done: set[str]) -> list[ScoreNode]:
        """Everything else that was submitted: attestations, exclusions, unscored ids."""
        leaves: list[ScoreNode] = []
        exclusion_ids = {e for es in self.catalogue.exclusions.values() for e in es}
        for m, value in self.values.items():
            if m in done or m in exclusion_ids:
                continue
            if m in {a.upper() for a in self.rules.required_attestations}:
                answer = "yes" if value is True else "no"
                text = f"Required attestation {m} answered {answer} (no points)."
                rule = "pi.attestation"
            elif m in self.catalogue.known:
                text = f"{m} earns no points of its own (an optional attestation or a qualifier)."
                rule = "pi.not_scored"
            else:
                text = (
                    f"{m} is not a Promoting Interoperability measure of this year; it is ignored."
                )
                rule = "pi.unknown_measure"
            leaves.append(node(m, rule, ZERO, ZERO, text))
        return leaves

    # -- public health -----------------------------------------------------------------

    def _public_health(self, ph_measures: list[str], failures: list[_Failure]) -> _PublicHealth:
        self.used_paths.append("scoring.pi.public_health")
        rules = self.rules
        scored = [m for m in ph_measures if not rules.measures[self._policy_key(m)].bonus]
        named = [m for m in scored if rules.measures[self._policy_key(m)].required]
        points = max((self.points[m] for m in scored), default=ZERO)
        result = _PublicHealth(points=points, unverified=self.ph_unverified)
        if not scored:
            return result
        claimed = {m: self.claimed_exclusions(m) for m in scored}
        any_exclusion = [e for es in claimed.values() for e in es]
        if rules.public_health.registries_required is None:
            slots = len(named) or 1
            share = points / slots
            yes = [m for m in named if _is_yes(self.values.get(m))]
            for m in named:
                if _is_yes(self.values.get(m)):
                    result.leaves.append(
                        (
                            m,
                            "pi.public_health_registry",
                            share,
                            f"{m} answered yes: {number(share)} of the objective's "
                            f"{number(points)} points.",
                        )
                    )
                elif claimed[m]:
                    pts = share if yes else ZERO
                    text = (
                        f"Exclusion {listed(claimed[m])} claimed for {m}: its share "
                        f"({number(share)} points) completes the objective."
                        if yes
                        else f"Exclusion {listed(claimed[m])} claimed for {m}."
                    )
                    result.leaves.append((m, "pi.exclusion", pts, text))
                else:
                    failures.append(
                        _Failure(
                            "pi.required_measure_missing",
                            _why_unmet(m, self.values.get(m))
                            + " (public health: report yes or claim an exclusion)",
                        )
                    )
                    result.leaves.append(
                        (
                            m,
                            "pi.required_measure_missing",
                            ZERO,
                            _why_unmet(m, self.values.get(m)) + ".",
                        )
                    )
            if named and not yes and all(claimed[m] for m in named):
                result.fully_excluded = True
            return result
        needed = rules.public_health.registries_required
        share = points / needed
        yes = [m for m in scored if _is_yes(self.values.get(m))]
        for i, m in enumerate(yes):
            if i < needed:
                result.leaves.append(
                    (
                        m,
                        "pi.public_health_registry",
                        share,
                        f"{m} answered yes (active engagement with a registry): {number(share)} "
                        f"of the objective's {number(points)} points.",
                    )
                )
            else:
                result.leaves.append(
                    (
                        m,
                        "pi.public_health_registry",
                        ZERO,
                        f"{m} answered yes; the {needed} registries the objective needs are "
                        "already counted.",
                    )
                )
        for m in scored:
            value = self.values.get(m)
            if value is False:
                result.leaves.append((m, "pi.public_health_registry", ZERO, f"{m} answered no."))
        if yes and len(yes) < needed and any_exclusion:
            pts = share * (needed - len(yes))
            result.leaves.append(
                (
                    "exclusion",
                    "pi.exclusion",
                    pts,
                    f"Exclusion {listed(any_exclusion)} claimed: with {len(yes)} registry answered "
                    f"yes it completes the objective ({number(pts)} points).",
                )
            )
        elif not yes and any_exclusion:
            result.fully_excluded = True
            result.leaves.append(
                (
                    "exclusion",
                    "pi.exclusion",
                    ZERO,
                    f"Exclusion {listed(any_exclusion)} claimed for the objective.",
                )
            )
        elif not yes:
            failures.append(
                _Failure(
                    "pi.required_measure_missing",
                    f"the Public Health and Clinical Data Exchange objective was not reported "
                    f"(answer yes for {needed} registries, or claim exclusions)",
                )
            )
        elif len(yes) < needed:
            result.note = (
                f"Only {len(yes)} of the {needed} registries the objective needs answered yes and "
                "no exclusion was claimed: the objective earns part of its points."
            )
        return result

    def _policy_key(self, m: str) -> str:
        return next(k for k in self.rules.measures if k.upper() == m)


@dataclass(slots=True)
class _PublicHealth:
    points: Decimal
    leaves: list[tuple[str, str, Decimal, str]] = field(default_factory=list)
    unverified: tuple[str, ...] = ()
    fully_excluded: bool = False
    note: str | None = None

    def node(
        self,
        moved: Mapping[str, tuple[Decimal, tuple[str, ...]]],
        lost: Mapping[str, Decimal],
    ) -> ScoreNode:
        children = tuple(
            node(name, rule, pts, self.points, text, unverified=self.unverified)
            for name, rule, pts, text in self.leaves
        )
        total = sum((c.points for c in children), ZERO)
        points = min(total, self.points)
        if self.fully_excluded:
            gave, to = moved.get(PUBLIC_HEALTH, (ZERO, ()))
            where = (
                f"its {number(gave)} points go to {listed(list(to))}"
                if to
                else f"its {number(lost.get(PUBLIC_HEALTH, self.points))} points are not "
                "redistributed"
            )
            text = f"Public Health and Clinical Data Exchange: exclusions claimed, {where}."
        else:
            text = (
                f"Public Health and Clinical Data Exchange: {number(points)} of "
                f"{number(self.points)} points."
            )
            if self.note:
                text += " " + self.note
        return node(
            PUBLIC_HEALTH,
            "pi.public_health_objective",
            points,
            ZERO if self.fully_excluded else self.points,
            text,
            combine=Combine.SUM,
            children=children,
            inputs={"objective_points": str(self.points)},
            unverified=self.unverified,
        )
