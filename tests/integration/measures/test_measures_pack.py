"""The loader on CMS's real qpp-measures-data: PY2017-2022 (npm 5.5.4) and PY2023-2026."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from openqpp.measures import MeasuresYear

MeasuresYearGetter = Callable[[int], MeasuresYear]

ALL_YEARS = range(2017, 2027)
MVP_YEARS = range(2023, 2027)


@pytest.mark.parametrize("year", ALL_YEARS)
def test_every_year_from_2017_to_2026_is_available_and_loads_completely(
    measures_year: MeasuresYearGetter, year: int
) -> None:
    loaded = measures_year(year)
    assert loaded.year == year
    assert loaded.source
    raw = json.loads(loaded.files.measures.read_text(encoding="utf-8"))
    by_category = Counter(record["category"] for record in raw)
    assert len(loaded.quality_measures) == by_category["quality"] > 0
    assert len(loaded.improvement_activities) == by_category["ia"] > 0
    assert len(loaded.pi_measures) == by_category["pi"] + by_category["aci"] > 0
    assert len(loaded.cost_measures) == by_category["cost"] > 0
    assert loaded.files.benchmarks is not None
    assert loaded.benchmarks
    assert loaded.clinical_clusters


def test_2019_quality_001_can_be_submitted_on_claims(measures_year: MeasuresYearGetter) -> None:
    measure = measures_year(2019).quality("001")
    assert measure is not None
    assert "claims" in measure.submission_methods
    assert measure.is_inverse is True


def test_2022_registry_benchmark_for_001_has_deciles(measures_year: MeasuresYearGetter) -> None:
    benchmark = measures_year(2022).benchmark("001", "registry")
    assert benchmark is not None
    assert benchmark.percentiles is None
    assert benchmark.deciles is not None
    assert len(benchmark.deciles) in (9, 10)


def test_2025_ehr_benchmark_for_001_has_percentiles_and_is_inverse(
    measures_year: MeasuresYearGetter,
) -> None:
    benchmark = measures_year(2025).benchmark("001", "electronicHealthRecord")
    assert benchmark is not None
    assert benchmark.deciles is None
    assert benchmark.percentiles is not None
    assert {"1", "10", "50", "90", "99"} <= set(benchmark.percentiles)
    assert benchmark.is_inverse is True


@pytest.mark.parametrize("year", range(2017, 2023))
def test_benchmarks_up_to_2022_use_deciles(measures_year: MeasuresYearGetter, year: int) -> None:
    benchmarks = measures_year(year).benchmarks
    assert all(b.deciles is not None and b.percentiles is None for b in benchmarks)


@pytest.mark.parametrize("year", range(2023, 2027))
def test_benchmarks_from_2023_use_percentiles(measures_year: MeasuresYearGetter, year: int) -> None:
    loaded = measures_year(year)
    assert all(b.percentiles is not None and b.deciles is None for b in loaded.benchmarks)
    # every benchmark belongs to a measure of the same year
    assert all(loaded.measure(b.measure_id) is not None for b in loaded.benchmarks)


def test_2024_ia_epa_1_weighs_high(measures_year: MeasuresYearGetter) -> None:
    activity = measures_year(2024).ia("IA_EPA_1")
    assert activity is not None
    assert activity.weight == "high"


def test_2025_improvement_activities_carry_no_weight(measures_year: MeasuresYearGetter) -> None:
    activities = measures_year(2025).improvement_activities
    assert activities
    assert all(activity.weight is None for activity in activities)


@pytest.mark.parametrize("year", ALL_YEARS)
def test_pi_exclusions_and_substitutes_name_pi_measures_of_the_same_year(
    measures_year: MeasuresYearGetter, year: int
) -> None:
    loaded = measures_year(year)
    for measure in loaded.pi_measures:
        assert isinstance(measure.exclusion, tuple)
        for other in (*measure.exclusion, *measure.substitutes):
            assert loaded.pi(other) is not None, (measure.measure_id, other)


def test_2019_pi_exclusion_given_as_a_string_becomes_a_tuple(
    measures_year: MeasuresYearGetter,
) -> None:
    measure = measures_year(2019).pi("PI_EP_1")
    assert measure is not None
    assert measure.exclusion == ("PI_LVPP_1",)
    assert measure.weight == 10


@pytest.mark.parametrize("year", [2019, 2025])
def test_clinical_clusters_load(measures_year: MeasuresYearGetter, year: int) -> None:
    loaded = measures_year(year)
    assert loaded.clinical_clusters
    record = loaded.clinical_cluster(
        loaded.clinical_clusters[0].measure_id, loaded.clinical_clusters[0].submission_method
    )
    assert record is loaded.clinical_clusters[0]
    assert all(r.submission_method in ("claims", "registry") for r in loaded.clinical_clusters)
    assert any(r.clinical_clusters or r.specialty_sets for r in loaded.clinical_clusters)


@pytest.mark.parametrize("year", MVP_YEARS)
def test_mvps_load_and_name_measures_of_the_same_year(
    measures_year: MeasuresYearGetter, year: int
) -> None:
    loaded = measures_year(year)
    assert loaded.files.mvp is not None
    assert loaded.mvps
    for mvp in loaded.mvps:
        assert loaded.mvp(mvp.mvp_id.lower()) is mvp
        for measure_id in (*mvp.quality_measure_ids, *mvp.foundation_quality_measure_ids):
            assert loaded.quality(measure_id) is not None, (mvp.mvp_id, measure_id)
        for activity_id in mvp.ia_measure_ids:
            assert loaded.ia(activity_id) is not None, (mvp.mvp_id, activity_id)


def test_quality_by_uuid_finds_a_2025_ecqm(measures_year: MeasuresYearGetter) -> None:
    loaded = measures_year(2025)
    measure = loaded.quality("001")
    assert measure is not None
    assert measure.e_measure_uuid is not None
    assert loaded.quality_by_uuid(measure.e_measure_uuid.upper()) is measure
    assert loaded.quality_by_uuid(measure.e_measure_uuid.lower()) is measure
    ecqms = [m for m in loaded.quality_measures if m.e_measure_uuid]
    assert all(loaded.quality_by_uuid(m.e_measure_uuid or "") is m for m in ecqms)


def test_2025_exclusion_reasons_and_cost_national_averages_load(
    measures_year: MeasuresYearGetter,
) -> None:
    loaded = measures_year(2025)
    assert loaded.benchmark_exclusion_reasons
    assert loaded.cost_national_averages
    assert all(r.reason_codes for r in loaded.benchmark_exclusion_reasons)


def test_a_year_is_read_once(measures_year: MeasuresYearGetter) -> None:
    assert measures_year(2025) is measures_year(2025)
