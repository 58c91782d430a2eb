"""How PI measurement sets from several sources combine, and when they conflict (PI scores 0)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.support.submissions import a_set, a_submission

from openqpp.core.submissions import (
    Category,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    StratumPerformance,
    SubmissionMethod,
)
from openqpp.core.submissions.combine import (
    describe_value,
    pi_conflicting_data,
    pi_conflicts,
    submission_type,
)
from openqpp.measures import MeasuresYear

PI = Category.PI
REGISTRY = SubmissionMethod.REGISTRY
EHR = SubmissionMethod.ELECTRONIC_HEALTH_RECORD
ATTESTATION = SubmissionMethod.ATTESTATION


def test_one_pi_set_never_conflicts() -> None:
    submission = a_submission(a_set(PI, ("PI_EP_1", Proportion(1, 2)), method=ATTESTATION))
    assert pi_conflicts(submission) is None


def test_agreeing_or_disjoint_pi_sets_combine_without_conflict() -> None:
    registry = a_set(PI, ("PI_EP_1", Proportion(1, 2)), ("PI_PPHI_1", True), cehrt="X")
    manual = a_set(
        PI,
        ("PI_EP_1", Proportion(1, 2)),
        ("PI_PEA_1", Proportion(3, 4)),
        method=ATTESTATION,
        cehrt="X",
    )
    assert pi_conflicts([registry, manual]) is None


def test_the_same_measure_with_different_values_in_two_types_scores_zero() -> None:
    registry = a_set(PI, ("PI_EP_1", Proportion(3, 4)), method=REGISTRY)
    manual = a_set(PI, ("pi_ep_1", Proportion(5, 9)), method=ATTESTATION)
    message = pi_conflicts(a_submission(registry, manual))
    assert message is not None
    assert message.startswith("Promoting Interoperability will score 0")
    assert (
        "PI_EP_1: 3 / 4 in registry (QPP JSON file or API); 5 / 9 in manual attestation" in message
    )


def test_a_required_attestation_answered_differently_conflicts() -> None:
    ehr = a_set(PI, ("PI_PPHI_1", True), method=EHR)
    manual = a_set(PI, ("PI_PPHI_1", False), method=ATTESTATION)
    (conflict,) = pi_conflicting_data([ehr, manual])
    assert conflict.subject == "PI_PPHI_1"
    assert "Yes in electronic health record" in conflict.detail
    assert "No in manual attestation" in conflict.detail


def test_two_registries_of_the_same_type_are_told_apart_by_label() -> None:
    one = a_set(PI, ("PI_EP_1", Proportion(3, 4)))
    two = a_set(PI, ("PI_EP_1", Proportion(1, 4)))
    message = pi_conflicts([one, two])
    assert message is not None
    assert "registry (QPP JSON file or API) #1" in message
    assert "registry (QPP JSON file or API) #2" in message
    named = pi_conflicts([one, two], labels=["AAN (QCDR)", "Other (QR)"])
    assert named is not None
    assert "3 / 4 in AAN (QCDR); 1 / 4 in Other (QR)" in named


def test_other_categories_are_not_pi_conflicts() -> None:
    one = a_set(Category.IA, ("IA_EPA_1", True))
    two = a_set(Category.IA, ("IA_EPA_1", False), method=ATTESTATION)
    assert pi_conflicts([one, two]) is None


def test_a_measure_reported_while_another_set_claims_its_exclusion_conflicts(
    measures: MeasuresYear,
) -> None:
    reported = a_set(PI, ("PI_HIE_1", Proportion(3, 4)))
    excluded = a_set(PI, ("PI_LVOTC_1", True), method=ATTESTATION)
    assert pi_conflicts([reported, excluded]) is None  # without the year's measures
    message = pi_conflicts([reported, excluded], measures=measures)
    assert message is not None
    assert "PI_HIE_1 / PI_LVOTC_1" in message
    assert "manual attestation claims its exclusion PI_LVOTC_1" in message


def test_different_cehrt_ids_conflict() -> None:
    one = a_set(PI, ("PI_EP_1", Proportion(3, 4)), cehrt="0015E1234567890")
    two = a_set(PI, ("PI_PEA_1", Proportion(3, 4)), method=EHR, cehrt="0015E0000000000")
    (conflict,) = pi_conflicting_data([one, two])
    assert conflict.subject == "CEHRT ID"


def test_labels_must_name_every_set() -> None:
    with pytest.raises(ValueError, match="labels"):
        pi_conflicts([a_set(PI), a_set(PI)], labels=["only one"])


def test_submission_types_and_values_in_words() -> None:
    assert submission_type(a_set(PI, method=ATTESTATION)) == "manual attestation"
    counts = PerformanceCounts(performance_met=3, eligible_population=4)
    assert describe_value(True) == "Yes"
    assert describe_value(False) == "No"
    assert describe_value(Proportion(3, 4)) == "3 / 4"
    assert describe_value(SinglePerformanceRate(False, counts)) == "3 met of 4 eligible"
    assert (
        describe_value(SinglePerformanceRate(False, counts, performance_rate=Decimal("75")))
        == "3 met of 4 eligible (rate 75%)"
    )
    assert (
        describe_value(MultiPerformanceRate(False, (StratumPerformance("a", counts),)))
        == "a: 3 met of 4"
    )
    assert describe_value(MultiPerformanceRate(False, ())) == "no strata"
    assert describe_value(NonProportion(False, Decimal(1), Decimal(2), 5)) == "1 / 2 (5 instances)"
