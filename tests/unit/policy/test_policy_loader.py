"""The resolved, typed policy: values as the rules state them, frozen, with their references and
verification status, and the differences between 2019 and 2022 the guides describe."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from tests.conftest import REPO

from openqpp.measures.catalogue import roots_from_path_list
from openqpp.policy import SUPPORTED_YEARS, Policy, load_policy
from openqpp.policy.model import CategoryWeights, Comparison

UTC = dt.UTC

# ---------------------------------------------------------------- typed values


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_low_volume_threshold_is_strictly_greater_than(year: int) -> None:
    lvt = load_policy(year).eligibility.low_volume_threshold
    assert lvt.allowed_charges.met_by(Decimal("90000.01"))
    assert not lvt.allowed_charges.met_by(90000)
    assert lvt.beneficiaries.met_by(201)
    assert not lvt.beneficiaries.met_by(200)
    assert lvt.covered_services is not None
    assert lvt.covered_services.met_by(201)
    assert not lvt.covered_services.met_by(200)
    assert lvt.allowed_charges.describe() == "> 90000"


def test_non_patient_facing_is_at_most_100_encounters() -> None:
    status = load_policy(2019).eligibility.special_status
    assert status.non_patient_facing_encounters.comparison is Comparison.LESS_THAN_OR_EQUAL
    assert status.non_patient_facing_encounters.met_by(100)
    assert not status.non_patient_facing_encounters.met_by(101)
    assert status.non_patient_facing_group.met_by(Decimal("0.76"))
    assert not status.non_patient_facing_group.met_by(Decimal("0.75"))
    assert status.small_practice_max_clinicians == 15


def test_place_of_service_statuses() -> None:
    status = load_policy(2022).eligibility.special_status
    assert status.hospital_based.places_of_service == ("19", "21", "22", "23")
    assert status.hospital_based.individual.met_by(Decimal("0.75"))
    assert not status.hospital_based.individual.met_by(Decimal("0.7499"))
    assert status.asc_based.places_of_service == ("24",)
    assert status.facility_based.places_of_service == ("21", "23")
    assert status.determined_in == "either_segment"


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_determination_segments_run_october_to_september(year: int) -> None:
    period = load_policy(year).eligibility.determination_period
    first, second = period.segments
    assert (first.number, first.start, first.end) == (
        1,
        dt.date(year - 2, 10, 1),
        dt.date(year - 1, 9, 30),
    )
    assert (second.number, second.start, second.end) == (
        2,
        dt.date(year - 1, 10, 1),
        dt.date(year, 9, 30),
    )
    assert period.new_tin_judged_on == 2


def test_2019_claims_run_out_is_30_days_then_none() -> None:
    first, second = load_policy(2019).eligibility.determination_period.segments
    assert first.claims_run_out_days == 30
    assert second.claims_run_out_days == 0


def test_clinical_social_workers_and_nurse_midwives_join_in_2022() -> None:
    for year in (2019, 2020, 2021):
        types = load_policy(year).eligibility.eligible_clinician_types
        assert "physical_therapist" in types
        assert "clinical_social_worker" not in types
        assert "certified_nurse_midwife" not in types
    for year in (2022, 2023, 2024, 2025):
        types = load_policy(year).eligibility.eligible_clinician_types
        assert {"clinical_social_worker", "certified_nurse_midwife", "physician"} <= set(types)


def test_apm_entity_level_low_volume_ends_in_2021() -> None:
    assert load_policy(2019).eligibility.apm.low_volume_at_apm_entity_level
    assert load_policy(2020).eligibility.apm.low_volume_at_apm_entity_level
    assert not load_policy(2021).eligibility.apm.low_volume_at_apm_entity_level


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_election_rules_that_hold_every_year(year: int) -> None:
    policy = load_policy(year)
    assert policy.eligibility.opt_in_available
    assert not policy.elections.app_voluntary_allowed
    assert policy.elections.virtual_group_election_is_opt_in
    assert not policy.elections.mvp_available_to_opt_in_eligible
    window = policy.elections.window
    assert window.timezone == "America/New_York"
    assert window.opens.year == year + 1
    assert window.opens < window.effective_closes


# ---------------------------------------------------------------- 2019 against 2022


def test_category_weights_2019_against_2022() -> None:
    assert load_policy(2019).scoring.category_weights == CategoryWeights(
        quality=Decimal(45), cost=Decimal(15), ia=Decimal(15), pi=Decimal(25)
    )
    assert load_policy(2022).scoring.category_weights == CategoryWeights(
        quality=Decimal(30), cost=Decimal(30), ia=Decimal(15), pi=Decimal(25)
    )


def test_covid_cost_reweighting_is_not_a_default_weight_change() -> None:
    assert load_policy(2020).scoring.category_weights.cost == 15
    assert load_policy(2021).scoring.category_weights.cost == 20


def test_apm_entities_could_opt_in_in_2019_but_not_in_2022() -> None:
    assert load_policy(2019).elections.apm_entity_opt_in_allowed is True
    assert load_policy(2020).elections.apm_entity_opt_in_allowed is True
    assert load_policy(2021).elections.apm_entity_opt_in_allowed is False
    assert load_policy(2022).elections.apm_entity_opt_in_allowed is False


def test_2019_window_opens_at_10_et_and_was_extended_to_april_30() -> None:
    window = load_policy(2019).elections.window
    zone = ZoneInfo(window.timezone)
    assert window.opens == dt.datetime(2020, 1, 2, 10, 0)  # noqa: DTZ001 - naive local by design
    assert window.closes == dt.datetime(2020, 3, 31, 20, 0)  # noqa: DTZ001
    assert window.extended_closes == dt.datetime(2020, 4, 30, 20, 0)  # noqa: DTZ001
    assert window.effective_closes == window.extended_closes
    # 10:00 EST is 15:00 UTC; 20:00 EDT on April 30 is 00:00 UTC on May 1.
    assert window.opens.replace(tzinfo=zone).astimezone(UTC) == dt.datetime(
        2020, 1, 2, 15, 0, tzinfo=UTC
    )
    assert window.effective_closes.replace(tzinfo=zone).astimezone(UTC) == dt.datetime(
        2020, 5, 1, 0, 0, tzinfo=UTC
    )


def test_2022_window_runs_january_3_to_march_31_2023() -> None:
    policy = load_policy(2022)
    window = policy.elections.window
    assert window.opens == dt.datetime(2023, 1, 3, 10, 0)  # noqa: DTZ001
    assert window.closes == dt.datetime(2023, 3, 31, 20, 0)  # noqa: DTZ001
    assert window.extended_closes is None
    assert window.effective_closes == window.closes
    # The opening hour is not in the 2022 guide, so the window is marked unverified.
    assert "elections.window" in policy.unverified
    assert "hour" in (policy.parameters["elections.window"].note or "")


def test_2023_window_was_extended_to_april_15_2024() -> None:
    window = load_policy(2023).elections.window
    assert window.closes == dt.datetime(2024, 4, 1, 20, 0)  # noqa: DTZ001
    assert window.effective_closes == dt.datetime(2024, 4, 15, 20, 0)  # noqa: DTZ001


def test_payment_adjustment_2019_against_2022_and_2023() -> None:
    pa2019 = load_policy(2019).scoring.payment_adjustment
    pa2022 = load_policy(2022).scoring.payment_adjustment
    pa2023 = load_policy(2023).scoring.payment_adjustment
    assert (pa2019.performance_threshold, pa2019.exceptional_performance_threshold) == (30, 75)
    assert (pa2022.performance_threshold, pa2022.exceptional_performance_threshold) == (75, 89)
    assert pa2023.exceptional_performance_threshold is None
    assert pa2019.max_adjustment_percent == 7
    assert pa2022.max_adjustment_percent == 9
    assert pa2019.max_scaling_factor == Decimal("3.0")


def test_quality_bonuses_2019_against_2022() -> None:
    q2019 = load_policy(2019).scoring.quality
    q2022 = load_policy(2022).scoring.quality
    assert q2019.data_completeness == Decimal("0.6")
    assert q2022.data_completeness == Decimal("0.7")
    assert q2019.high_priority_bonus is not None
    assert q2019.high_priority_bonus.outcome_points == 2
    assert q2019.end_to_end_bonus is not None
    assert q2022.high_priority_bonus is None
    assert q2022.end_to_end_bonus is None
    assert q2019.new_measure_points is None
    assert q2022.new_measure_points is not None
    assert (q2022.new_measure_points.first_year, q2022.new_measure_points.second_year) == (7, 5)
    assert q2019.data_completeness_fail_points == 1
    assert q2022.data_completeness_fail_points == 0
    assert q2022.data_completeness_fail_points_small_practice == 3


def test_pi_2019_against_2022_and_2023() -> None:
    pi2019 = load_policy(2019).scoring.pi
    pi2022 = load_policy(2022).scoring.pi
    pi2023 = load_policy(2023).scoring.pi
    assert "PI_PPHI_2" not in pi2019.required_attestations
    assert {"PI_PPHI_1", "PI_PPHI_2", "PI_ONCDIR_1", "PI_INFBLO_1"} == set(
        pi2022.required_attestations
    )
    assert pi2019.measures["PI_EP_2"].bonus
    assert pi2019.measures["PI_PEA_1"].points == 40
    assert pi2022.measures["PI_HIE_5"].points == 40
    assert pi2023.measures["PI_PEA_1"].points == 25
    assert pi2023.measures["PI_EP_2"].required
    assert not pi2023.measures["PI_EP_2"].bonus
    assert "PI_HIE_6" in pi2023.measures
    assert "PI_HIE_6" not in pi2022.measures
    assert load_policy(2024).scoring.pi.performance_period_days == 180


def test_cehrt_id_pattern_follows_the_edition() -> None:
    pattern_2019 = re.compile(load_policy(2019).scoring.pi.cehrt_id_pattern)
    pattern_2023 = re.compile(load_policy(2023).scoring.pi.cehrt_id_pattern)
    assert pattern_2019.fullmatch("0015E8DEPU4V2MR")
    assert not pattern_2019.fullmatch("0015E8DEPU4V2M")  # 14 characters
    assert not pattern_2019.fullmatch("0014E8DEPU4V2MR")
    assert pattern_2023.fullmatch("0015C8DEPU4V2MR")
    assert not pattern_2023.fullmatch("0015E8DEPU4V2MR")


def test_improvement_activity_weights_until_2024() -> None:
    ia2022 = load_policy(2022).scoring.ia
    assert (ia2022.medium_points, ia2022.high_points, ia2022.unweighted_points) == (10, 20, None)
    assert ia2022.cap == 40
    assert ia2022.special_status_multiplier == 2
    assert load_policy(2019).scoring.ia.group_attestation_share is None
    assert ia2022.group_attestation_share == Decimal("0.5")
    ia2025 = load_policy(2025).scoring.ia
    assert (ia2025.medium_points, ia2025.high_points) == (None, None)
    assert ia2025.unweighted_points is not None


# ---------------------------------------------------------------- redistribution tables


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_redistribution_rows_are_unique_and_start_from_the_defaults(year: int) -> None:
    scoring = load_policy(year).scoring
    keys = [(frozenset(r.not_scored), r.small_practice) for r in scoring.redistribution]
    assert len(keys) == len(set(keys))
    default = next(r for r in scoring.redistribution if not r.not_scored)
    assert default.weights == scoring.category_weights
    assert default.status == "verified"
    for row in scoring.redistribution:
        for category in row.not_scored:
            assert getattr(row.weights, category) == 0, (year, row)


def test_2022_small_practices_have_their_own_no_pi_row() -> None:
    rows = load_policy(2022).scoring.redistribution
    no_pi = {r.small_practice: r for r in rows if r.not_scored == ("pi",)}
    assert set(no_pi) == {True, False}
    assert no_pi[True].weights == CategoryWeights(
        quality=Decimal(40), cost=Decimal(30), ia=Decimal(30), pi=Decimal(0)
    )
    assert no_pi[True].status == "verified"
    assert no_pi[False].status == "unverified"


def test_2019_no_pi_row_moves_pi_to_quality() -> None:
    rows = load_policy(2019).scoring.redistribution
    no_pi = next(r for r in rows if r.not_scored == ("pi",))
    assert no_pi.small_practice is None
    assert no_pi.weights.quality == 70


# ---------------------------------------------------------------- frozen, references, status


def test_policy_is_frozen() -> None:
    policy = load_policy(2019)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.year = 2020  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.scoring.category_weights.quality = Decimal(50)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.eligibility.low_volume_threshold.allowed_charges.value = Decimal(1)  # type: ignore[misc]
    assert isinstance(policy.eligibility.eligible_clinician_types, tuple)


def test_load_policy_returns_the_same_policy_object_for_a_year() -> None:
    assert load_policy(2022) is load_policy(2022)
    assert isinstance(load_policy(2022), Policy)


def test_reference_returns_the_citation() -> None:
    policy = load_policy(2019)
    reference = policy.reference("eligibility.low_volume_threshold.allowed_charges")
    assert "83 FR 59452" in reference
    assert "42 CFR 414.1305" in reference
    assert "86 FR 64996" in load_policy(2022).reference("scoring.category_weights")
    assert "2019-opt-in-election-process-guide" in policy.reference("elections.window")
    with pytest.raises(KeyError):
        policy.reference("scoring.no_such_parameter")


def test_unverified_lists_the_paths_that_could_not_be_checked() -> None:
    p2019 = load_policy(2019)
    assert "scoring.redistribution" in p2019.unverified
    assert "scoring.pi.cehrt_id_pattern" in p2019.unverified
    assert "elections.window" not in p2019.unverified
    assert "scoring.category_weights" not in p2019.unverified
    assert "eligibility.low_volume_threshold.allowed_charges" not in p2019.unverified
    assert p2019.is_verified("eligibility.low_volume_threshold")
    assert not p2019.is_verified("eligibility.special_status")
    p2025 = load_policy(2025)
    assert "eligibility.low_volume_threshold.allowed_charges" in p2025.unverified
    assert not p2025.is_verified("eligibility.low_volume_threshold")
    for path in p2025.unverified:
        assert p2025.parameters[path].note, path


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_unverified_is_exactly_the_parameters_with_that_status(year: int) -> None:
    policy = load_policy(year)
    assert set(policy.unverified) == {
        path for path, p in policy.parameters.items() if p.status == "unverified"
    }
    assert policy.unverified, "every year has at least one unverified value"


# ---------------------------------------------------------------- PI ids exist in the data


def _measures_roots() -> list[Path]:
    """Where the measures data may be: the installed npm pack, $OPENQPP_MEASURES_DATA, and the
    shared checkout beside the repository (2023+)."""
    return [
        REPO / ".data" / "qpp-measures-data",
        *roots_from_path_list(os.environ.get("OPENQPP_MEASURES_DATA")),
        REPO.parent / "shared" / "data" / "qpp-measures-data",
    ]


def _pi_ids(year: int) -> set[str] | None:
    for root in _measures_roots():
        file = root / "measures" / str(year) / "measures-data.json"
        if file.is_file():
            records = json.loads(Path(file).read_text(encoding="utf-8"))
            return {r["measureId"] for r in records if r.get("category") == "pi"}
    return None


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_pi_measure_ids_are_those_of_the_measures_data(year: int) -> None:
    ids = _pi_ids(year)
    if ids is None:
        pytest.skip(f"no qpp-measures-data for {year} installed (run `openqpp data install`)")
    pi = load_policy(year).scoring.pi
    assert set(pi.measures) <= ids
    assert set(pi.required_attestations) <= ids
    assert not set(pi.measures) & set(pi.required_attestations)
