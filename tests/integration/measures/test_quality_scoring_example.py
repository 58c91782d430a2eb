"""CMS's quality scoring examples (CMSgov/qpp-submissions-docs), reproduced by ``score_quality``.

Two CMS outputs exist and neither was produced from the other file it sits beside:

* ``scoring-example-output-quality.json`` scores a registry set of 046, 110 and ACRAD15 for a
  small practice (``smallPracticeBonus`` 6) under the 60% data completeness rule, so PY2019
  rules; the input it came from is not published (``isSubmissionFabricated``: its 110 shows
  numerator 305 of 560 yet a performance rate of 82.31%). We rebuild the measurements from its
  metadata and score them against the deciles it printed.
* ``scoring-example-submission-input.json`` (six eCQMs, all end to end, PY2017) is the input of
  ``legacy-2018/scoring-example-output.json`` (engine 0.29.0): every measure at decile 10, 6
  end-to-end bonus points, 2 outcome bonus points for 192, quality 100%. openqpp has no PY2017
  policy, so the input is scored under PY2019 rules with the deciles that output printed.

Both use the PY2019 measures data pack (measure types, high-priority and inverse flags); the
benchmarks are replaced by the ones CMS printed, because CMS scored against older benchmarks
(the last test shows what the 2019 benchmarks give instead).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from tests.support.quality_measures import describe, node_at
from tests.support.reference import QPP_API_REFERENCE, missing

from openqpp.core.scoring import check_tree, rounded
from openqpp.core.scoring.context import ScoringContext, SpecialStatus
from openqpp.core.scoring.quality import score_quality
from openqpp.core.submissions import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    SubmissionMethod,
)
from openqpp.core.submissions.model import (
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    SinglePerformanceRate,
    StratumPerformance,
)
from openqpp.core.submissions.qpp_json import measurement_set_from_json
from openqpp.measures import Benchmark, MeasuresYear
from openqpp.policy import load_policy

DOCS = QPP_API_REFERENCE / "submissions-docs"
#: CMS's examples follow the PY2019 rules (60% data completeness, small practice bonus 6).
YEAR = 2019
SMALL_PRACTICE = ScoringContext(
    entity_type=EntityType.INDIVIDUAL, special_statuses=frozenset({SpecialStatus.SMALL_PRACTICE})
)


def _read(name: str) -> Any:
    path = DOCS / name
    if not path.is_file():
        missing(str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def _with_benchmarks(
    year: MeasuresYear, printed: Mapping[tuple[str, str], tuple[Sequence[Any], bool]]
) -> MeasuresYear:
    """``year`` with the (measure, method) benchmarks replaced by the deciles CMS printed."""
    kept = tuple(b for b in year.benchmarks if (b.measure_id, b.submission_method) not in printed)
    added = tuple(
        Benchmark.model_validate(
            {
                "measureId": measure_id,
                "submissionMethod": method,
                "performanceYear": year.year,
                "benchmarkYear": year.year - 2,
                "isToppedOut": topped_out,
                "isToppedOutByProgram": topped_out,
                "deciles": [Decimal(str(d)) for d in deciles],
            }
        )
        for (measure_id, method), (deciles, topped_out) in printed.items()
    )
    return dataclasses.replace(year, benchmarks=kept + added)


def _quality_parts(output: Mapping[str, Any]) -> Mapping[str, Any]:
    """The picked measurement set of a CMS score object (``parts[quality].original.parts[0]``)."""
    quality = next(p for p in output["parts"] if p["name"] == "quality")
    return quality["original"]["parts"][0]


# --------------------------------------------------------------------------- the quality output


def _example_registry_set() -> MeasurementSet:
    """The three measurements of scoring-example-output-quality.json, from its metadata.

    046 (multi-rate, overallStratumOnly in 2019): 121 of 147 in its overall stratum, as printed.
    110: the output prints numerator 305 of 560 but scores a performance rate of 82.31%
    (partialPoints 9.23 = 82.31 - 73.08), the fabricated example's inconsistency; we report 8231
    of 10000 so the rate it scored is the rate we score. ACRAD15 (non-proportion): numerator 3 of
    denominator 1000 with 80 observations and 30 exceptions, the 11% reporting rate it printed.
    """
    return MeasurementSet(
        category=Category.QUALITY,
        submission_method=SubmissionMethod.REGISTRY,
        measurements=(
            Measurement(
                "046",
                MultiPerformanceRate(
                    is_end_to_end_reported=False,
                    strata=(StratumPerformance("overall", PerformanceCounts(121, 147, 26)),),
                ),
            ),
            Measurement("110", SinglePerformanceRate(False, PerformanceCounts(8231, 10000, 1769))),
            Measurement(
                "ACRAD15",
                NonProportion(
                    is_end_to_end_reported=False,
                    numerator=Decimal(3),
                    denominator=Decimal(1000),
                    observation_instances=80,
                    denominator_exception=Decimal(30),
                ),
            ),
        ),
    )


@pytest.fixture
def example_output() -> Mapping[str, Any]:
    return _read("scoring-example-output-quality.json")


@pytest.fixture
def example_year(
    measures_year: Callable[[int], MeasuresYear], example_output: Mapping[str, Any]
) -> MeasuresYear:
    printed = {
        (part["name"], part["metadata"]["submissionMethod"]): (
            part["metadata"]["deciles"],
            bool(part["metadata"]["toppedOut"]),
        )
        for part in _quality_parts(example_output)["parts"]
        if part["metadata"]["deciles"]
    }
    return _with_benchmarks(measures_year(YEAR), printed)


def test_the_quality_example_output_is_reproduced_measure_by_measure(
    example_output: Mapping[str, Any], example_year: MeasuresYear
) -> None:
    picked = _quality_parts(example_output)
    tree = score_quality(
        [_example_registry_set()],
        policy=load_policy(YEAR),
        measures=example_year,
        context=SMALL_PRACTICE,
    )
    shown = describe(tree)
    assert check_tree(tree) == (), shown
    for part in picked["parts"]:
        ours = node_at(tree, f"measures/{part['name']}")
        # CMS: 046 3 (decile 2, "Applied minimum decile score"), 110 8.9585 (decile 8 plus
        # 9.23/9.63), ACRAD15 3 (small practice, reporting rate 11% below 60%).
        assert ours.points == Decimal(str(part["value"])), shown
        assert rounded(ours.points) == rounded(Decimal(str(part["metadata"]["decileScore"])))
    metadata = picked["metadata"]
    assert node_at(tree, "measures").points == Decimal(str(metadata["totalDecileScore"]))
    assert node_at(tree, "small_practice_bonus").points == metadata["smallPracticeBonus"]
    assert tree.maximum == metadata["denominator"] == 60
    assert tree.points == Decimal(str(metadata["unroundedScoreValue"])) == Decimal("20.9585")
    share = rounded(tree.points / tree.maximum * 100)
    assert share == Decimal(str(example_output["metadata"]["qualityCategoryScore"]))
    # No bonus: 046 is the required high-priority measure (highPriorityBonusIgnored), ACRAD15
    # fails data completeness (highPriorityBonusEligible false), nothing is end to end.
    assert node_at(tree, "high_priority_bonus").points == metadata["totalBonusPoints"] == 0
    assert node_at(tree, "high_priority_bonus/046").explanation.find("required") > 0
    assert node_at(tree, "end_to_end_bonus").points == metadata["e2eBonusScore"] == 0
    # The measures' rules, as CMS's messages name them.
    assert node_at(tree, "measures/110/registry").rule == "quality.achievement_points"
    assert node_at(tree, "measures/ACRAD15/registry").rule == "quality.data_completeness_fail"
    assert "decile 8" in node_at(tree, "measures/110/registry").explanation
    # CMS weighted quality at 60% (its PY2017 weight): 34.9308% x 60 = 20.9585 of the total.
    # Under the PY2019 rules this engine follows, quality weighs 45%: the final score's business.
    weight = Decimal(str(example_output["parts"][0]["metadata"]["maxContribution"]))
    assert rounded(tree.points / tree.maximum * weight) == Decimal(str(example_output["value"]))
    assert load_policy(YEAR).scoring.category_weights.quality == 45


def test_the_quality_example_with_the_2019_benchmarks_scores_110_lower(
    measures_year: Callable[[int], MeasuresYear],
) -> None:
    """Against the real PY2019 registry benchmark (benchmark year 2017) 82.31% for 110 is in
    decile 7 (76.94 to 87.81): 7.494 points, not the 8.9585 CMS's older benchmark gave, so the
    category is 19.494 of 60. 046 still earns the floor of 3 (decile 2 of 0, 94.24, ...)."""
    tree = score_quality(
        [_example_registry_set()],
        policy=load_policy(YEAR),
        measures=measures_year(YEAR),
        context=SMALL_PRACTICE,
    )
    assert check_tree(tree) == ()
    assert node_at(tree, "measures/110").points == Decimal("7.4940")
    assert node_at(tree, "measures/046").points == 3
    assert node_at(tree, "measures/046/registry").rule == "quality.topped_out_cap"
    assert tree.points == Decimal("19.4940")


# --------------------------------------------------------------------------- the example input


@pytest.fixture
def legacy_output() -> Mapping[str, Any]:
    return _read("legacy-2018/scoring-example-output.json")["data"]["score"]


def _input_quality_set() -> MeasurementSet:
    data = _read("scoring-example-submission-input.json")["data"]["submission"]
    raw = next(s for s in data["measurementSets"] if s["category"] == "quality")
    return measurement_set_from_json(raw, "$.measurementSets[1]")


def test_the_example_input_is_scored_like_its_legacy_output(
    measures_year: Callable[[int], MeasuresYear], legacy_output: Mapping[str, Any]
) -> None:
    picked = _quality_parts(legacy_output)
    printed = {
        (part["name"], "electronicHealthRecord"): (part["metadata"]["deciles"], False)
        for part in picked["parts"]
    }
    year = _with_benchmarks(measures_year(YEAR), printed)
    tree = score_quality(
        [_input_quality_set()],
        policy=load_policy(YEAR),
        measures=year,
        context=ScoringContext(entity_type=EntityType.GROUP),
    )
    shown = describe(tree)
    assert check_tree(tree) == (), shown
    for part in picked["parts"]:
        metadata = part["metadata"]
        name = part["name"]
        # Every measure at decile 10 ("Applied maximum decile score"): 10 achievement points.
        assert node_at(tree, f"measures/{name}").points == metadata["decileScore"] == 10, shown
        assert node_at(tree, f"end_to_end_bonus/{name}").points == metadata["endToEndBonus"]
        outcome_bonus = metadata["outcomeOrPatientExperienceBonus"]
        hp = tree.child("high_priority_bonus")
        assert hp is not None
        ours = hp.child(name)
        # PY2019 data marks 191 and 192 outcome (high priority); 005, 110, 128, 310 are not, as
        # CMS's 0 high-priority bonus for them says. 191 is the one required (bonus ignored).
        assert (ours.points if ours is not None else 0) == outcome_bonus + metadata[
            "highPriorityBonus"
        ], shown
    assert node_at(tree, "high_priority_bonus/191").points == 0
    bonus = node_at(tree, "high_priority_bonus").points + node_at(tree, "end_to_end_bonus").points
    assert bonus == picked["metadata"]["totalBonusPoints"] == 8
    # 60 measure points + 8 bonus points, capped at the denominator of 60: 100%, as CMS scored it.
    assert node_at(tree, "measures").points == picked["metadata"]["totalMeasurementPoints"]
    assert tree.maximum == picked["metadata"]["denominator"] == 60
    assert tree.points == 60
    assert rounded(tree.points / tree.maximum * 100) == Decimal(str(picked["value"]))
