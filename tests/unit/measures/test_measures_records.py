"""What a loaded year holds: typed records, case-insensitive lookups, year-dependent formats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from openqpp.measures import (
    Benchmark,
    CostMeasure,
    ImprovementActivity,
    MeasuresCatalogue,
    PiMeasure,
    QualityMeasure,
)


def test_quality_lookup_by_measure_id_ignores_case(catalogue: MeasuresCatalogue) -> None:
    year = catalogue.year(2025)
    assert year.quality("AAD6") is year.quality("aad6")
    assert year.quality("aad6") is not None
    assert year.quality("Aad6").is_registry_measure  # type: ignore[union-attr]
    assert year.quality("999") is None


def test_quality_lookup_by_emeasure_uuid_ignores_case(catalogue: MeasuresCatalogue) -> None:
    year = catalogue.year(2025)
    by_lower = year.quality_by_uuid("2c928083-8907-ce68-0189-2bc5fa0d0739")
    by_upper = year.quality_by_uuid("2C928083-8907-CE68-0189-2BC5FA0D0739")
    assert by_lower is not None
    assert by_lower is by_upper
    assert by_lower.measure_id == "001"
    assert by_lower.is_ecqm
    # stored upper case, looked up lower case
    assert year.quality_by_uuid("2c928082-0000-0000-0000-000000000009").measure_id == "009"  # type: ignore[union-attr]
    assert year.quality_by_uuid("00000000-0000-0000-0000-000000000000") is None


def test_lookups_are_typed_per_category(catalogue: MeasuresCatalogue) -> None:
    year = catalogue.year(2025)
    assert isinstance(year.ia("ia_ahe_1"), ImprovementActivity)
    assert isinstance(year.pi("pi_hie_1"), PiMeasure)
    assert isinstance(year.cost("cost_acopd_1"), CostMeasure)
    assert isinstance(year.measure("PI_HIE_1"), PiMeasure)
    # an ID of another category is not a quality measure
    assert year.quality("PI_HIE_1") is None
    assert year.ia("001") is None
    assert {m.measure_id for m in year.iter_measures()} >= {"001", "IA_AHE_1", "COST_ACOPD_1"}


def test_quality_fields_meaningful_for_validation_and_scoring(
    catalogue: MeasuresCatalogue,
) -> None:
    measure = catalogue.year(2025).quality("001")
    assert measure is not None
    assert measure.category == "quality"
    assert measure.metric_type == "singlePerformanceRate"
    assert measure.measure_type == "intermediateOutcome"
    assert measure.is_high_priority is True
    assert measure.is_inverse is True
    assert measure.submission_methods == ("claims", "electronicHealthRecord", "registry")
    assert measure.allowed_programs == ("mips", "app1", "M0002")
    assert measure.allowed_registration_types == ("group", "individual")
    assert measure.historic_benchmarks == {"claims": "flat", "registry": "flat"}
    assert measure.companion_measure_id == ("001SSP",)
    assert measure.e_measure_id == "CMS122v13"
    uuids = measure.strata[0].e_measure_uuids
    assert uuids is not None
    assert uuids.numerator_uuid == "10C65EBE-0000-0000-0000-000000000003"
    assert uuids.denominator_exclusion_uuid is None

    multi = catalogue.year(2025).quality("009")
    assert multi is not None
    assert multi.overall_algorithm == "simpleAverage"
    assert [s.name for s in multi.strata] == ["84Days", "180Days"]


def test_fields_a_year_lacks_are_none_or_empty(catalogue: MeasuresCatalogue) -> None:
    measure = catalogue.year(2019).quality("001")
    assert measure is not None
    assert measure.allowed_programs is None
    assert measure.allowed_registration_types is None
    assert measure.historic_benchmarks == {}
    assert measure.seven_point_cap_removed == ()
    assert measure.is_seven_point_cap_removed is None


def test_unknown_fields_and_categories_are_ignored(catalogue: MeasuresCatalogue) -> None:
    year = catalogue.year(2019)
    assert year.measure("NEW_1") is None
    assert not hasattr(year.quality("001"), "national_quality_strategy_domain")
    assert catalogue.year(2025).quality("001") is not None  # has someFieldAddedUpstreamLater


def test_records_are_frozen(catalogue: MeasuresCatalogue) -> None:
    measure = catalogue.year(2025).quality("001")
    with pytest.raises(ValidationError):
        measure.title = "changed"  # type: ignore[misc,union-attr]


def test_ia_weight_is_medium_high_or_none_and_absent_from_2025(
    catalogue: MeasuresCatalogue,
) -> None:
    assert catalogue.year(2019).ia("IA_EPA_1").weight == "high"  # type: ignore[union-attr]
    assert catalogue.year(2024).ia("IA_BE_4").weight == "medium"  # type: ignore[union-attr]
    pcmh = catalogue.year(2019).ia("IA_PCMH")
    assert pcmh is not None
    assert pcmh.weight is None
    assert pcmh.subcategory_id is None
    ahe = catalogue.year(2025).ia("IA_AHE_1")
    assert ahe is not None
    assert ahe.weight is None
    assert ahe.subcategory_id == "achievingHealthEquity"


def test_ia_weight_outside_medium_and_high_is_refused() -> None:
    with pytest.raises(ValidationError):
        ImprovementActivity.model_validate(
            {
                "category": "ia",
                "measureId": "IA_X",
                "title": "x",
                "metricType": "boolean",
                "weight": "low",
            }
        )


def _pi(exclusion: Any) -> dict[str, Any]:
    return {
        "category": "pi",
        "measureId": "PI_X",
        "title": "x",
        "metricType": "proportion",
        "isRequired": True,
        "isBonus": False,
        "exclusion": exclusion,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PI_LVPP_1", ("PI_LVPP_1",)),
        (["PI_LVOTC_1"], ("PI_LVOTC_1",)),
        (["PI_LVITC_2", "PI_LVOTC_1"], ("PI_LVITC_2", "PI_LVOTC_1")),
        (None, ()),
        ("", ()),
    ],
)
def test_pi_exclusion_is_a_tuple_whether_the_data_has_a_string_a_list_or_null(
    raw: Any, expected: tuple[str, ...]
) -> None:
    assert PiMeasure.model_validate(_pi(raw)).exclusion == expected


def test_pi_exclusion_absent_is_empty() -> None:
    record = _pi(None)
    del record["exclusion"]
    assert PiMeasure.model_validate(record).exclusion == ()


def test_pi_records_from_files_of_each_shape(catalogue: MeasuresCatalogue) -> None:
    ep_2019 = catalogue.year(2019).pi("PI_EP_1")
    assert ep_2019 is not None
    assert ep_2019.exclusion == ("PI_LVPP_1",)  # a string in the file
    assert ep_2019.weight == 10
    assert ep_2019.is_required is True
    assert catalogue.year(2022).pi("PI_EP_1").exclusion == ("PI_LVPP_1",)  # type: ignore[union-attr]
    hie = catalogue.year(2025).pi("PI_HIE_1")
    assert hie is not None
    assert hie.exclusion == ("PI_LVOTC_1",)  # a list in the file
    assert hie.substitutes == ("PI_HIE_5", "PI_HIE_6")
    assert hie.objective == "healthInformationExchange"
    assert hie.weight is None
    lvotc = catalogue.year(2025).pi("PI_LVOTC_1")
    assert lvotc is not None
    assert lvotc.exclusion == ()  # null in the file
    assert lvotc.reporting_category == "exclusion"


def test_pi_category_aci_of_2017_is_read_as_pi() -> None:
    record = _pi(None) | {"category": "aci", "reportingCategory": "base", "weight": 0}
    measure = PiMeasure.model_validate(record)
    assert measure.category == "aci"
    assert measure.weight == 0


def test_benchmarks_up_to_2022_keep_their_deciles(catalogue: MeasuresCatalogue) -> None:
    benchmark = catalogue.benchmark(2019, "001", "registry")
    assert benchmark is not None
    assert benchmark.percentiles is None
    assert benchmark.deciles is not None
    assert len(benchmark.deciles) == 9
    assert benchmark.deciles[0] == Decimal("83.33")
    assert benchmark.is_inverse is None
    cost = catalogue.benchmark(2019, "mspb_1", "ADMINISTRATIVECLAIMS")
    assert cost is not None
    assert cost.deciles is not None
    assert len(cost.deciles) == 10
    assert cost.is_topped_out_by_program is None
    assert cost.is_performance_period


def test_benchmarks_from_2023_keep_their_percentiles(catalogue: MeasuresCatalogue) -> None:
    benchmark = catalogue.benchmark(2025, "001", "electronicHealthRecord")
    assert benchmark is not None
    assert benchmark.deciles is None
    assert benchmark.percentiles is not None
    assert list(benchmark.percentiles) == [
        "1", "10", "20", "30", "40", "50", "60", "70", "80", "90", "99"
    ]  # fmt: skip
    # parsed exactly from the JSON text, not through a binary float
    assert benchmark.percentiles["10"] == Decimal("13.46")
    assert benchmark.average_performance_rate == Decimal("42.7")
    assert benchmark.is_inverse is True
    assert benchmark.is_topped_out is False
    assert benchmark.is_topped_out_by_program is False
    assert benchmark.benchmark_year == 2023
    assert benchmark.performance_year == 2025
    assert not benchmark.is_performance_period
    assert catalogue.benchmark(2025, "001", "registry") is None
    assert catalogue.year(2025).benchmarks_for("001") == (benchmark,)


def _benchmark(**kw: Any) -> dict[str, Any]:
    return {
        "measureId": "001",
        "submissionMethod": "registry",
        "performanceYear": 2022,
        "benchmarkYear": 2020,
    } | kw


@pytest.mark.parametrize(
    "record",
    [
        _benchmark(),
        _benchmark(deciles=[1, 2, 3]),
        _benchmark(percentiles={"1": 0, "99": 100}),
    ],
    ids=["no distribution", "three deciles", "percentiles without decile bounds"],
)
def test_a_benchmark_without_a_usable_distribution_is_refused(record: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Benchmark.model_validate(record)


def test_exclusion_reasons_and_cost_national_averages(catalogue: MeasuresCatalogue) -> None:
    year = catalogue.year(2025)
    reason = year.benchmark_exclusion_reason("aad6", "registry")
    assert reason is not None
    assert reason.reason_codes == ("BR-009",)
    average = year.cost_national_average("COST_ACOPD_1")
    assert average is not None
    assert average.group_national_average == Decimal("5158.59")
    assert catalogue.year(2019).cost_national_average("COST_ACOPD_1") is None


def test_clinical_clusters_by_measure_and_method(catalogue: MeasuresCatalogue) -> None:
    record = catalogue.year(2025).clinical_cluster("320", "claims")
    assert record is not None
    assert [c.name for c in record.clinical_clusters] == ["endoscopyAndPolypSurveillance"]
    assert record.specialty_sets[0].measure_ids == ("047", "226", "317", "320")
    old = catalogue.year(2019).clinical_cluster("001", "claims")
    assert old is not None
    assert old.specialty_sets == ()
    assert catalogue.year(2019).clinical_cluster("001", "registry") is None


def test_mvps_where_present(catalogue: MeasuresCatalogue) -> None:
    mvp = catalogue.year(2025).mvp("g0053")
    assert mvp is not None
    assert mvp.title == "Advancing Rheumatology Patient Care"
    assert mvp.quality_measure_ids == ("001", "AAD6")
    assert mvp.foundation_quality_measure_ids == ("479", "484")
    assert catalogue.year(2019).mvps == ()
    assert catalogue.year(2019).files.mvp is None


def test_quality_measure_constructed_by_field_name() -> None:
    measure = QualityMeasure(
        category="quality",
        measure_id="X1",
        title="t",
        metric_type="singlePerformanceRate",
        measure_type="process",
        is_high_priority=False,
        is_inverse=False,
        submission_methods=("registry",),
    )
    assert measure.strata == ()
