"""The final score: category weights, the complex patient bonus, the neutral score, the cap, the
payment adjustment estimate and the choice between several final scores.

mips-rules.md §4.1: ``final = Σ category score × weight + complex patient bonus``, capped at
``final_score_cap``; with fewer than two categories scored the final score is the performance
threshold. §4.2: a category that is not scored (reweighted to 0%) gives its weight to the others
by the year's redistribution table (``scoring.redistribution``, small-practice rows from 2022).
§4.7: the payment adjustment is a linear sliding scale around the performance threshold; the
scaling factor comes from the national score distribution and is an input here, so the result
is an estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from openqpp.core.elections.scores import (
    ChosenScore,
    FinalScoreCandidate,
    ScoreSource,
    score_for_payment_adjustment,
)
from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.explain import HUNDRED, ZERO, listed, number, unverified
from openqpp.core.scoring.tree import Combine, ScoreNode, rounded
from openqpp.policy import Policy
from openqpp.policy.model import Redistribution

CATEGORIES: tuple[str, ...] = ("quality", "cost", "ia", "pi")
TITLES: Mapping[str, str] = {
    "quality": "Quality",
    "cost": "Cost",
    "ia": "Improvement Activities",
    "pi": "Promoting Interoperability",
}
#: The complex patient bonus estimate: average HCC risk score + this x dual-eligible ratio, on
#: the scale of a 5-point bonus (mips-rules.md §4.1, the 2018-2019 formula, marked ?).
DUAL_RATIO_FACTOR = Decimal(5)
FORMULA_SCALE = Decimal(5)


def is_scored(node: ScoreNode) -> bool:
    """Whether a category node counts in the final score (a not-scored node has no maximum)."""
    return node.maximum is not None and node.inputs.get("scored", True) is not False


# --------------------------------------------------------------------------- weights


@dataclass(frozen=True, slots=True)
class WeightChoice:
    weights: Mapping[str, Decimal]
    row: Redistribution | None
    unverified: tuple[str, ...]
    explanation: str


def category_weights(
    not_scored: frozenset[str], *, policy: Policy, small_practice: bool
) -> WeightChoice | None:
    """The weights for the categories that are scored; None when fewer than two are."""
    scoring = policy.scoring
    if len(CATEGORIES) - len(not_scored) < 2:
        return None
    if not not_scored:
        defaults = scoring.category_weights
        return WeightChoice(
            {c: getattr(defaults, c) for c in CATEGORIES},
            None,
            unverified(policy, "scoring.category_weights"),
            f"The {policy.year} default weights apply (every category is scored).",
        )
    rows = [
        r
        for r in scoring.redistribution
        if frozenset(r.not_scored) == not_scored
        and (r.small_practice is None or r.small_practice == small_practice)
    ]
    missing = listed([TITLES[c] for c in CATEGORIES if c in not_scored])
    if rows:
        row = rows[0]
        size = ""
        if row.small_practice is not None:
            size = (
                " for a small practice"
                if row.small_practice
                else " for a practice that is not small"
            )
        return WeightChoice(
            {c: getattr(row.weights, c) for c in CATEGORIES},
            row,
            ("scoring.redistribution",) if row.status == "unverified" else (),
            f"{missing} not scored: the {policy.year} redistribution row{size} gives "
            + ", ".join(f"{TITLES[c]} {number(getattr(row.weights, c))}%" for c in CATEGORIES)
            + (" (this row is unverified)." if row.status == "unverified" else "."),
        )
    # No row for this combination: share the missing weight in proportion (flagged).
    defaults = scoring.category_weights
    scored_total = sum((getattr(defaults, c) for c in CATEGORIES if c not in not_scored), ZERO)
    weights = {
        c: (ZERO if c in not_scored else getattr(defaults, c) / scored_total * HUNDRED)
        for c in CATEGORIES
    }
    return WeightChoice(
        weights,
        None,
        ("scoring.redistribution",),
        f"{missing} not scored and the {policy.year} table has no row for it: the weight is "
        "shared in proportion to the default weights (an assumption).",
    )


# --------------------------------------------------------------------------- bonus


def complex_patient_bonus(*, policy: Policy, context: ScoringContext, has_data: bool) -> ScoreNode:
    """The complex patient bonus node (points added to the final score, up to the year's max)."""
    maximum = policy.scoring.complex_patient_bonus_max
    gate = policy.scoring.complex_patient_bonus_median_gate
    paths = unverified(
        policy, "scoring.complex_patient_bonus_max", "scoring.complex_patient_bonus_median_gate"
    )

    def node(points: Decimal, text: str, inputs: Mapping[str, object] | None = None) -> ScoreNode:
        return ScoreNode(
            name="complex_patient_bonus",
            rule="final.complex_patient_bonus",
            points=rounded(points),
            maximum=maximum,
            weight=maximum,
            explanation=text,
            title="Complex patient bonus",
            inputs=dict(inputs or {}),
            unverified=paths if inputs else (),
        )

    if not has_data:
        return node(
            ZERO,
            "No complex patient bonus: it needs data submitted for at least one "
            "performance category.",
        )
    inputs = context.complex_patient
    if inputs is None or (
        inputs.average_hcc_risk_score is None and inputs.dual_eligible_ratio is None
    ):
        return node(
            ZERO,
            "No complex patient bonus: CMS's complex patient inputs (average HCC "
            "risk score, dual-eligible ratio) were not loaded for this entity.",
        )
    hcc = inputs.average_hcc_risk_score or ZERO
    dual = inputs.dual_eligible_ratio or ZERO
    facts: dict[str, object] = {
        "average_hcc_risk_score": str(hcc),
        "dual_eligible_ratio": str(dual),
        "median_gate": gate,
    }
    if gate:
        median = inputs.median_hcc_risk_score
        facts["median_hcc_risk_score"] = None if median is None else str(median)
        if median is None:
            return node(
                ZERO,
                f"No complex patient bonus estimated: from {policy.year} it is given "
                "only at or above the national median risk score, and the median was not "
                "loaded.",
                facts,
            )
        if inputs.average_hcc_risk_score is None or hcc < median:
            return node(
                ZERO,
                f"No complex patient bonus: the average HCC risk score "
                f"{number(hcc)} is below the national median {number(median)} (the "
                "dual-eligible median is not known here).",
                facts,
            )
    raw = (hcc + DUAL_RATIO_FACTOR * dual) * maximum / FORMULA_SCALE
    points = min(raw, maximum)
    return node(
        points,
        f"Complex patient bonus (estimate): (average HCC risk score {number(hcc)} + "
        f"{number(DUAL_RATIO_FACTOR)} x dual-eligible ratio {number(dual)}) scaled to the "
        f"{number(maximum)}-point maximum = {number(raw)}"
        + (f", capped at {number(maximum)}" if raw > maximum else "")
        + ". The exact CMS formula is not verified.",
        facts,
    )


# --------------------------------------------------------------------------- payment adjustment


@dataclass(frozen=True, slots=True)
class PaymentAdjustmentEstimate:
    """An estimate of the MIPS payment adjustment a final score leads to (two years later)."""

    final_score: Decimal
    percent: Decimal
    exceptional_percent: Decimal | None
    scaling_factor: Decimal
    explanation: str
    assumptions: tuple[str, ...]
    unverified: tuple[str, ...]

    def as_inputs(self) -> dict[str, object]:
        return {
            "estimate": True,
            "percent": str(self.percent),
            "exceptional_percent": (
                None if self.exceptional_percent is None else str(self.exceptional_percent)
            ),
            "scaling_factor": str(self.scaling_factor),
            "explanation": self.explanation,
            "assumptions": list(self.assumptions),
        }


def estimate_payment_adjustment(
    final_score: Decimal, *, policy: Policy, context: ScoringContext
) -> PaymentAdjustmentEstimate:
    """The linear sliding scale of 42 CFR 414.1405 with the context's scaling factor."""
    rules = policy.scoring.payment_adjustment
    threshold = rules.performance_threshold
    applicable = rules.max_adjustment_percent
    assumptions: list[str] = []
    factor = context.scaling_factor
    if factor is None:
        factor = Decimal(1)
        assumptions.append(
            "no scaling factor was given: 1.0 is assumed (CMS sets it from the national score "
            f"distribution, up to {number(rules.max_scaling_factor)})"
        )
    elif factor > rules.max_scaling_factor:
        assumptions.append(
            f"the scaling factor {number(factor)} exceeds the maximum "
            f"{number(rules.max_scaling_factor)} and is limited to it"
        )
        factor = rules.max_scaling_factor
    assumptions.append("budget-neutrality rounding and the clinician's eligibility are not applied")
    if final_score >= threshold:
        if threshold >= HUNDRED:
            percent = ZERO
        else:
            percent = applicable * (final_score - threshold) / (HUNDRED - threshold) * factor
        text = (
            f"At or above the performance threshold {number(threshold)}: "
            f"+{number(applicable)}% x ({number(final_score)} - {number(threshold)}) / "
            f"(100 - {number(threshold)}) x scaling factor {number(factor)} = "
            f"{number(percent)}%."
        )
    elif final_score <= threshold / 4:
        percent = -applicable
        text = (
            f"At or below a quarter of the performance threshold ({number(threshold / 4)}): the "
            f"largest negative adjustment, -{number(applicable)}%."
        )
    else:
        percent = -applicable * (threshold - final_score) / threshold
        text = (
            f"Below the performance threshold {number(threshold)}: -{number(applicable)}% x "
            f"({number(threshold)} - {number(final_score)}) / {number(threshold)} = "
            f"{number(percent)}% (linear: 0% at the threshold)."
        )
    exceptional: Decimal | None = None
    ept = rules.exceptional_performance_threshold
    if ept is not None and final_score >= ept:
        # SSA 1848(q)(6)(C): 0.5% at the exceptional threshold up to 10% at 100, before the
        # $500 million pool scales it down.
        low, high = Decimal("0.5"), Decimal(10)
        share = (final_score - ept) / (HUNDRED - ept) if ept < HUNDRED else Decimal(1)
        exceptional = low + (high - low) * share
        text += (
            f" Exceptional performance (at or above {number(ept)}): an additional adjustment "
            f"of {number(exceptional)}% before CMS scales it to the $500 million yearly pool "
            "(the scaled amount is much smaller)."
        )
        assumptions.append(
            "the exceptional performance adjustment is shown before its pool scaling"
        )
    return PaymentAdjustmentEstimate(
        final_score=final_score,
        percent=rounded(percent),
        exceptional_percent=None if exceptional is None else rounded(exceptional),
        scaling_factor=factor,
        explanation="Payment adjustment ESTIMATE (applied two years after the performance year): "
        + text
        + " Assumptions: "
        + "; ".join(assumptions)
        + ".",
        assumptions=tuple(assumptions),
        unverified=unverified(
            policy,
            "scoring.payment_adjustment.performance_threshold",
            "scoring.payment_adjustment.max_adjustment_percent",
            "scoring.payment_adjustment.max_scaling_factor",
            "scoring.payment_adjustment.exceptional_performance_threshold",
        ),
    )


# --------------------------------------------------------------------------- the total


def final_score(
    categories: Mapping[str, ScoreNode],
    *,
    policy: Policy,
    context: ScoringContext,
    has_data: bool,
    inputs: Mapping[str, object] | None = None,
) -> ScoreNode:
    """The ``total`` node from the four category nodes (scored or not)."""
    scoring = policy.scoring
    cap = scoring.final_score_cap
    not_scored = frozenset(c for c in CATEGORIES if not is_scored(categories[c]))
    choice = category_weights(not_scored, policy=policy, small_practice=context.small_practice)
    bonus = complex_patient_bonus(policy=policy, context=context, has_data=has_data)
    root_inputs: dict[str, object] = {
        "performance_year": policy.year,
        "categories_scored": [c for c in CATEGORIES if c not in not_scored],
        "categories_not_scored": [c for c in CATEGORIES if c in not_scored],
        **(inputs or {}),
    }
    paths = list(unverified(policy, "scoring.final_score_cap"))

    if choice is None:
        threshold = scoring.payment_adjustment.performance_threshold
        children = (*(replace(categories[c], weight=ZERO) for c in CATEGORIES), bonus)
        estimate = estimate_payment_adjustment(threshold, policy=policy, context=context)
        scored = [TITLES[c] for c in CATEGORIES if c not in not_scored]
        paths += unverified(policy, "scoring.payment_adjustment.performance_threshold")
        return ScoreNode(
            name="total",
            rule="final.neutral_score",
            points=rounded(threshold),
            maximum=cap,
            explanation=(
                f"Fewer than two performance categories are scored ({listed(scored) or 'none'}), "
                f"so the final score is the performance threshold, {number(threshold)}, and the "
                "payment adjustment is neutral. " + estimate.explanation
            ),
            title="Final score",
            combine=Combine.RULE,
            children=children,
            inputs={**root_inputs, "payment_adjustment": estimate.as_inputs()},
            unverified=tuple(dict.fromkeys([*paths, *estimate.unverified])),
        )

    children_list: list[ScoreNode] = []
    parts: list[str] = []
    total = ZERO
    for c in CATEGORIES:
        node = categories[c]
        weight = choice.weights[c] if c not in not_scored else ZERO
        children_list.append(replace(node, weight=weight))
        if c in not_scored or not node.maximum:
            continue
        contribution = node.points / node.maximum * weight
        total += contribution
        parts.append(f"{TITLES[c]} {number(contribution)} of {number(weight)}")
    total += bonus.points
    if bonus.points:
        parts.append(f"complex patient bonus {number(bonus.points)}")
    children_list.append(bonus)
    points = min(total, cap)
    estimate = estimate_payment_adjustment(rounded(points), policy=policy, context=context)
    explanation = f"Preliminary final score {number(points)} of {number(cap)}: " + " + ".join(parts)
    if total > cap:
        explanation += f" = {number(total)}, capped at {number(cap)}"
    explanation += ". " + choice.explanation
    for c in CATEGORIES:
        if c in not_scored:
            explanation += f" {TITLES[c]}: {categories[c].explanation}"
    explanation += " " + estimate.explanation
    return ScoreNode(
        name="total",
        rule="final.weighted_sum",
        points=rounded(points),
        maximum=cap,
        explanation=explanation,
        title="Final score",
        combine=Combine.WEIGHTED,
        children=tuple(children_list),
        inputs={
            **root_inputs,
            "weights": {c: str(choice.weights[c]) for c in CATEGORIES},
            "redistribution_row": list(choice.row.not_scored) if choice.row else None,
            "payment_adjustment": estimate.as_inputs(),
        },
        unverified=tuple(dict.fromkeys([*paths, *choice.unverified, *estimate.unverified])),
    )


# --------------------------------------------------------------------------- several scores


def final_score_candidate(
    source: ScoreSource, total: ScoreNode, *, counts_for_adjustment: bool = True
) -> FinalScoreCandidate:
    """A scored submission as a candidate for :func:`choose_final_score`."""
    return FinalScoreCandidate(source, total.points, counts_for_adjustment)


def choose_final_score(candidates: Sequence[FinalScoreCandidate]) -> ChosenScore | None:
    """The final score a clinician's payment adjustment uses when it has several (individual,
    group, virtual group, APM entity): the elections domain's rule, reused as is — a virtual
    group's score for its members, otherwise the highest; voluntary scores never count."""
    return score_for_payment_adjustment(candidates)
