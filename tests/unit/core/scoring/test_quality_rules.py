"""Quality scoring rules, one test per rule: the benchmark arithmetic, what a measurement reports,
how measures are chosen, and what every node says (rule ids, unverified policy paths).

The year-by-year worked examples live in ``tests/policy/scoring/quality/*.yaml``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from tests.support.quality_measures import (
    build_context,
    build_sets,
    build_year,
    describe,
    node_at,
)

from openqpp.core.scoring import ScoreNode, check_tree
from openqpp.core.scoring.benchmarks import decile_bounds, place
from openqpp.core.scoring.quality import performance_of, score_quality
from openqpp.core.submissions import Category, Measurement, MeasurementSet, SubmissionMethod
from openqpp.core.submissions.model import (
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    SinglePerformanceRate,
    StratumPerformance,
)
from openqpp.measures import Benchmark, QualityMeasure
from openqpp.policy import Policy, load_policy

CMS_110 = [0, 26.89, 40.49, 50, 57.07, 64.79, 73.08, 82.71, 96.44]
TENS: dict[str, Any] = {"deciles": [0, 10, 20, 30, 40, 50, 60, 70, 80]}


def _benchmark(**fields: Any) -> Benchmark:
    return Benchmark.model_validate(
        {
            "measureId": "X",
            "submissionMethod": "registry",
            "performanceYear": 2023,
            "benchmarkYear": 2021,
            **fields,
        }
    )


def _measure(**fields: Any) -> QualityMeasure:
    return QualityMeasure.model_validate(
        {
            "measureId": "X",
            "title": "X",
            "category": "quality",
            "metricType": "singlePerformanceRate",
            "measureType": "process",
            "isHighPriority": False,
            "isInverse": False,
            "submissionMethods": ["registry"],
            **fields,
        }
    )


def _score(
    year: int,
    measures: list[dict[str, Any]],
    sets: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
    *,
    policy: Policy | None = None,
) -> ScoreNode:
    tree = score_quality(
        build_sets(sets),
        policy=policy or load_policy(year),
        measures=build_year(year, measures),
        context=build_context(context),
    )
    assert check_tree(tree) == (), describe(tree)
    return tree


def _registry(*measurements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"method": "registry", "measurements": list(measurements)}]


# --------------------------------------------------------------------------- benchmark arithmetic


def test_partial_points_inside_a_decile() -> None:
    bounds = decile_bounds(
        _benchmark(deciles=CMS_110), inverse=False, metric_type="singlePerformanceRate"
    )
    placed = place(Decimal("82.31"), bounds)
    assert (placed.decile, placed.lower, placed.upper) == (8, Decimal("73.08"), Decimal("82.71"))
    assert placed.fraction == Decimal("0.9585")
    assert placed.points == Decimal("8.9585")


def test_the_top_decile_earns_exactly_ten_points() -> None:
    bounds = decile_bounds(
        _benchmark(deciles=CMS_110), inverse=False, metric_type="singlePerformanceRate"
    )
    assert place(Decimal("99.99"), bounds).points == 10
    assert place(Decimal("96.44"), bounds).points == 10


def test_empty_deciles_are_skipped_when_bounds_repeat() -> None:
    # Topped-out benchmark: deciles 5-10 all start at 100, so 99% is in decile 4 of 98.41-100.
    bounds = decile_bounds(
        _benchmark(deciles=[0, 95.74, 98.41, 100, 100, 100, 100, 100, 100]),
        inverse=False,
        metric_type="singlePerformanceRate",
    )
    placed = place(Decimal(99), bounds)
    assert (placed.decile, placed.upper) == (4, Decimal(100))
    assert placed.points == Decimal("4.3711")
    assert place(Decimal(100), bounds).points == 10


def test_partial_points_never_round_into_the_next_decile() -> None:
    bounds = decile_bounds(
        _benchmark(deciles=CMS_110), inverse=False, metric_type="singlePerformanceRate"
    )
    placed = place(Decimal("82.70999"), bounds)
    assert placed.decile == 8
    assert placed.points == Decimal("8.9999")


def test_inverse_measure_reads_descending_deciles_lower_being_better() -> None:
    bounds = decile_bounds(
        _benchmark(deciles=[100, 68.31, 50.62, 37.5, 28.69, 20, 13.59, 9.02, 2.7]),
        inverse=True,
        metric_type="singlePerformanceRate",
    )
    assert place(Decimal(25), bounds).points == Decimal("6.4246")
    assert place(Decimal(1), bounds).points == 10
    assert place(Decimal(100), bounds).decile == 2


def test_percentiles_of_an_inverse_measure_are_mirrored_into_decile_bounds() -> None:
    percentiles = {str(k): Decimal(k) for k in (1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)}
    direct = decile_bounds(
        _benchmark(percentiles=percentiles), inverse=False, metric_type="singlePerformanceRate"
    )
    inverse = decile_bounds(
        _benchmark(percentiles=percentiles), inverse=True, metric_type="singlePerformanceRate"
    )
    assert direct.bounds == tuple(Decimal(10 * k) for k in range(1, 10))
    assert inverse.bounds == tuple(Decimal(10 * k) for k in range(9, 0, -1))
    assert direct.layout == inverse.layout == "percentiles"
    assert place(Decimal(5), inverse).points == 10
    assert place(Decimal(95), inverse).decile == 1


def test_decile_one_of_an_inverse_non_percentage_measure_has_no_lower_bound() -> None:
    bounds = decile_bounds(
        _benchmark(deciles=[28.16, 13.98, 9.94, 5.46, 2.715, 1.26, 0.74, 0.47, 0]),
        inverse=True,
        metric_type="nonProportion",
    )
    placed = place(Decimal(40), bounds)
    assert (placed.decile, placed.lower, placed.points) == (1, None, Decimal(1))


def test_a_ten_number_decile_list_gives_decile_one_its_own_lower_bound() -> None:
    bounds = decile_bounds(
        _benchmark(deciles=[5, 10, 20, 30, 40, 50, 60, 70, 80, 90]),
        inverse=False,
        metric_type="nonProportion",
    )
    assert bounds.decile_one_bound == 5
    assert place(Decimal("7.5"), bounds).points == Decimal("1.5")


def test_flat_benchmarks_are_recognised_in_both_layouts() -> None:
    flat_2022 = _benchmark(deciles=[0, 20, 30, 40, 50, 60, 70, 80, 90])
    flat_2022_inverse = _benchmark(deciles=[100, 80, 70, 60, 50, 40, 30, 20, 10])
    flat_2023 = _benchmark(
        percentiles={str(k): Decimal(k) for k in (1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)}
    )
    metric = "singlePerformanceRate"
    assert decile_bounds(flat_2022, inverse=False, metric_type=metric).is_flat
    assert decile_bounds(flat_2022_inverse, inverse=True, metric_type=metric).is_flat
    assert decile_bounds(flat_2023, inverse=True, metric_type=metric).is_flat
    assert not decile_bounds(_benchmark(deciles=CMS_110), inverse=False, metric_type=metric).is_flat


# --------------------------------------------------------------------------- what was reported


def test_performance_rate_is_met_over_met_plus_not_met() -> None:
    value = SinglePerformanceRate(False, PerformanceCounts(305, 562, 255, 0, 2))
    performance = performance_of(value, _measure())
    assert performance is not None
    assert performance.rate == Decimal("54.4643")
    assert performance.data_completeness == 1


def test_without_not_met_the_rate_denominator_leaves_out_exclusions_and_exceptions() -> None:
    value = SinglePerformanceRate(False, PerformanceCounts(50, 100, None, 10, 10))
    performance = performance_of(value, _measure())
    assert performance is not None
    assert performance.rate == Decimal("62.5")


def test_a_qcdr_measure_is_scored_on_the_rate_it_submitted() -> None:
    value = SinglePerformanceRate(False, PerformanceCounts(50, 100, 50), Decimal("12.5"))
    qcdr = performance_of(value, _measure(isRegistryMeasure=True))
    mips = performance_of(value, _measure())
    assert qcdr is not None
    assert mips is not None
    assert (qcdr.rate, mips.rate) == (Decimal("12.5"), Decimal(50))


def test_a_non_proportion_measure_follows_cms_engine_rate_and_completeness() -> None:
    value = NonProportion(False, Decimal(3), Decimal(1000), 80, None, Decimal(30))
    performance = performance_of(value, _measure(metricType="nonProportion"))
    assert performance is not None
    assert performance.rate == 3
    assert not performance.is_percent
    assert performance.data_completeness == Decimal("0.11")


def test_a_missing_overall_stratum_falls_back_to_the_strata_added_together() -> None:
    value = MultiPerformanceRate(
        False,
        (
            StratumPerformance("18-64", PerformanceCounts(30, 40, 10)),
            StratumPerformance("65+", PerformanceCounts(10, 60, 50)),
        ),
    )
    performance = performance_of(
        value, _measure(metricType="multiPerformanceRate", overallAlgorithm="overallStratumOnly")
    )
    assert performance is not None
    assert performance.rate == 40
    assert "not reported" in performance.how


def test_a_split_measure_takes_completeness_from_reporting_and_rate_from_performance() -> None:
    value = MultiPerformanceRate(
        False,
        (
            StratumPerformance("reporting", PerformanceCounts(90, 100, 5)),
            StratumPerformance("performance", PerformanceCounts(20, 80, 60)),
        ),
    )
    performance = performance_of(
        value, _measure(metricType="multiPerformanceRate", overallAlgorithm="split")
    )
    assert performance is not None
    assert performance.data_completeness == Decimal("0.95")
    assert performance.rate == 25


def test_a_measure_with_no_eligible_population_fails_data_completeness() -> None:
    tree = _score(
        2022,
        [{"id": "110", "benchmarks": {"registry": {"deciles": CMS_110}}}],
        _registry({"measure": "110", "met": 0, "not_met": 0, "eligible": 0}),
    )
    assert node_at(tree, "measures/110/registry").rule == "quality.data_completeness_fail"


def test_a_value_of_the_wrong_shape_scores_zero() -> None:
    measures = build_year(2022, [{"id": "110", "benchmarks": {"registry": {"deciles": CMS_110}}}])
    quality_set = MeasurementSet(
        Category.QUALITY, SubmissionMethod.REGISTRY, (Measurement("110", True),)
    )
    tree = score_quality(
        [quality_set], policy=load_policy(2022), measures=measures, context=build_context(None)
    )
    assert node_at(tree, "measures/110/registry").rule == "quality.unscorable_value"
    assert tree.points == 0


# --------------------------------------------------------------------------- measures and caps


def test_topped_out_measure_capped_at_seven_points() -> None:
    tree = _score(
        2022,
        [
            {
                "id": "046",
                "benchmarks": {"registry": {"deciles": CMS_110, "topped_out_by_program": True}},
            }
        ],
        _registry({"measure": "046", "met": 99, "not_met": 1}),
    )
    capped = node_at(tree, "measures/046/registry")
    assert capped.rule == "quality.topped_out_cap"
    assert (capped.points, capped.maximum) == (7, 7)
    assert node_at(tree, "measures/046/registry/achievement").points == 10


def test_same_measure_through_two_collection_types_counts_once_at_its_best() -> None:
    tree = _score(
        2022,
        [{"id": "110", "benchmarks": {"registry": TENS, "claims": {"deciles": CMS_110}}}],
        [
            {"method": "claims", "measurements": [{"measure": "110", "met": 50, "not_met": 50}]},
            {"method": "registry", "measurements": [{"measure": "110", "met": 50, "not_met": 50}]},
        ],
    )
    measure = node_at(tree, "measures/110")
    assert [c.name for c in measure.children] == ["claims", "registry"]
    assert measure.points == Decimal(7) == node_at(measure, "registry").points
    assert node_at(tree, "measures").points == 7
    assert tree.child("not_counted") is None


def test_the_same_measure_twice_in_one_collection_type_counts_once() -> None:
    tree = _score(
        2022,
        [{"id": "110", "benchmarks": {"registry": TENS}}],
        _registry(
            {"measure": "110", "met": 50, "not_met": 50},
            {"measure": "110", "met": 70, "not_met": 30},
        ),
    )
    assert [c.name for c in node_at(tree, "measures/110").children] == [
        "registry",
        "registry (2)",
    ]
    assert tree.points == 9


def test_measure_ids_are_matched_case_insensitively() -> None:
    tree = _score(
        2022,
        [{"id": "ACRAD15", "qcdr": True}],
        _registry({"measure": "acrad15", "met": 40, "not_met": 10}),
    )
    assert node_at(tree, "measures/ACRAD15/registry").rule == "quality.no_benchmark"


def test_required_slot_prefers_the_higher_scoring_high_priority_measure() -> None:
    # An outcome measure at 4.5 does not displace a high-priority process measure at 9.5: any
    # high-priority measure satisfies the requirement and the best six that include one count.
    measures = [
        {"id": "O1", "type": "outcome", "high_priority": True, "benchmarks": {"registry": TENS}},
        {"id": "H1", "high_priority": True, "benchmarks": {"registry": TENS}},
        *({"id": f"P{i}", "benchmarks": {"registry": TENS}} for i in range(1, 6)),
    ]
    sets = _registry(
        {"measure": "O1", "met": 25, "not_met": 75},
        {"measure": "H1", "met": 75, "not_met": 25},
        *({"measure": f"P{i}", "met": 70, "not_met": 30} for i in range(1, 6)),
    )
    tree = _score(2022, measures, sets)
    assert node_at(tree, "measures").inputs["required_slot"] == "H1"
    assert node_at(tree, "measures").points == Decimal("54.5")
    assert node_at(tree, "not_counted/O1").points == Decimal("4.5")


def test_high_priority_bonus_ignores_the_required_measure_that_qualifies() -> None:
    measures = [
        {"id": "046", "high_priority": True, "benchmarks": {"registry": TENS}},
        {"id": "ACRAD15", "type": "outcome", "high_priority": True, "metric": "nonProportion"},
    ]
    sets = _registry(
        {"measure": "046", "met": 5, "not_met": 95},
        {"measure": "ACRAD15", "numerator": 3, "denominator": 1000, "observations": 80},
    )
    tree = _score(2019, measures, sets, {"small_practice": True})
    assert node_at(tree, "measures").inputs["required_slot"] == "046"
    assert node_at(tree, "high_priority_bonus").points == 0


# --------------------------------------------------------------------------- what every node says


def test_every_node_names_the_unverified_policy_paths_it_used() -> None:
    tree = _score(
        2025,
        [{"id": "110", "benchmarks": {"registry": TENS}}],
        _registry({"measure": "110", "met": 50, "not_met": 50}),
        {"small_practice": True, "prior_quality_percent": 40},
    )
    policy = load_policy(2025)
    used = tree.all_unverified()
    for path in used:
        assert path in policy.unverified
    leaf = node_at(tree, "measures/110/registry")
    assert "scoring.quality.benchmarked_floor_points_small_practice" in leaf.unverified
    assert "scoring.quality.data_completeness" in leaf.unverified
    assert (
        "scoring.quality.small_practice_bonus_points"
        in node_at(tree, "small_practice_bonus").unverified
    )
    assert "scoring.quality.improvement_max_percent" in node_at(tree, "improvement").unverified


def test_a_verified_year_names_only_its_unverified_paths() -> None:
    tree = _score(
        2022,
        [{"id": "110", "benchmarks": {"registry": TENS}}],
        _registry({"measure": "110", "met": 50, "not_met": 50}),
    )
    assert node_at(tree, "measures/110/registry").unverified == ()


def test_the_category_share_is_points_over_maximum() -> None:
    tree = _score(
        2022,
        [{"id": "110", "benchmarks": {"registry": TENS}}],
        _registry({"measure": "110", "met": 50, "not_met": 50}),
    )
    assert (tree.rule, tree.name, tree.points, tree.maximum) == (
        "quality.category",
        "quality",
        7,
        60,
    )
    assert tree.inputs["category_percent"] == Decimal("11.6667")


def test_policy_and_measures_must_be_of_one_year() -> None:
    with pytest.raises(ValueError, match="one performance year"):
        score_quality(
            [], policy=load_policy(2022), measures=build_year(2023, []), context=build_context(None)
        )


def test_a_benchmark_basis_other_than_deciles_is_refused() -> None:
    policy = load_policy(2022)
    quality = policy.scoring.quality.model_copy(update={"benchmark_basis": "percentiles"})
    scoring = policy.scoring.model_copy(update={"quality": quality})
    changed = dataclasses.replace(
        policy, values=policy.values.model_copy(update={"scoring": scoring})
    )
    with pytest.raises(ValueError, match="benchmark basis"):
        _score(
            2022,
            [{"id": "110", "benchmarks": {"registry": TENS}}],
            _registry({"measure": "110", "met": 50, "not_met": 50}),
            policy=changed,
        )


def test_sets_of_other_categories_are_ignored() -> None:
    tree = _score(
        2022,
        [{"id": "110", "benchmarks": {"registry": TENS}}],
        [
            {"method": "registry", "measurements": [{"measure": "110", "met": 50, "not_met": 50}]},
            {"category": "ia", "method": "registry", "measurements": []},
        ],
    )
    assert tree.inputs["collection_types"] == ["registry"]
    assert tree.points == 7


def test_a_set_for_another_program_is_scored_with_a_warning() -> None:
    tree = _score(
        2023,
        [{"id": "110", "benchmarks": {"registry": TENS}}],
        [
            {
                "method": "registry",
                "program": "G0053",
                "measurements": [{"measure": "110", "met": 50, "not_met": 50}],
            }
        ],
    )
    assert any("G0053" in w for w in tree.warnings)
