"""Improvement Activities rules (mips-rules.md §4.5; 2019 data submission user guide)."""

from __future__ import annotations

from decimal import Decimal

from tests.support.scoring import context, find, measurement_set, measures_year

from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.ia import score_ia
from openqpp.core.scoring.tree import ScoreNode, check_tree
from openqpp.core.submissions.model import Category, EntityType, MeasurementSet
from openqpp.policy import load_policy


def ia(
    year: int,
    activities: dict[str, object],
    ctx: ScoringContext | None = None,
    *,
    other: tuple[MeasurementSet, ...] = (),
) -> ScoreNode:
    sets = [measurement_set(Category.IA, year, activities)] if activities else []
    node = score_ia(
        [*sets, *other],
        policy=load_policy(year),
        measures=measures_year(year),
        context=ctx or context(),
    )
    assert check_tree(node) == (), check_tree(node)
    return node


def test_medium_and_high_activities_earn_10_and_20_points() -> None:
    node = ia(2022, {"IA_EPA_4": True, "IA_PM_2": True})
    assert find(node, "IA_EPA_4").points == 10
    assert find(node, "IA_PM_2").points == 20
    assert find(node, "IA_PM_2").inputs["weight"] == "high"
    assert find(node, "IA_PM_2").inputs["subcategory"]
    assert node.points == 30


def test_special_statuses_double_the_activity_points() -> None:
    """2019 guide: small practice, HPSA, rural or non-patient facing earn 2x the points."""
    for status in ("small_practice", "rural", "hpsa", "non_patient_facing"):
        node = ia(2019, {"IA_EPA_4": True}, context(statuses=[status]))
        assert find(node, "IA_EPA_4").points == 20, status
        assert "times 2" in find(node, "IA_EPA_4").explanation


def test_hospital_based_status_does_not_double_activity_points() -> None:
    node = ia(2019, {"IA_EPA_4": True}, context(statuses=["hospital_based"]))
    assert find(node, "IA_EPA_4").points == 10


def test_the_category_is_capped_at_40_with_the_guide_message() -> None:
    node = ia(2019, {"IA_AHE_1": True, "IA_AHE_3": True, "IA_PM_2": True})
    assert node.points == 40
    assert node.inputs["sum"] == "60"
    assert "you cannot earn more than 40 points" in node.explanation


def test_a_certified_medical_home_earns_full_credit() -> None:
    node = ia(2022, {}, context(pcmh=True))
    assert node.points == 40
    assert find(node, "IA_PCMH").rule == "ia.pcmh_full_credit"


def test_attesting_the_pcmh_activity_earns_full_credit() -> None:
    """2019 guide: once PCMH is selected completed, you see the maximum score."""
    node = ia(2019, {"IA_PCMH": True})
    assert node.points == 40


def test_apm_participation_awards_20_points_when_some_data_is_submitted() -> None:
    """2019 guide: APM clinicians get 50% credit, shown as 20 points awarded, 7.50 of 15."""
    pi_set = measurement_set(Category.PI, 2019, {"PI_PPHI_1": True})
    node = ia(2019, {}, context(apm_share=Decimal(1)), other=(pi_set,))
    assert find(node, "apm_credit").points == 20
    assert node.points == 20
    assert node.points / node.maximum * 15 == Decimal("7.5")


def test_apm_credit_needs_some_mips_data() -> None:
    node = ia(2019, {}, context(apm_share=Decimal(1)))
    assert node.rule == "ia.no_data"
    assert node.points == 0


def test_apm_credit_and_activities_add_up_to_the_cap() -> None:
    node = ia(2019, {"IA_PM_2": True, "IA_EPA_4": True}, context(apm_share=Decimal("0.5")))
    assert node.inputs["sum"] == "50"
    assert node.points == 40


def test_an_activity_answered_no_earns_nothing() -> None:
    node = ia(2022, {"IA_PM_2": False})
    assert find(node, "IA_PM_2").rule == "ia.not_attested"
    assert node.points == 0


def test_an_activity_that_is_not_in_the_year_earns_nothing() -> None:
    """IA_AHE_2 was removed for 2020 (2019 guide)."""
    node = ia(2020, {"IA_AHE_2": True})
    assert find(node, "IA_AHE_2").rule == "ia.unknown_activity"


def test_activities_attested_in_several_sets_count_once() -> None:
    other = measurement_set(Category.IA, 2022, {"IA_PM_2": True, "IA_EPA_4": True})
    node = ia(2022, {"IA_PM_2": True}, other=(other,))
    assert node.points == 30
    assert len([c for c in node.children if c.name == "IA_PM_2"]) == 1


def test_activities_are_unweighted_in_2025() -> None:
    node = ia(2025, {"IA_EPA_4": True})
    assert find(node, "IA_EPA_4").points == 20
    assert "scoring.ia.unweighted_points" in node.all_unverified()


def test_no_activities_score_zero() -> None:
    node = ia(2023, {}, context(EntityType.INDIVIDUAL))
    assert (node.rule, node.points, node.maximum) == ("ia.no_data", 0, 40)
