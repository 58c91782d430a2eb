"""The fields CMS computes on measurement values (qpp-apis.md §3.2), as the Submissions API
answers them."""

from __future__ import annotations

from typing import Any

import pytest

from openqpp.measures import QualityMeasure
from openqpp.services.submissions.api_json import value_with_computed


def measure(metric: str, algorithm: str | None = None) -> QualityMeasure:
    return QualityMeasure.model_validate(
        {
            "measureId": "X",
            "title": "X",
            "category": "quality",
            "metricType": metric,
            "measureType": "process",
            "isHighPriority": False,
            "isInverse": False,
            "submissionMethods": ["registry"],
            "overallAlgorithm": algorithm,
        }
    )


def counts(met: int, not_met: int, population: int, **more: int) -> dict[str, Any]:
    return {
        "performanceMet": met,
        "performanceNotMet": not_met,
        "eligiblePopulation": population,
        **more,
    }


def test_single_rate_as_the_tutorial_shows_it() -> None:
    stored = {
        "isEndToEndReported": False,
        **counts(120, 36, 156, eligiblePopulationExclusion=0, eligiblePopulationException=0),
    }
    value = value_with_computed(stored, measure("singlePerformanceRate"))
    assert value == {
        **stored,
        "performanceRate": 76.92,
        "reportingRate": 100,
        "caseCount": 156,
        "performanceRateNumerator": 76.92,
        "performanceRateDenominator": 1,
    }


def test_a_qcdr_rate_is_the_submitted_one_and_exclusions_leave_the_case_count() -> None:
    stored = {
        "isEndToEndReported": True,
        "performanceRate": 55.5,
        **counts(10, 10, 40, eligiblePopulationExclusion=5),
    }
    value = value_with_computed(stored, measure("registrySinglePerformanceRate"))
    assert (value["performanceRate"], value["caseCount"], value["reportingRate"]) == (
        55.5,
        35,
        62.5,
    )


def test_no_cases_means_no_rate_and_echoed_computed_fields_are_recomputed() -> None:
    stored = {"isEndToEndReported": False, **counts(0, 0, 0), "caseCount": 999}
    value = value_with_computed(stored, measure("singlePerformanceRate"))
    assert value["performanceRate"] is None
    assert value["reportingRate"] is None
    assert value["caseCount"] == 0
    assert "performanceRateNumerator" not in value


@pytest.mark.parametrize(
    ("algorithm", "rate", "cases"),
    [
        ("simpleAverage", 62.5, 20),  # (50% + 75%) / 2; the largest stratum
        ("weightedAverage", 66.67, 30),  # 20 / 30; the sum
        ("sumNumerators", 20, 30),
        ("overallStratumOnly", 40, 50),  # the overall stratum alone
    ],
)
def test_multi_rate_follows_the_measures_overall_algorithm(
    algorithm: str, rate: float, cases: int
) -> None:
    stored = {
        "isEndToEndReported": False,
        "strata": [
            {"stratum": "a", **counts(5, 5, 10)},
            {"stratum": "b", **counts(15, 5, 20)},
            {"stratum": "overall", **counts(20, 30, 50)},
        ],
    }
    value = value_with_computed(stored, measure("multiPerformanceRate", algorithm))
    assert (value["performanceRate"], value["caseCount"]) == (rate, cases)
    assert value["reportingRate"] == 100


def test_non_proportion_and_boolean_values() -> None:
    stored = {
        "isEndToEndReported": False,
        "numerator": 3.5,
        "denominator": 8,
        "observationInstances": 6,
        "denominatorException": 2,
    }
    assert value_with_computed(stored, measure("nonProportion")) == {
        **stored,
        "reportingRate": 100,
        "caseCount": 8,
    }
    assert value_with_computed(True, None) is True
    assert value_with_computed({"numerator": 1, "denominator": 2}, None) == {
        "numerator": 1,
        "denominator": 2,
    }
