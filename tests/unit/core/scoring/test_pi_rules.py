"""Promoting Interoperability rules (mips-rules.md §4.4; 2019 data submission user guide)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.support.scoring import (
    cehrt_for,
    context,
    find,
    full_pi,
    measurement_set,
    measures_year,
)

from openqpp.core.scoring.pi import score_pi
from openqpp.core.scoring.tree import ScoreNode, check_tree
from openqpp.core.submissions.model import Category, SubmissionMethod
from openqpp.policy import load_policy

#: The measurements behind CMS's scoring example output for PI (scoring-example-output-aci.json).
CMS_EXAMPLE = {
    "PI_PPHI_1": True,
    "PI_ONCACB_1": True,
    "PI_INFBLO_1": True,
    "PI_ONCDIR_1": True,
    "PI_EP_1": [49, 115],
    "PI_HIE_1": [1123, 1951],
    "PI_HIE_4": [923, 951],
    "PI_PEA_1": [861, 1809],
    "PI_PHCDRR_1": True,
    "PI_PHCDRR_1_MULTI": True,
}


def pi(
    year: int,
    values: dict[str, object],
    *,
    cehrt: str | None = "auto",
    method: SubmissionMethod = SubmissionMethod.ELECTRONIC_HEALTH_RECORD,
    extra_sets: tuple[dict[str, object], ...] = (),
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ScoreNode:
    policy = load_policy(year)
    cehrt_id = cehrt_for(policy) if cehrt == "auto" else cehrt
    sets = [
        measurement_set(
            Category.PI, year, values, method=method, cehrt_id=cehrt_id, start=start, end=end
        )
    ]
    sets += [
        measurement_set(
            Category.PI, year, extra, method=SubmissionMethod.REGISTRY, cehrt_id=cehrt_id
        )
        for extra in extra_sets
    ]
    node = score_pi(sets, policy=policy, measures=measures_year(year), context=context())
    assert check_tree(node) == (), check_tree(node)
    return node


def test_measure_points_are_the_performance_rate_times_the_points_rounded_half_up() -> None:
    node = pi(2019, CMS_EXAMPLE)
    assert node.rule == "pi.measure_points"
    got = {n: find(node, n).points for n in ("PI_EP_1", "PI_HIE_1", "PI_HIE_4", "PI_PEA_1")}
    assert got == {"PI_EP_1": 4, "PI_HIE_1": 12, "PI_HIE_4": 19, "PI_PEA_1": 19}
    assert "49 of 115" in find(node, "PI_EP_1").explanation
    assert node.points == 64


def test_a_numerator_of_at_least_one_earns_at_least_one_point() -> None:
    values = {**full_pi(load_policy(2019)), "PI_EP_1": [1, 1000]}
    leaf = find(pi(2019, values), "PI_EP_1")
    assert leaf.points == 1
    assert "at least 1 point" in leaf.explanation


def test_a_missing_required_measure_scores_the_category_zero() -> None:
    values = full_pi(load_policy(2019))
    del values["PI_HIE_4"]
    node = pi(2019, values)
    assert (node.rule, node.points) == ("pi.required_measure_missing", 0)
    assert "PI_HIE_4 was not reported" in node.explanation
    assert "all or nothing" in node.explanation


def test_a_zero_numerator_on_a_required_measure_scores_the_category_zero() -> None:
    values = {**full_pi(load_policy(2022)), "PI_PEA_1": [0, 50]}
    node = pi(2022, values)
    assert (node.rule, node.points) == ("pi.required_measure_missing", 0)
    assert "PI_PEA_1 has a numerator of 0 (CMS requires at least 1)" in node.explanation


def test_data_without_a_cehrt_id_scores_zero() -> None:
    node = pi(2019, full_pi(load_policy(2019)), cehrt=None)
    assert (node.rule, node.points) == ("pi.cehrt_id_missing", 0)


def test_a_cehrt_id_for_mixed_2014_and_2015_editions_is_rejected() -> None:
    """2019 guide: an ID with "15H" (2014 and 2015 Edition combined) will be rejected."""
    node = pi(2019, full_pi(load_policy(2019)), cehrt="0015H8D3A2F7C1B")
    assert (node.rule, node.points) == ("pi.cehrt_id_invalid", 0)
    assert "scoring.pi.cehrt_id_pattern" in node.unverified


def test_a_required_attestation_not_answered_yes_scores_zero() -> None:
    values = {**full_pi(load_policy(2019)), "PI_INFBLO_1": False}
    node = pi(2019, values)
    assert (node.rule, node.points) == ("pi.attestation_missing", 0)
    assert "PI_INFBLO_1 was not answered yes" in node.explanation


def test_safer_guides_answered_no_still_counts_in_2022() -> None:
    values = {**full_pi(load_policy(2022)), "PI_PPHI_2": False}
    assert pi(2022, values).rule == "pi.measure_points"


def test_safer_guides_left_out_scores_zero_in_2022() -> None:
    values = full_pi(load_policy(2022))
    del values["PI_PPHI_2"]
    assert pi(2022, values).rule == "pi.attestation_missing"


def test_conflicting_data_across_submission_types_scores_zero() -> None:
    """2019 guide: conflicting data through several submission types scores 0 of 25."""
    values = full_pi(load_policy(2019))
    node = pi(2019, values, extra_sets=({"PI_EP_1": [3, 10]},))
    assert (node.rule, node.points) == ("pi.conflicting_submissions", 0)
    assert "PI_EP_1: " in node.explanation
    assert "3 / 10 in registry" in node.explanation


def test_sets_from_several_submission_types_that_agree_are_combined() -> None:
    values = full_pi(load_policy(2019))
    pea = values.pop("PI_PEA_1")
    node = pi(2019, values, extra_sets=({"PI_PEA_1": pea},))
    assert node.rule == "pi.measure_points"
    assert find(node, "PI_PEA_1").points == 40


def test_an_e_prescribing_exclusion_gives_its_points_to_the_hie_measures() -> None:
    values = {**full_pi(load_policy(2019)), "PI_LVPP_1": True}
    del values["PI_EP_1"]
    node = pi(2019, values)
    assert find(node, "PI_EP_1").rule == "pi.exclusion"
    assert find(node, "PI_HIE_1").maximum == 25
    assert find(node, "PI_HIE_4").maximum == 25
    assert node.points == 100
    assert "scoring.pi.exclusion_redistribution" in node.unverified


def test_a_pdmp_exclusion_gives_its_points_to_e_prescribing_in_2023() -> None:
    values = {**full_pi(load_policy(2023)), "PI_EP_2_EX_1": True}
    del values["PI_EP_2"]
    node = pi(2023, values)
    assert find(node, "PI_EP_1").maximum == 20
    assert "PI_EP_1" in find(node, "PI_EP_2").explanation


def test_public_health_exclusions_give_the_objective_points_to_patient_access() -> None:
    values = full_pi(load_policy(2019))
    del values["PI_PHCDRR_1"], values["PI_PHCDRR_2"]
    values["PI_PHCDRR_1_EX_1"] = True
    node = pi(2019, values)
    assert find(node, "PI_PEA_1").maximum == 50
    assert find(node, "publicHealthAndClinicalDataExchange").points == 0
    assert node.points == 100


def test_two_public_health_registries_earn_the_objective_in_2019() -> None:
    node = pi(2019, CMS_EXAMPLE)
    assert find(node, "publicHealthAndClinicalDataExchange").points == 10
    assert find(node, "PI_PHCDRR_1_MULTI").points == 5


def test_2022_public_health_needs_immunization_and_case_reporting() -> None:
    values = full_pi(load_policy(2022))
    del values["PI_PHCDRR_3"]
    node = pi(2022, values)
    assert node.rule == "pi.required_measure_missing"
    assert "PI_PHCDRR_3" in node.explanation


def test_only_one_optional_registry_earns_the_public_health_bonus() -> None:
    values = {**full_pi(load_policy(2022)), "PI_PHCDRR_2": True, "PI_PHCDRR_4": True}
    node = pi(2022, values)
    assert find(node, "PI_PHCDRR_2").points == 5
    assert find(node, "PI_PHCDRR_4").rule == "pi.bonus_limit"


def test_bonus_points_are_added_and_the_category_is_capped_at_100() -> None:
    values = {**full_pi(load_policy(2019)), "PI_EP_2": True, "PI_EP_3": [5, 10]}
    node = pi(2019, values)
    assert sum(c.points for c in node.children) == 110
    assert node.points == 100
    assert "capped at 100" in node.explanation


def test_bi_directional_exchange_replaces_send_and_receive() -> None:
    values = full_pi(load_policy(2022))
    del values["PI_HIE_1"], values["PI_HIE_4"]
    values["PI_HIE_5"] = True
    node = pi(2022, values)
    assert node.rule == "pi.measure_points"
    assert find(node, "PI_HIE_5").points == 40
    assert node.points == 100


def test_the_higher_scoring_hie_alternative_is_counted() -> None:
    values = {**full_pi(load_policy(2022)), "PI_HIE_1": [1, 10], "PI_HIE_5": True}
    node = pi(2022, values)
    assert find(node, "PI_HIE_5").points == 40
    assert find(node, "PI_HIE_1").rule == "pi.alternative_not_used"


def test_a_performance_period_shorter_than_the_year_requires_scores_zero() -> None:
    node = pi(
        2024,
        full_pi(load_policy(2024)),
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 4, 30),
    )
    assert node.rule == "pi.performance_period_too_short"
    assert "121 days" in node.explanation
    assert "180" in node.explanation


def test_no_pi_data_scores_zero_of_the_cap() -> None:
    policy = load_policy(2023)
    node = score_pi([], policy=policy, measures=measures_year(2023), context=context())
    assert (node.rule, node.points, node.maximum) == ("pi.no_data", 0, Decimal(100))
