"""Cost: the category score from CMS's cost measure results, loaded by the operator.

Nothing is submitted for cost: CMS calculates each cost measure from Medicare claims and gives it
1-10 achievement points against the performance-period benchmark. A measure counts only when the
entity's attributed cases meet its case minimum; the category score is the average of the
counted measures' points (out of 10). When no measure meets its case minimum the category is not
scored and its weight is redistributed (mips-rules.md §4.6, [S-QPP-COST]).

Improvement scoring adds up to ``cost.improvement_max_percent`` percentage points in years that
have it. CMS scores cost improvement per measure (significant improvement minus significant
decline); openqpp only has last year's category percent, so the improvement here is an estimate:
the relative rise of the category percent times the maximum, as the explanation says.
"""

from __future__ import annotations

from decimal import Decimal

from openqpp.core.scoring.context import CostMeasureResult, ScoringContext
from openqpp.core.scoring.explain import HUNDRED, ZERO, listed, number, unverified
from openqpp.core.scoring.tree import Combine, ScoreNode, rounded
from openqpp.policy import Policy

MEASURE_MAXIMUM = Decimal(10)
"""Achievement points of one cost measure run 1-10 (42 CFR 414.1380(b)(2))."""


def _meets_minimum(result: CostMeasureResult) -> bool:
    return result.case_count >= result.case_minimum and result.points is not None


def score_cost(*, policy: Policy, context: ScoringContext) -> ScoreNode:
    """The cost category node ``cost`` (percent 0-100), or a not-scored node (no maximum)."""
    results = context.cost_results
    counted = [r for r in results if _meets_minimum(r)]
    ignored = [r for r in results if not _meets_minimum(r)]
    ignored_leaves = tuple(
        ScoreNode(
            name=r.measure_id,
            rule="cost.below_case_minimum",
            points=ZERO,
            maximum=None,
            explanation=(
                f"{r.measure_id}: {r.case_count} attributed cases, below the case minimum of "
                f"{r.case_minimum}: the measure is not scored."
            ),
            inputs={"case_count": r.case_count, "case_minimum": r.case_minimum},
        )
        for r in ignored
    )
    if not counted:
        if results:
            why = (
                f"none of the {len(results)} cost measures CMS calculated "
                f"({listed([r.measure_id for r in results])}) met its case minimum"
            )
        else:
            why = "no cost measure results were loaded for this entity (CMS attributed no cases)"
        return ScoreNode(
            name="cost",
            rule="cost.not_scored",
            points=ZERO,
            maximum=None,
            explanation=(
                f"Cost is not scored: {why}. The category is reweighted to 0% and its weight "
                "goes to the other categories."
            ),
            title="Cost",
            children=ignored_leaves,
            inputs={"scored": False, "measures": len(results)},
        )

    weight = HUNDRED / len(counted)
    measure_leaves = tuple(
        ScoreNode(
            name=r.measure_id,
            rule="cost.measure_points",
            points=rounded(min(r.points or ZERO, MEASURE_MAXIMUM)),
            maximum=MEASURE_MAXIMUM,
            explanation=(
                f"{r.measure_id}: {number(r.points or ZERO)} of {number(MEASURE_MAXIMUM)} "
                f"achievement points ({r.case_count} cases, case minimum {r.case_minimum}); "
                f"one of {len(counted)} measures averaged."
            ),
            weight=weight,
            inputs={"case_count": r.case_count, "case_minimum": r.case_minimum},
        )
        for r in counted
    )
    achievement_value = sum(
        (min(r.points or ZERO, MEASURE_MAXIMUM) / MEASURE_MAXIMUM * weight for r in counted), ZERO
    )
    average = achievement_value / HUNDRED * MEASURE_MAXIMUM
    achievement = ScoreNode(
        name="achievement",
        rule="cost.achievement",
        points=rounded(achievement_value),
        maximum=HUNDRED,
        explanation=(
            f"Average of {len(counted)} scored cost measure(s): {number(average)} of "
            f"{number(MEASURE_MAXIMUM)} points = {number(achievement_value)}%."
        ),
        combine=Combine.WEIGHTED,
        children=measure_leaves + ignored_leaves,
    )
    children = [achievement]
    improvement_max = policy.scoring.cost.improvement_max_percent
    node_unverified: tuple[str, ...] = ()
    prior = context.prior_year.cost_percent if context.prior_year else None
    if improvement_max > 0 and prior is not None:
        node_unverified = unverified(policy, "scoring.cost.improvement_max_percent")
        children.append(_improvement(achievement_value, prior, improvement_max, node_unverified))
    total = sum((c.points for c in children), ZERO)
    capped = min(total, HUNDRED)
    return ScoreNode(
        name="cost",
        rule="cost.average_points",
        points=rounded(capped),
        maximum=HUNDRED,
        explanation=(
            f"Cost: {number(capped)}% ({number(average)} of {number(MEASURE_MAXIMUM)} average "
            "achievement points"
            + (
                f" plus {number(children[1].points)} improvement points"
                if len(children) > 1
                else ""
            )
            + "), from CMS's cost measure results; measures below their case minimum are left "
            "out."
        ),
        title="Cost",
        combine=Combine.SUM,
        children=tuple(children),
        inputs={"scored": True, "measures_scored": len(counted), "measures_ignored": len(ignored)},
        unverified=node_unverified,
    )


def _improvement(
    current: Decimal, prior: Decimal, maximum: Decimal, paths: tuple[str, ...]
) -> ScoreNode:
    if prior <= 0 or current <= prior:
        points = ZERO
        text = (
            f"Cost improvement: last year's cost score was {number(prior)}%, this year's "
            f"{number(current)}%: no improvement points."
        )
    else:
        points = min(maximum, (current - prior) / prior * maximum)
        text = (
            f"Cost improvement (estimate): from {number(prior)}% to {number(current)}%, a rise of "
            f"{number((current - prior) / prior * HUNDRED)}%, gives {number(points)} of at most "
            f"{number(maximum)} percentage points. CMS scores cost improvement per measure "
            "(significant improvement less significant decline); this estimate uses the "
            "category percent only."
        )
    return ScoreNode(
        name="improvement",
        rule="cost.improvement",
        points=rounded(points),
        maximum=maximum,
        explanation=text,
        inputs={"prior_percent": str(prior), "current_percent": str(rounded(current))},
        unverified=paths,
    )
