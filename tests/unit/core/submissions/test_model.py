"""The canonical submission and its QPP JSON form."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openqpp.core.submissions import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    StratumPerformance,
    Submission,
    SubmissionMethod,
    SubmissionShapeError,
)

CONVERTED = {
    "performanceYear": 2025,
    "entityType": "individual",
    "nationalProviderIdentifier": "1234567893",
    "taxpayerIdentificationNumber": "000777777",
    "measurementSets": [
        {
            "category": "quality",
            "submissionMethod": "electronicHealthRecord",
            "cehrtId": "XX15CXXXXXXXXXX",
            "measurements": [
                {
                    "measureId": "236",
                    "value": {
                        "isEndToEndReported": True,
                        "performanceMet": 800,
                        "eligiblePopulationExclusion": 100,
                        "performanceNotMet": 100,
                        "eligiblePopulation": 1000,
                    },
                },
                {
                    "measureId": "009",
                    "value": {
                        "isEndToEndReported": True,
                        "strata": [
                            {
                                "performanceMet": 486,
                                "eligiblePopulationExclusion": 35,
                                "performanceNotMet": 79,
                                "eligiblePopulation": 600,
                                "stratum": ">=84Days",
                            }
                        ],
                    },
                },
            ],
            "programName": "mips",
            "performanceStart": "2025-01-01",
            "performanceEnd": "2025-12-31",
            "source": "qrda3",
        },
        {
            "category": "pi",
            "submissionMethod": "electronicHealthRecord",
            "measurements": [
                {"measureId": "PI_EP_1", "value": {"numerator": 750, "denominator": 800}},
                {"measureId": "PI_EP_2", "value": True},
            ],
            "programName": "G0053",
            "performanceStart": "2025-01-01",
            "performanceEnd": "2025-06-30",
            "source": "qrda3",
        },
    ],
}


def test_converter_shaped_json_round_trips_exactly() -> None:
    submission = Submission.from_qpp_json(CONVERTED)
    assert submission.to_qpp_json() == CONVERTED
    assert json.dumps(submission.to_qpp_json()) == json.dumps(CONVERTED)  # key order too


def test_value_shapes_are_told_by_their_keys() -> None:
    submission = Submission.from_qpp_json(CONVERTED)
    quality, pi = submission.measurement_sets
    assert isinstance(quality.measurements[0].value, SinglePerformanceRate)
    assert isinstance(quality.measurements[1].value, MultiPerformanceRate)
    assert pi.measurements[0].value == Proportion(750, 800)
    assert pi.measurements[1].value is True
    assert pi.is_mvp
    assert quality.program == "mips"


def test_non_proportion_values_keep_decimals_exact() -> None:
    value = {
        "numerator": Decimal("3.25"),
        "denominator": 1000,
        "isEndToEndReported": False,
        "denominatorException": 30,
        "numeratorExclusion": 0,
        "observationInstances": 80,
    }
    document = {
        "entityType": "group",
        "taxpayerIdentificationNumber": "000456789",
        "performanceYear": 2025,
        "measurementSets": [
            {
                "category": "quality",
                "submissionMethod": "registry",
                "measurements": [{"measureId": "ACRAD15", "value": value}],
            }
        ],
    }
    submission = Submission.from_qpp_json(document)
    parsed = submission.measurement_sets[0].measurements[0].value
    assert parsed == NonProportion(
        False, Decimal("3.25"), Decimal(1000), 80, Decimal(0), Decimal(30)
    )
    assert submission.to_qpp_json()["measurementSets"][0]["measurements"][0]["value"][
        "numerator"
    ] == pytest.approx(3.25)


def test_whole_numbers_written_as_decimals_are_accepted() -> None:
    document = json.loads(
        '{"entityType":"group","taxpayerIdentificationNumber":"000101010","performanceYear":2021,'
        '"measurementSets":[{"category":"pi","submissionMethod":"electronicHealthRecord",'
        '"measurements":[{"measureId":"PI_EP_1","value":{"numerator":100.0,"denominator":200.0}}]}]}',
        parse_float=Decimal,
    )
    value = Submission.from_qpp_json(document).measurement_sets[0].measurements[0].value
    assert value == Proportion(100, 200)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("performanceYear"), "$.performanceYear"),
        (lambda d: d.update(entityType="apmEntity"), "$.entityType"),
        (
            lambda d: d["measurementSets"][0]["measurements"][0]["value"].update(
                performanceMet="8"
            ),
            "$.measurementSets[0].measurements[0].value.performanceMet",
        ),
        (
            lambda d: d["measurementSets"][1].update(performanceEnd="2025-02-30"),
            "$.measurementSets[1].performanceEnd",
        ),
        (
            lambda d: d["measurementSets"][1]["measurements"][0]["value"].update(numerator=1.5),
            "$.measurementSets[1].measurements[0].value.numerator",
        ),
    ],
)
def test_a_wrong_value_is_reported_with_its_json_path(change: object, path: str) -> None:
    document = json.loads(json.dumps(CONVERTED))
    change(document)  # type: ignore[operator]
    with pytest.raises(SubmissionShapeError) as caught:
        Submission.from_qpp_json(document)
    assert caught.value.path == path
    assert caught.value.location is not None
    assert caught.value.location.path == path


# --------------------------------------------------------------------------- round trips


counts = st.builds(
    PerformanceCounts,
    performance_met=st.integers(-5, 10**6),
    eligible_population=st.integers(0, 10**6),
    performance_not_met=st.none() | st.integers(-5, 10**6),
    eligible_population_exclusion=st.none() | st.integers(0, 10**6),
    eligible_population_exception=st.none() | st.integers(0, 10**6),
)
decimals = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)
values = st.one_of(
    st.booleans(),
    st.builds(Proportion, st.integers(0, 10**6), st.integers(0, 10**6)),
    st.builds(
        SinglePerformanceRate,
        st.booleans(),
        counts,
        st.none() | decimals,
        st.none() | st.integers(0, 100),
    ),
    st.builds(
        MultiPerformanceRate,
        st.booleans(),
        st.lists(
            st.builds(StratumPerformance, st.text(min_size=1, max_size=8), counts), max_size=3
        ).map(tuple),
        st.none() | decimals,
    ),
    st.builds(
        NonProportion,
        st.booleans(),
        decimals,
        decimals,
        st.integers(0, 10**6),
        st.none() | decimals,
        st.none() | decimals,
    ),
)
dates = st.none() | st.dates(min_value=dt.date(2017, 1, 1), max_value=dt.date(2030, 12, 31))
measurement_sets = st.builds(
    MeasurementSet,
    category=st.sampled_from(Category),
    submission_method=st.sampled_from(SubmissionMethod),
    measurements=st.lists(
        st.builds(Measurement, st.text(min_size=1, max_size=10), values), max_size=4
    ).map(tuple),
    program_name=st.none() | st.sampled_from(["mips", "app1", "appPlus", "G0053"]),
    performance_start=dates,
    performance_end=dates,
    cehrt_id=st.none() | st.text(max_size=15),
    source=st.none() | st.just("qrda3"),
)
submissions = st.builds(
    Submission,
    performance_year=st.integers(2017, 2030),
    entity_type=st.sampled_from(EntityType),
    tin=st.none() | st.text(max_size=12),
    npi=st.none() | st.text(max_size=12),
    entity_id=st.none() | st.text(max_size=12),
    measurement_sets=st.lists(measurement_sets, max_size=3).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(submissions)
def test_from_qpp_json_reads_back_what_to_qpp_json_writes(submission: Submission) -> None:
    document = json.loads(json.dumps(submission.to_qpp_json()), parse_float=Decimal)
    assert Submission.from_qpp_json(document) == submission
