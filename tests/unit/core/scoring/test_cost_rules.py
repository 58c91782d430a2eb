"""Cost rules (mips-rules.md §4.6): CMS's results, case minimums, reweighting, improvement."""

from __future__ import annotations

from decimal import Decimal

from tests.support.scoring import context, find

from openqpp.core.scoring.cost import score_cost
from openqpp.core.scoring.tree import ScoreNode, check_tree
from openqpp.policy import load_policy


def cost(year: int, results: list[tuple[str, int, int, Decimal | None]], **kw: object) -> ScoreNode:
    node = score_cost(policy=load_policy(year), context=context(cost=results, **kw))  # type: ignore[arg-type]
    assert check_tree(node) == (), check_tree(node)
    return node


def test_the_category_is_the_average_of_the_scored_measures() -> None:
    node = cost(2022, [("TPCC_1", 40, 20, Decimal(6)), ("MSPB_1", 50, 35, Decimal(8))])
    assert (node.rule, node.points, node.maximum) == ("cost.average_points", 70, 100)
    assert find(node, "TPCC_1").points == 6


def test_measures_below_their_case_minimum_are_ignored() -> None:
    node = cost(2022, [("TPCC_1", 40, 20, Decimal(6)), ("MSPB_1", 10, 35, None)])
    assert node.points == 60
    ignored = find(node, "MSPB_1")
    assert ignored.rule == "cost.below_case_minimum"
    assert "below the case minimum of 35" in ignored.explanation


def test_no_measure_meeting_its_case_minimum_leaves_cost_not_scored() -> None:
    node = cost(2023, [("TPCC_1", 5, 20, None)])
    assert node.rule == "cost.not_scored"
    assert node.maximum is None
    assert node.inputs["scored"] is False
    assert "reweighted to 0%" in node.explanation
    assert "TPCC_1" in node.explanation


def test_no_cost_results_leave_cost_not_scored() -> None:
    node = cost(2019, [])
    assert node.rule == "cost.not_scored"
    assert "no cost measure results" in node.explanation


def test_improvement_is_added_in_years_that_score_it() -> None:
    node = cost(2022, [("TPCC_1", 40, 20, Decimal(6))], prior_cost=Decimal(50))
    improvement = find(node, "improvement")
    # 60% after 50%: a 20% rise, times the 1-point maximum
    assert improvement.points == Decimal("0.2")
    assert node.points == Decimal("60.2")
    assert "scoring.cost.improvement_max_percent" in node.unverified
    assert "estimate" in improvement.explanation


def test_no_improvement_in_a_year_without_cost_improvement() -> None:
    node = cost(2019, [("TPCC_1", 40, 20, Decimal(6))], prior_cost=Decimal(10))
    assert node.child("improvement") is None
    assert node.points == 60


def test_improvement_is_limited_to_the_maximum() -> None:
    node = cost(2022, [("TPCC_1", 40, 20, Decimal(9))], prior_cost=Decimal(30))
    assert find(node, "improvement").points == 1


def test_a_decline_earns_no_improvement_points() -> None:
    node = cost(2023, [("TPCC_1", 40, 20, Decimal(4))], prior_cost=Decimal(50))
    assert find(node, "improvement").points == 0
