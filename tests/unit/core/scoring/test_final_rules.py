"""Final score rules (mips-rules.md §4.1, §4.2, §4.7; 2019 data submission user guide)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.support.scoring import (
    cehrt_for,
    context,
    find,
    full_pi,
    measurement_set,
    measures_year,
    score,
)

from openqpp.core.elections.scores import FinalScoreCandidate, ScoreSource
from openqpp.core.scoring.final import (
    category_weights,
    choose_final_score,
    estimate_payment_adjustment,
    final_score_candidate,
)
from openqpp.core.submissions.model import Category, MeasurementSet
from openqpp.policy import load_policy

COST_OK = [("TPCC_1", 40, 20, Decimal(5))]


def pi_set(year: int) -> MeasurementSet:
    policy = load_policy(year)
    return measurement_set(Category.PI, year, full_pi(policy), cehrt_id=cehrt_for(policy))


def ia_set(year: int, *activities: str) -> MeasurementSet:
    return measurement_set(Category.IA, year, dict.fromkeys(activities or ("IA_PM_2",), True))


def weights(tree_weights: object) -> dict[str, Decimal]:
    assert isinstance(tree_weights, dict)
    return {k: Decimal(v) for k, v in tree_weights.items()}


def test_the_final_score_is_the_weighted_sum_of_the_category_scores() -> None:
    tree = score(2022, pi_set(2022), ia_set(2022, "IA_PM_2", "IA_EPA_4"), cost=COST_OK)
    # quality 0 (no data) x 30 + cost 50% x 30 + IA 30/40 x 15 + PI 100% x 25
    assert tree.rule == "final.weighted_sum"
    assert tree.points == Decimal("51.25")
    assert weights(tree.inputs["weights"]) == {
        "quality": 30,
        "cost": 30,
        "ia": 15,
        "pi": 25,
    }
    assert find(tree, "pi").weight == 25


def test_a_category_without_data_is_scored_zero_not_reweighted() -> None:
    tree = score(2019, pi_set(2019), ia_set(2019), cost=COST_OK)
    quality = find(tree, "quality")
    assert (quality.rule, quality.points, quality.weight) == ("quality.no_data", 0, 45)


def test_cost_not_scored_moves_its_weight_by_the_redistribution_row() -> None:
    tree = score(2022, pi_set(2022), ia_set(2022))
    assert weights(tree.inputs["weights"]) == {"quality": 55, "cost": 0, "ia": 15, "pi": 30}
    assert find(tree, "cost").weight == 0
    assert "redistribution row" in tree.explanation


def test_pi_is_reweighted_for_hospital_based_clinicians() -> None:
    tree = score(2019, ia_set(2019), cost=COST_OK, statuses=["hospital_based"])
    pi = find(tree, "pi")
    assert (pi.rule, pi.maximum, pi.weight) == ("pi.reweighted_special_status", None, 0)
    assert "hospital based" in pi.explanation
    assert weights(tree.inputs["weights"])["quality"] == 70


def test_small_practices_are_reweighted_for_pi_automatically_from_2022() -> None:
    tree = score(2022, ia_set(2022), cost=COST_OK, statuses=["small_practice"])
    assert find(tree, "pi").rule == "pi.reweighted_special_status"
    # the small-practice row: quality 40, cost 30, IA 30
    assert weights(tree.inputs["weights"]) == {"quality": 40, "cost": 30, "ia": 30, "pi": 0}


def test_small_practices_are_not_reweighted_for_pi_automatically_in_2019() -> None:
    tree = score(2019, ia_set(2019), cost=COST_OK, statuses=["small_practice"])
    assert find(tree, "pi").rule == "pi.no_data"


def test_submitted_pi_data_overrides_the_reweighting() -> None:
    """2019 guide: entering any data for a category weighted at 0% gets it scored."""
    tree = score(2022, pi_set(2022), ia_set(2022), cost=COST_OK, statuses=["small_practice"])
    pi = find(tree, "pi")
    assert pi.rule == "pi.measure_points"
    assert pi.weight == 25
    assert "overrides the reweighting" in pi.explanation
    assert pi.inputs["reweighting_overridden"] == ["pi.reweighted_special_status"]


def test_the_context_confirmation_overrides_the_reweighting() -> None:
    tree = score(2022, ia_set(2022), cost=COST_OK, statuses=["small_practice"], overrides=["pi"])
    assert find(tree, "pi").rule == "pi.no_data"
    assert find(tree, "pi").weight == 25


def test_an_approved_exception_reweights_its_categories() -> None:
    tree = score(2023, pi_set(2023), ia_set(2023), cost=COST_OK, exceptions=[("euc", ["quality"])])
    quality = find(tree, "quality")
    assert quality.rule == "quality.reweighted_exception"
    assert "extreme and uncontrollable circumstances" in quality.explanation
    assert weights(tree.inputs["weights"]) == {"quality": 0, "cost": 30, "ia": 15, "pi": 55}
    assert "scoring.redistribution" in tree.unverified


def test_fewer_than_two_scored_categories_give_the_performance_threshold() -> None:
    tree = score(
        2022,
        ia_set(2022),
        exceptions=[("euc", ["quality"])],
        statuses=["hospital_based"],
    )
    assert tree.rule == "final.neutral_score"
    assert tree.points == 75
    assert "Fewer than two performance categories are scored" in tree.explanation
    assert tree.inputs["payment_adjustment"]["percent"] == "0.0000"  # type: ignore[index]


def test_the_final_score_is_capped() -> None:
    tree = score(
        2019,
        pi_set(2019),
        ia_set(2019, "IA_PM_2", "IA_AHE_1"),
        cost=[("TPCC_1", 40, 20, Decimal(10))],
        complex_patient=(Decimal(3), Decimal("0.4"), None),
        exceptions=[("euc", ["quality"])],
    )
    assert find(tree, "complex_patient_bonus").points == 5
    assert tree.points == 100
    assert "capped at 100" in tree.explanation


def test_the_complex_patient_bonus_needs_submitted_data() -> None:
    tree = score(2019, cost=COST_OK, complex_patient=(Decimal(2), Decimal(0), None))
    assert find(tree, "complex_patient_bonus").points == 0
    assert "needs data submitted" in find(tree, "complex_patient_bonus").explanation


def test_the_complex_patient_bonus_is_doubled_from_2020() -> None:
    tree = score(2021, ia_set(2021), cost=COST_OK, complex_patient=(Decimal(2), Decimal(0), None))
    assert find(tree, "complex_patient_bonus").points == 4


def test_the_complex_patient_bonus_is_only_at_or_above_the_median_from_2022() -> None:
    below = score(
        2022, ia_set(2022), cost=COST_OK, complex_patient=(Decimal(1), None, Decimal("1.2"))
    )
    assert find(below, "complex_patient_bonus").points == 0
    assert "below the national median" in find(below, "complex_patient_bonus").explanation
    above = score(
        2022, ia_set(2022), cost=COST_OK, complex_patient=(Decimal("1.5"), None, Decimal("1.2"))
    )
    assert find(above, "complex_patient_bonus").points == 3


def test_the_root_records_the_policy_year_and_the_measures_data() -> None:
    tree = score(2023, ia_set(2023))
    assert tree.inputs["performance_year"] == 2023
    assert tree.inputs["measures_data"] == measures_year(2023).source


def test_other_programs_are_not_scored_here() -> None:
    mvp = measurement_set(Category.IA, 2023, {"IA_PM_2": True}, program="G0053")
    tree = score(2023, mvp)
    assert find(tree, "ia").rule == "ia.no_data"
    assert any("G0053" in w for w in tree.warnings)


# --------------------------------------------------------------------------- weights


def test_weights_use_the_default_row_when_everything_is_scored() -> None:
    choice = category_weights(frozenset(), policy=load_policy(2019), small_practice=False)
    assert choice is not None
    assert dict(choice.weights) == {"quality": 45, "cost": 15, "ia": 15, "pi": 25}
    assert choice.unverified == ()


def test_no_weights_when_fewer_than_two_categories_are_scored() -> None:
    gone = frozenset({"quality", "cost", "pi"})
    assert category_weights(gone, policy=load_policy(2019), small_practice=False) is None


# --------------------------------------------------------------------------- payment adjustment


@pytest.mark.parametrize(
    ("year", "final", "percent"),
    [
        (2019, "30", "0"),  # at the threshold: neutral
        (2019, "7.5", "-7"),  # 2019: 0-7.5 gets -7% (AAO)
        (2022, "18.75", "-9"),  # 2023 bands (AAFP): 0-18.75 gets -9%
        (2024, "60", "-1.8"),  # mips-rules.md §4.7: the pure linear formula
        (2024, "50", "-3"),
        (2022, "100", "9"),  # +9% at 100 before scaling
        (2019, "65", "3.5"),
    ],
)
def test_the_payment_adjustment_is_a_linear_sliding_scale(
    year: int, final: str, percent: str
) -> None:
    estimate = estimate_payment_adjustment(
        Decimal(final), policy=load_policy(year), context=context()
    )
    assert estimate.percent == Decimal(percent)
    assert "ESTIMATE" in estimate.explanation
    assert "1.0 is assumed" in estimate.explanation


def test_the_scaling_factor_multiplies_positive_adjustments_and_is_limited() -> None:
    policy = load_policy(2022)
    scaled = estimate_payment_adjustment(
        Decimal(100), policy=policy, context=context(scaling_factor=Decimal("0.5"))
    )
    assert scaled.percent == Decimal("4.5")
    limited = estimate_payment_adjustment(
        Decimal(100), policy=policy, context=context(scaling_factor=Decimal(5))
    )
    assert limited.scaling_factor == 3
    assert "limited" in limited.explanation


def test_exceptional_performance_adds_an_adjustment_in_years_that_have_it() -> None:
    in_2022 = estimate_payment_adjustment(Decimal(100), policy=load_policy(2022), context=context())
    assert in_2022.exceptional_percent == 10
    assert "$500 million" in in_2022.explanation
    in_2023 = estimate_payment_adjustment(Decimal(100), policy=load_policy(2023), context=context())
    assert in_2023.exceptional_percent is None


# --------------------------------------------------------------------------- several scores


def test_the_higher_of_the_group_and_individual_final_scores_is_used() -> None:
    group = score(2022, pi_set(2022), ia_set(2022), cost=COST_OK)
    individual = score(2022, ia_set(2022))
    chosen = choose_final_score(
        [
            final_score_candidate(ScoreSource.GROUP, group),
            final_score_candidate(ScoreSource.INDIVIDUAL, individual),
        ]
    )
    assert chosen is not None
    assert chosen.source is ScoreSource.GROUP
    assert chosen.final_score == group.points


def test_a_virtual_group_score_is_used_for_its_members() -> None:
    chosen = choose_final_score(
        [
            FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal(90)),
            FinalScoreCandidate(ScoreSource.VIRTUAL_GROUP, Decimal(40)),
        ]
    )
    assert chosen is not None
    assert chosen.source is ScoreSource.VIRTUAL_GROUP
