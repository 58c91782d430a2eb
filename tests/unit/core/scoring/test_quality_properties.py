"""Properties of the quality score over generated submissions, every supported year: the tree
checks (parents equal their children, nodes stay in bounds), the score stays within its
denominator, and reporting one more measurement never lowers the quality points.

The generated measures year has no clinical clusters, so Eligible Measure Applicability never
shrinks the denominator: with EMA a further measure can rightly lower the score (it shows that more
measures applied), which is CMS's rule, not a defect.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.quality_measures import build_context, build_sets, build_year, describe

from openqpp.core.scoring import ScoreNode, check_tree
from openqpp.core.scoring.quality import score_quality
from openqpp.measures import MeasuresYear
from openqpp.policy import SUPPORTED_YEARS, load_policy

TENS = {"deciles": [0, 10, 20, 30, 40, 50, 60, 70, 80]}
STEEP = {"deciles": [0, 26.89, 40.49, 50, 57.07, 64.79, 73.08, 82.71, 96.44]}
INVERSE = {"deciles": [100, 68.31, 50.62, 37.5, 28.69, 20, 13.59, 9.02, 2.7]}
METHODS = ("registry", "claims", "electronicHealthRecord")


def _measures(year: int) -> list[dict[str, Any]]:
    return [
        {"id": "P1", "benchmarks": {"registry": TENS, "claims": STEEP}},
        {"id": "P2", "benchmarks": {"registry": STEEP, "electronicHealthRecord": TENS}},
        {"id": "P3", "benchmarks": {"registry": {**TENS, "topped_out_by_program": True}}},
        {"id": "P4", "benchmarks": {"claims": TENS}},
        {"id": "H1", "high_priority": True, "benchmarks": {"registry": STEEP}},
        {"id": "O1", "type": "outcome", "high_priority": True, "benchmarks": {"registry": TENS}},
        {
            "id": "O2",
            "type": "intermediateOutcome",
            "high_priority": True,
            "inverse": True,
            "benchmarks": {"registry": INVERSE, "electronicHealthRecord": INVERSE},
        },
        {"id": "Q1", "qcdr": True},
        {"id": "N1", "first_year": year, "benchmarks": {"registry": TENS}},
        {"id": "N2", "first_year": year - 1},
    ]


_YEARS: dict[int, MeasuresYear] = {}


def _year(year: int) -> MeasuresYear:
    if year not in _YEARS:
        _YEARS[year] = build_year(year, _measures(year))
    return _YEARS[year]


MEASURE_IDS = [m["id"] for m in _measures(2020)]

measurements = st.fixed_dictionaries(
    {
        "measure": st.sampled_from(MEASURE_IDS),
        "method": st.sampled_from(METHODS),
        "met": st.integers(0, 120),
        "not_met": st.integers(0, 120),
        "unreported": st.integers(0, 60),
        "e2e": st.booleans(),
    }
)

contexts = st.fixed_dictionaries(
    {
        "entity": st.sampled_from(["individual", "group"]),
        "small_practice": st.booleans(),
        "clinicians": st.sampled_from([None, 5, 16, 40]),
        "prior_quality_percent": st.sampled_from([None, 0, 25, 50, 80, 100]),
        "readmission": st.sampled_from(
            [None, {"case_count": 250, "points": 6}, {"case_count": 100, "points": 9}]
        ),
    }
)


def _sets(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_method: dict[str, list[dict[str, Any]]] = {}
    for spec in specs:
        eligible = spec["met"] + spec["not_met"] + spec["unreported"]
        by_method.setdefault(spec["method"], []).append(
            {
                "measure": spec["measure"],
                "met": spec["met"],
                "not_met": spec["not_met"],
                "eligible": eligible,
                "e2e": spec["e2e"],
            }
        )
    return [{"method": m, "measurements": ms} for m, ms in by_method.items()]


def _score(year: int, specs: list[dict[str, Any]], context: dict[str, Any]) -> ScoreNode:
    readmission = context.get("readmission")
    if readmission is not None:
        policy_rule = load_policy(year).scoring.quality.readmission
        measure_id = policy_rule.measure_id if policy_rule else "479"
        context = {**context, "readmission": {**readmission, "measure_id": measure_id}}
    return score_quality(
        build_sets(_sets(specs)),
        policy=load_policy(year),
        measures=_year(year),
        context=build_context(context),
    )


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(
    year=st.sampled_from(SUPPORTED_YEARS),
    specs=st.lists(measurements, max_size=10),
    context=contexts,
)
def test_every_quality_tree_checks_and_stays_within_its_denominator(
    year: int, specs: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    tree = _score(year, specs, context)
    shown = describe(tree)
    assert check_tree(tree) == (), shown
    assert tree.maximum is not None
    assert tree.maximum > 0
    assert Decimal(0) <= tree.points <= tree.maximum, shown
    top = load_policy(year).scoring.quality.max_points_per_measure
    measures = tree.child("measures")
    assert measures is not None
    for measure in measures.children:
        assert measure.points <= top, shown
    policy = load_policy(year)
    for path in tree.all_unverified():
        assert path in policy.unverified, path


@PROPERTY_SETTINGS
@given(
    year=st.sampled_from(SUPPORTED_YEARS),
    specs=st.lists(measurements, max_size=9),
    extra=measurements,
    context=contexts,
)
def test_adding_a_measure_never_lowers_quality_points(
    year: int, specs: list[dict[str, Any]], extra: dict[str, Any], context: dict[str, Any]
) -> None:
    before = _score(year, specs, context)
    after = _score(year, [*specs, extra], context)
    assert after.maximum == before.maximum
    assert after.points >= before.points, f"{describe(before)}\n---\n{describe(after)}"
