"""Unit tests of the eligibility rules (openqpp.core.eligibility), named as the rules they check.
Scenario cases from the guides live in tests/policy/eligibility/*.yaml."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openqpp.core.eligibility import (
    ClinicianFacts,
    Criterion,
    EligibilityResult,
    Level,
    LowVolumeResult,
    Param,
    Reason,
    ReasonCode,
    Rules,
    SegmentVolume,
    SpecialStatus,
    Status,
    combine_segments,
    determine_apm_entity,
    determine_group,
    determine_individual,
    low_volume_status,
)
from openqpp.policy import Policy, load_policy

TIN = "123456789"
NPI = "1234567893"


@pytest.fixture(scope="module")
def p2019() -> Policy:
    return load_policy(2019)


@pytest.fixture(scope="module")
def p2022() -> Policy:
    return load_policy(2022)


def volume(
    segment: int,
    beneficiaries: int,
    allowed_charges: str | int,
    covered_services: int,
    **more: int,
) -> SegmentVolume:
    fields: dict[str, Any] = {
        "patient_facing_encounters": covered_services,
        "lines": covered_services,
        "hospital_lines": 0,
        "asc_lines": 0,
        "facility_lines": 0,
        "clinicians": 1,
    }
    fields.update(more)
    return SegmentVolume(
        segment=segment,
        allowed_charges=Decimal(str(allowed_charges)),
        beneficiaries=beneficiaries,
        covered_services=covered_services,
        **fields,
    )


def physician(**changes: Any) -> ClinicianFacts:
    facts = ClinicianFacts(NPI, "physician", dt.date(2010, 1, 1))
    return dataclasses.replace(facts, **changes)


def both(beneficiaries: int, charges: str | int, services: int) -> dict[int, SegmentVolume]:
    return {s: volume(s, beneficiaries, charges, services) for s in (1, 2)}


def individual(policy: Policy | Rules, volumes: dict[int, SegmentVolume], **kw: Any) -> Any:
    kw.setdefault("clinician", physician())
    kw.setdefault("tin_clinicians", 20)
    return determine_individual(policy=policy, tin=TIN, npi=NPI, volumes=volumes, **kw)


def with_eligibility(policy: Policy, **changes: Any) -> Policy:
    """A copy of ``policy`` with some eligibility values changed (a year that does not exist)."""
    eligibility = policy.values.eligibility.model_copy(update=changes)
    values = policy.values.model_copy(update={"eligibility": eligibility})
    return dataclasses.replace(policy, values=values)


def lvt_result(segment: int, status: Status) -> LowVolumeResult:
    numbers = {
        Status.ELIGIBLE: (300, 150000, 400),
        Status.OPT_IN_ELIGIBLE: (150, 150000, 400),
        Status.EXEMPT: (50, 10000, 40),
    }[status]
    lvt = load_policy(2019).eligibility.low_volume_threshold
    return low_volume_status(volume(segment, *numbers), lvt)


# ---------------------------------------------------------------- criteria and one segment


def test_exactly_the_threshold_does_not_exceed(p2019: Policy) -> None:
    lvt = p2019.eligibility.low_volume_threshold
    assert not Criterion.ALLOWED_CHARGES.check(Decimal(90000), lvt.allowed_charges, 1).exceeded
    assert not Criterion.BENEFICIARIES.check(200, lvt.beneficiaries, 1).exceeded
    assert lvt.covered_services is not None
    assert not Criterion.COVERED_SERVICES.check(200, lvt.covered_services, 1).exceeded


def test_one_cent_one_patient_one_service_above_the_threshold_exceeds(p2019: Policy) -> None:
    lvt = p2019.eligibility.low_volume_threshold
    assert Criterion.ALLOWED_CHARGES.check(Decimal("90000.01"), lvt.allowed_charges, 1).exceeded
    assert Criterion.BENEFICIARIES.check(201, lvt.beneficiaries, 1).exceeded
    assert lvt.covered_services is not None
    assert Criterion.COVERED_SERVICES.check(201, lvt.covered_services, 2).exceeded


def test_a_check_keeps_value_threshold_comparison_and_segment(p2019: Policy) -> None:
    lvt = p2019.eligibility.low_volume_threshold
    check = Criterion.BENEFICIARIES.check(150, lvt.beneficiaries, 2)
    assert (check.value, check.threshold, check.segment) == (150, Decimal(200), 2)
    assert check.comparison.value == "greater_than"
    assert check.describe() == "150 Medicare patients (needs more than 200)"


@pytest.mark.parametrize(
    ("numbers", "status", "exceeded"),
    [
        (
            (201, "90000.01", 201),
            Status.ELIGIBLE,
            {"allowed_charges", "beneficiaries", "covered_services"},
        ),
        ((150, 90300, 234), Status.OPT_IN_ELIGIBLE, {"allowed_charges", "covered_services"}),
        ((201, 0, 0), Status.OPT_IN_ELIGIBLE, {"beneficiaries"}),
        ((200, 90000, 200), Status.EXEMPT, set()),
    ],
)
def test_all_criteria_exceeded_is_eligible_some_is_opt_in_none_is_exempt(
    p2019: Policy, numbers: tuple[int, Any, int], status: Status, exceeded: set[str]
) -> None:
    result = low_volume_status(volume(1, *numbers), p2019.eligibility.low_volume_threshold)
    assert result.status is status
    assert {c.value for c in result.exceeded} == exceeded


@given(
    beneficiaries=st.integers(min_value=0, max_value=400),
    cents=st.integers(min_value=0, max_value=18_000_000),
    services=st.integers(min_value=0, max_value=400),
)
def test_eligible_exactly_when_every_criterion_is_strictly_above(
    beneficiaries: int, cents: int, services: int
) -> None:
    lvt = load_policy(2019).eligibility.low_volume_threshold
    charges = Decimal(cents) / 100
    result = low_volume_status(volume(1, beneficiaries, str(charges), services), lvt)
    above = [charges > 90000, beneficiaries > 200, services > 200]
    expected = (
        Status.ELIGIBLE if all(above) else Status.OPT_IN_ELIGIBLE if any(above) else Status.EXEMPT
    )
    assert result.status is expected


def test_a_year_without_the_services_criterion_judges_two_criteria(p2019: Policy) -> None:
    lvt = p2019.eligibility.low_volume_threshold.model_copy(update={"covered_services": None})
    result = low_volume_status(volume(1, 250, 100000, 10), lvt)
    assert result.status is Status.ELIGIBLE
    assert [c.criterion for c in result.checks] == [
        Criterion.ALLOWED_CHARGES,
        Criterion.BENEFICIARIES,
    ]


def test_no_volume_in_a_segment_counts_as_zero(p2019: Policy) -> None:
    result = low_volume_status(None, p2019.eligibility.low_volume_threshold, 2)
    assert result.segment == 2
    assert result.status is Status.EXEMPT
    assert all(c.value == 0 for c in result.checks)
    with pytest.raises(ValueError, match="segment"):
        low_volume_status(None, p2019.eligibility.low_volume_threshold)


# ---------------------------------------------------------------- texts


def test_reason_text_carries_the_values_thresholds_and_segment(p2019: Policy) -> None:
    result = determine_group(
        policy=p2019,
        tin=TIN,
        volumes={2: volume(2, 150, 90300, 234), 1: volume(1, 150, 90300, 234)},
        individual_results=[individual(p2019, both(150, 90300, 234))],
    )
    lvt = [r for r in result.reasons if r.code == ReasonCode.LVT_EXCEEDS_SOME]
    assert [r.segment for r in lvt] == [1, 2]
    assert lvt[1].text == (
        "Exceeds low volume threshold: No — 150 Medicare patients (needs more than 200), "
        "$90,300 allowed charges (needs more than $90,000), 234 covered services "
        "(needs more than 200), segment 2"
    )
    check = lvt[1].checks[0]
    assert (check.criterion, check.value, check.threshold) == (
        Criterion.ALLOWED_CHARGES,
        Decimal(90300),
        Decimal(90000),
    )


def test_money_shows_cents_only_when_there_are_some(p2019: Policy) -> None:
    lvt = p2019.eligibility.low_volume_threshold
    assert (
        "$90,000.01 allowed charges"
        in Reason(
            ReasonCode.LVT_EXCEEDS_ALL,
            segment=1,
            checks=low_volume_status(volume(1, 201, "90000.01", 201), lvt).checks,
        ).text
    )
    assert (
        "$1,234,567 allowed charges"
        in Reason(
            ReasonCode.LVT_EXCEEDS_ALL,
            segment=1,
            checks=low_volume_status(volume(1, 201, "1234567.00", 201), lvt).checks,
        ).text
    )


def test_status_display_matches_the_qpp_pages() -> None:
    assert Status.ELIGIBLE.display == "MIPS ELIGIBLE"
    assert Status.OPT_IN_ELIGIBLE.display == "MIPS EXEMPT · Opt-in eligible"
    assert Status.EXEMPT.display == "MIPS EXEMPT"


def test_status_order_is_exempt_then_opt_in_eligible_then_eligible() -> None:
    assert Status.EXEMPT.rank < Status.OPT_IN_ELIGIBLE.rank < Status.ELIGIBLE.rank


def test_special_statuses_display_in_the_order_of_the_qpp_pages(p2019: Policy) -> None:
    result = individual(
        p2019, both(150, 90300, 234), clinician=physician(rural=True), tin_clinicians=5
    )
    assert result.special_status_display == "Small practice, Rural"
    assert result.has(SpecialStatus.RURAL)
    assert result.special_status_segments(SpecialStatus.SMALL_PRACTICE) == (1, 2)
    assert result.special_status_segments(SpecialStatus.HPSA) == ()


def test_reason_records_render_the_same_text_after_a_round_trip(p2019: Policy) -> None:
    result = individual(
        p2019,
        {
            1: volume(1, 150, 90300, 234, patient_facing_encounters=80),
            2: volume(2, 250, 95000, 300),
        },
        clinician=physician(qp_status="P", rural=True),
        tin_clinicians=3,
    )
    for reason in result.reasons:
        again = Reason.from_record(reason.as_record())
        assert again.text == reason.text
        assert again.code == reason.code


def test_an_unknown_reason_code_renders_as_itself() -> None:
    assert Reason("SOMETHING_NEW").text == "SOMETHING_NEW"


# ---------------------------------------------------------------- combining segments


@pytest.mark.parametrize(
    ("first", "second", "combined"),
    [
        (Status.ELIGIBLE, Status.ELIGIBLE, Status.ELIGIBLE),
        (Status.ELIGIBLE, Status.EXEMPT, Status.EXEMPT),
        (Status.EXEMPT, Status.ELIGIBLE, Status.EXEMPT),
        (Status.EXEMPT, Status.EXEMPT, Status.EXEMPT),
        (Status.OPT_IN_ELIGIBLE, Status.ELIGIBLE, Status.OPT_IN_ELIGIBLE),
        (Status.ELIGIBLE, Status.OPT_IN_ELIGIBLE, Status.OPT_IN_ELIGIBLE),
        (Status.OPT_IN_ELIGIBLE, Status.EXEMPT, Status.EXEMPT),
        (Status.OPT_IN_ELIGIBLE, Status.OPT_IN_ELIGIBLE, Status.OPT_IN_ELIGIBLE),
    ],
)
def test_combined_status_is_the_lower_of_the_segments(
    first: Status, second: Status, combined: Status
) -> None:
    result = combine_segments(
        [lvt_result(1, first), lvt_result(2, second)], billed_in={1, 2}, new_entity_segment=2
    )
    assert result.status is combined
    assert [r.segment for r in result.judged] == [1, 2]


def test_the_combination_reason_says_the_opt_in_rule_is_the_documented_inference() -> None:
    opt_in = combine_segments(
        [lvt_result(1, Status.OPT_IN_ELIGIBLE), lvt_result(2, Status.ELIGIBLE)],
        billed_in={1, 2},
        new_entity_segment=2,
    )
    text = next(r.text for r in opt_in.reasons if r.code == ReasonCode.SEGMENTS_COMBINED)
    assert "documented inference" in text
    assert "mips-rules §2.4" in text
    plain = combine_segments(
        [lvt_result(1, Status.ELIGIBLE), lvt_result(2, Status.EXEMPT)],
        billed_in={1, 2},
        new_entity_segment=2,
    )
    text = next(r.text for r in plain.reasons if r.code == ReasonCode.SEGMENTS_COMBINED)
    assert "inference" not in text
    assert "both segments" in text


def test_on_a_tie_the_later_segment_is_decisive() -> None:
    result = combine_segments(
        [lvt_result(1, Status.EXEMPT), lvt_result(2, Status.EXEMPT)],
        billed_in={1, 2},
        new_entity_segment=2,
    )
    assert result.decisive.segment == 2


def test_an_entity_first_seen_in_segment_2_is_judged_on_segment_2_alone() -> None:
    result = combine_segments(
        [lvt_result(1, Status.EXEMPT), lvt_result(2, Status.ELIGIBLE)],
        billed_in={2},
        new_entity_segment=2,
        unit="TIN",
    )
    assert result.new_entity
    assert result.status is Status.ELIGIBLE
    assert [r.segment for r in result.judged] == [2]
    assert result.reasons[0].code == "NEW_ENTITY_SEGMENT_2"
    assert "This TIN first billed in segment 2" in result.reasons[0].text


def test_an_entity_billing_in_segment_1_only_is_not_new() -> None:
    result = combine_segments(
        [lvt_result(1, Status.ELIGIBLE), lvt_result(2, Status.EXEMPT)],
        billed_in={1},
        new_entity_segment=2,
    )
    assert not result.new_entity
    assert result.status is Status.EXEMPT


def test_combining_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        combine_segments([], billed_in=(), new_entity_segment=2)


def test_exceeds_low_volume_threshold_is_yes_only_when_every_judged_segment_exceeds(
    p2019: Policy,
) -> None:
    assert individual(p2019, both(300, 150000, 400)).exceeds_low_volume_threshold is True
    mixed = {1: volume(1, 300, 150000, 400), 2: volume(2, 150, 150000, 400)}
    assert individual(p2019, mixed).exceeds_low_volume_threshold is False


# ---------------------------------------------------------------- every number from policy


def test_rules_are_resolved_once_per_policy(p2019: Policy) -> None:
    assert Rules.for_policy(p2019) is Rules.for_policy(p2019)
    rules = Rules.for_policy(p2019)
    assert rules.year == p2019.year
    assert rules.segments == (1, 2)
    assert individual(rules, both(300, 150000, 400)).status is Status.ELIGIBLE


def test_the_threshold_comes_from_policy(p2019: Policy) -> None:
    lvt = p2019.eligibility.low_volume_threshold
    higher = lvt.model_copy(
        update={
            "allowed_charges": lvt.allowed_charges.model_copy(update={"value": Decimal(100000)})
        }
    )
    policy = with_eligibility(p2019, low_volume_threshold=higher)
    result = individual(policy, both(300, 95000, 400))
    assert result.status is Status.OPT_IN_ELIGIBLE
    assert "(needs more than $100,000)" in result.reasons[0].text


def test_opt_in_eligible_is_exempt_where_policy_offers_no_opt_in(p2019: Policy) -> None:
    policy = with_eligibility(p2019, opt_in_available=False)
    result = individual(policy, both(150, 95000, 400))
    assert result.status is Status.EXEMPT
    assert ReasonCode.OPT_IN_NOT_AVAILABLE in result.reason_codes


def test_eligible_clinician_types_come_from_policy(p2019: Policy) -> None:
    policy = with_eligibility(p2019, eligible_clinician_types=("physician", "doula"))
    doula = individual(policy, both(300, 150000, 400), clinician=physician(clinician_type="doula"))
    assert doula.status is Status.ELIGIBLE
    np = individual(
        policy, both(300, 150000, 400), clinician=physician(clinician_type="nurse_practitioner")
    )
    assert np.status is Status.EXEMPT


def test_a_special_status_counts_only_in_the_segments_policy_allows(p2019: Policy) -> None:
    special = p2019.eligibility.special_status.model_copy(update={"determined_in": "segment_2"})
    policy = with_eligibility(p2019, special_status=special)
    volumes = {
        1: volume(1, 300, 150000, 400, patient_facing_encounters=50),
        2: volume(2, 300, 150000, 400, patient_facing_encounters=500),
    }
    assert individual(p2019, volumes).has(SpecialStatus.NON_PATIENT_FACING)
    restricted = individual(policy, volumes)
    assert not restricted.has(SpecialStatus.NON_PATIENT_FACING)


def test_the_new_entity_segment_comes_from_policy(p2019: Policy) -> None:
    period = p2019.eligibility.determination_period.model_copy(update={"new_tin_judged_on": 3})
    policy = with_eligibility(p2019, determination_period=period)
    only_segment_2 = {2: volume(2, 300, 150000, 400)}
    assert individual(p2019, only_segment_2).status is Status.ELIGIBLE
    assert individual(policy, only_segment_2).status is Status.EXEMPT


def test_a_result_names_the_unverified_policy_values_it_used(p2019: Policy) -> None:
    result = individual(load_policy(2025), both(300, 150000, 400))
    assert result.unverified
    assert Param.ALLOWED_CHARGES in result.unverified_parameters
    in_2019 = individual(p2019, both(300, 150000, 400))
    assert Param.ALLOWED_CHARGES not in in_2019.unverified_parameters
    assert set(in_2019.unverified_parameters) <= set(p2019.unverified)


def test_a_result_on_verified_values_only_is_not_unverified(p2019: Policy) -> None:
    verified = {
        path: dataclasses.replace(parameter, status="verified")
        for path, parameter in p2019.parameters.items()
    }
    policy = dataclasses.replace(p2019, parameters=verified)
    result = individual(policy, both(300, 150000, 400))
    assert not result.unverified
    assert result.unverified_parameters == ()


def test_the_new_entity_rule_is_listed_when_used_and_unverified(p2019: Policy) -> None:
    assert not p2019.is_verified(Param.NEW_TIN_JUDGED_ON)
    new = individual(p2019, {2: volume(2, 300, 150000, 400)})
    assert Param.NEW_TIN_JUDGED_ON in new.unverified_parameters
    old = individual(p2019, both(300, 150000, 400))
    assert Param.NEW_TIN_JUDGED_ON not in old.unverified_parameters


# ---------------------------------------------------------------- clinicians and levels


def test_individual_entity_key_is_tin_slash_npi(p2019: Policy) -> None:
    result = individual(p2019, both(300, 150000, 400))
    assert (result.level, result.entity_key, result.tin, result.npi) == (
        Level.INDIVIDUAL,
        f"{TIN}/{NPI}",
        TIN,
        NPI,
    )
    assert result.policy_year == 2019


def test_qp_status_is_read_case_insensitively(p2019: Policy) -> None:
    result = individual(p2019, both(300, 150000, 400), clinician=physician(qp_status=" y "))
    assert result.status is Status.EXEMPT
    assert result.clinician_excluded
    assert ReasonCode.QUALIFYING_APM_PARTICIPANT in result.reason_codes


def test_an_excluded_clinician_still_shows_its_volume_and_exceeded_criteria(
    p2019: Policy,
) -> None:
    result = individual(
        p2019, both(300, 150000, 400), clinician=physician(first_enrolled=dt.date(2019, 5, 1))
    )
    assert result.status is Status.EXEMPT
    assert set(result.exceeded) == set(Criterion)
    assert result.reason_codes[0] == ReasonCode.NEWLY_ENROLLED


def test_group_shares_count_only_clinicians_billing_in_the_segment(p2019: Policy) -> None:
    npf_in_1 = {1: volume(1, 60, 30000, 150, patient_facing_encounters=10)}
    members = [individual(p2019, npf_in_1) for _ in range(4)]
    members.append(individual(p2019, {2: volume(2, 60, 30000, 150)}))
    group = determine_group(
        policy=p2019,
        tin=TIN,
        volumes={s: volume(s, 300, 150000, 400, clinicians=20) for s in (1, 2)},
        individual_results=members,
    )
    # segment 1: 4 of 4 billing clinicians are non-patient facing (100%)
    assert group.special_status_segments(SpecialStatus.NON_PATIENT_FACING) == (1,)


def test_a_group_with_no_clinicians_has_no_eligible_clinician(p2019: Policy) -> None:
    group = determine_group(
        policy=p2019, tin=TIN, volumes=both(300, 150000, 400), individual_results=[]
    )
    assert group.status is Status.EXEMPT
    assert group.reason_codes[0] == ReasonCode.NO_ELIGIBLE_CLINICIAN


def test_an_apm_entity_without_entity_level_threshold_has_no_segments(p2022: Policy) -> None:
    participant: EligibilityResult = individual(p2022, both(300, 150000, 400))
    result = determine_apm_entity(
        policy=p2022, apm_entity_id="A1234", volumes={}, participants=[participant]
    )
    assert result.status is Status.ELIGIBLE
    assert not result.low_volume_evaluated
    assert result.segments == ()
    assert result.exceeds_low_volume_threshold is None
    assert result.billed_in == (1, 2)
    assert result.reason_codes[:2] == (
        ReasonCode.APM_LVT_NOT_EVALUATED,
        ReasonCode.APM_PARTICIPANT_ELIGIBLE,
    )


def test_segment_volume_reads_an_entity_volumes_row() -> None:
    row = {
        "segment": 2,
        "level": "group",
        "entity_key": TIN,
        "allowed_charges": "90300.00",
        "beneficiaries": 150,
        "covered_services": 234,
        "patient_facing_encounters": 200,
        "lines": 250,
        "hospital_lines": 3,
        "asc_lines": 0,
        "facility_lines": 1,
        "clinicians": 4,
    }
    parsed = SegmentVolume.from_row(row)
    assert parsed.segment == 2
    assert parsed.allowed_charges == Decimal("90300.00")
    assert (parsed.beneficiaries, parsed.clinicians, parsed.hospital_lines) == (150, 4, 3)
    assert parsed.has_volume
    assert not SegmentVolume.empty(1).has_volume
