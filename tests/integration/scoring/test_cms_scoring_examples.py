"""CMS's scoring engine examples (qpp-submissions-docs), reproduced by openqpp's scorer.

The shared reference has one example input, ``scoring-example-submission-input.json`` (a
PY2017 group submission: four IA_AHE activities, six quality measures and ACI measures), and
two example outputs, ``scoring-example-output-aci.json`` (PI 64, 16 of 25) and
``scoring-example-output-ia.json`` (IA 40, 15 of 15). The outputs were not produced from that
input: they name other measures (IA_EPA_4, IA_PM_2, IA_PSPA_4, IA_PSPA_5; PI_EP_1 49/115,
PI_HIE_1 1123/1951, ...) and use the PY2019 PI vocabulary (PI_* ids, the Verify Opioid
Treatment Agreement bonus that existed only in 2019). So each output is reproduced from the
measurements it lists, under the PY2019 rules, and the input is scored separately, under PY2019
rules too (openqpp has no PY2017 policy), with the differences explained in the tests.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from tests.support.reference import QPP_API_REFERENCE, missing
from tests.support.scoring import (
    CEHRT_15E,
    context,
    find,
    measurement_set,
    measures_year,
    score,
)

from openqpp.core.scoring.tree import ScoreNode
from openqpp.core.submissions.model import Category, Submission, SubmissionMethod
from openqpp.measures import MeasuresYear

DOCS = QPP_API_REFERENCE / "submissions-docs"
#: The PY2019 PI vocabulary of CMS's example output.
YEAR = 2019
FORMULA = re.compile(r"\(\((\d+)/(\d+)\)\*\d+\)")


def _read(name: str) -> Any:
    path = DOCS / name
    if not path.is_file():
        missing(str(path))
    return json.loads(path.read_text(encoding="utf-8"))


def _category_part(output: dict[str, Any], name: str) -> dict[str, Any]:
    part = next(p for p in output["parts"] if p["name"] == name)
    return part


def _weighted(tree: ScoreNode, category: str) -> Decimal:
    node = find(tree, category)
    assert node.maximum
    assert node.weight is not None
    return node.points / node.maximum * node.weight


# --------------------------------------------------------------------------- PI (ACI) output


def test_the_pi_example_output_is_reproduced_measure_by_measure() -> None:
    output = _read("scoring-example-output-aci.json")
    part = _category_part(output, "pi")
    measures = part["original"]["parts"][0]["parts"]
    values: dict[str, object] = {}
    for m in measures:
        formula = m["metadata"].get("formula")
        if formula:
            numerator, denominator = FORMULA.match(formula).groups()  # type: ignore[union-attr]
            values[m["name"]] = [int(numerator), int(denominator)]
        else:
            values[m["name"]] = True  # attestations and public health registries: "yes"
    pi_set = measurement_set(Category.PI, YEAR, values, cehrt_id=CEHRT_15E)
    tree = score(YEAR, pi_set)

    for m in measures:
        if isinstance(m["value"], bool):
            continue
        assert find(tree, m["name"]).points == m["value"], m["name"]
    objective = part["original"]["parts"][0]["metadata"]["objectiveScores"]
    assert (
        find(tree, "publicHealthAndClinicalDataExchange").points
        == (objective["publicHealthAndClinicalDataExchange"])
    )
    assert find(tree, "pi").points == part["original"]["value"] == 64
    assert _weighted(tree, "pi") == part["value"] == 16
    assert find(tree, "pi").weight == Decimal(part["metadata"]["maxContribution"]) == 25
    # CMS's example total is the PI contribution alone; openqpp's total agrees because quality
    # and IA have no data (scored 0, not reweighted) and cost, with no CMS results, is not
    # scored (its 15% moves to quality, which scores 0).
    assert tree.points == output["value"] == 16


# --------------------------------------------------------------------------- IA output


def test_the_ia_example_output_is_reproduced_activity_by_activity(
    measures_2019: MeasuresYear,
) -> None:
    output = _read("scoring-example-output-ia.json")
    part = _category_part(output, "ia")
    activities = part["original"]["parts"][0]["parts"]
    ia_set = measurement_set(
        Category.IA, YEAR, {a["name"]: True for a in activities}, method=SubmissionMethod.REGISTRY
    )
    # Medium activities show 20 points and the high one 40: the doubled points of a special
    # status (the PI example's metadata says hasIAWeightStatus "SPECIAL"); small practice here.
    tree = score(YEAR, ia_set, ctx=context(statuses=["small_practice"]))
    for a in activities:
        leaf = find(tree, a["name"])
        assert leaf.points == a["metadata"]["calculatedScore"], a["name"]
        assert leaf.inputs["weight"] == a["metadata"]["weight"], a["name"]
        assert measures_2019.ia(a["name"]) is not None
    assert find(tree, "ia").points == part["original"]["value"] == 40
    assert _weighted(tree, "ia") == part["value"] == 15
    assert tree.points == output["value"] == 15


# --------------------------------------------------------------------------- the example input


def _input_as_2019() -> Submission:
    """The PY2017 example input in PY2019 vocabulary: ACI became PI (same measure id stems)."""
    raw = _read("scoring-example-submission-input.json")["data"]["submission"]
    text = json.dumps(raw).replace('"aci"', '"pi"').replace("ACI_", "PI_")
    text = text.replace("2017-", f"{YEAR}-")
    text = text.replace('"performanceYear": 2017', f'"performanceYear": {YEAR}')
    return Submission.from_qpp_json(json.loads(text))


def test_the_example_input_is_not_the_submission_behind_the_example_outputs() -> None:
    submission = _input_as_2019()
    ia = next(s for s in submission.measurement_sets if s.category is Category.IA)
    output = _read("scoring-example-output-ia.json")
    listed = {a["name"] for a in _category_part(output, "ia")["original"]["parts"][0]["parts"]}
    assert {m.measure_id for m in ia.measurements}.isdisjoint(listed)


def test_the_example_input_improvement_activities_also_reach_40_points() -> None:
    """Same category result as CMS's IA output, from other activities: IA_AHE_1 and IA_AHE_3
    (high, 20 each) and IA_AHE_2 and IA_AHE_4 (medium, 10 each) sum to 60, capped at 40."""
    submission = _input_as_2019()
    ia = next(s for s in submission.measurement_sets if s.category is Category.IA)
    tree = score(YEAR, ia)
    assert find(tree, "ia").points == 40
    assert find(tree, "ia").inputs["sum"] == "60"
    assert _weighted(tree, "ia") == 15


def test_the_example_input_aci_data_scores_no_pi_under_the_2019_rules() -> None:
    """A rule change, not a disagreement: the input is PY2017 ACI data (base score plus
    performance score plus bonus, ACI_HIE_2 and ACI_HIE_3 measures, no CEHRT ID needed in the
    example). The CY2019 PFS final rule replaced that with performance-based PI scoring in
    which PI_HIE_4 (receive and incorporate) is required and a CEHRT ID must accompany the data.
    Scored under the 2019 rules the category is 0 with both reasons named."""
    submission = _input_as_2019()
    pi = next(s for s in submission.measurement_sets if s.category is Category.PI)
    tree = score(YEAR, pi)
    node = find(tree, "pi")
    assert node.points == 0
    rules = {f["rule"] for f in node.inputs["failures"]}  # type: ignore[union-attr]
    assert {"pi.cehrt_id_missing", "pi.required_measure_missing"} <= rules
    assert "PI_HIE_4 was not reported" in node.explanation


@pytest.fixture(scope="module")
def measures_2019() -> MeasuresYear:
    return measures_year(YEAR)
