"""Runs every quality scoring scenario case in ``tests/policy/scoring/quality/*.yaml``.

A file is a list of cases, or a mapping with ``definitions`` (YAML anchors shared by its cases,
otherwise unused) and ``cases``. A case::

    - name: the rule, and where the worked example comes from
      performance_year: 2019
      context: {entity: group, small_practice: true, clinicians: 20, prior_quality_percent: 40,
                readmission: {measure_id: "458", case_count: 250, points: 8}}
      measures:          # the measures year scored against (tests/support/quality_measures)
        - {id: "110", benchmarks: {registry: {deciles: [0, 26.89, ...]}}}
      sets:
        - method: registry
          measurements:
            - {measure: "110", met: 8231, not_met: 1769}
      output:
        points: 8.9585            # the quality node's points ...
        maximum: 60               # ... and maximum (the denominator)
        percent: 14.9308          # points / maximum in percent, four places
        nodes:                    # a node by its path of names below the quality node
          measures/110/registry: {rule: quality.achievement_points, points: 8.9585, maximum: 10,
                                  texts: ["decile 8"], unverified: [...]}
        absent: [high_priority_bonus]     # no node at these paths
        texts: ["decile 8"]               # each found in some explanation of the tree
        unverified: [scoring.quality.benchmarked_floor_points]      # each used by the tree
        not_unverified: [scoring.quality.data_completeness]         # none of these

Every tree built here must also pass ``check_tree``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.quality_measures import (
    build_context,
    build_sets,
    build_year,
    describe,
    node_at,
)

from openqpp.core.scoring import ScoreNode, check_tree, rounded
from openqpp.core.scoring.quality import score_quality
from openqpp.policy import load_policy

CASES_DIR = Path(__file__).parent / "scoring" / "quality"
CASE_KEYS = {"name", "performance_year", "context", "measures", "sets", "output"}
OUTPUT_KEYS = {
    "points",
    "maximum",
    "percent",
    "nodes",
    "absent",
    "texts",
    "unverified",
    "not_unverified",
}
NODE_KEYS = {"rule", "points", "maximum", "texts", "unverified", "combine"}


def _load_cases() -> list[Any]:
    cases: list[Any] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        listed = loaded["cases"] if isinstance(loaded, dict) else loaded
        for case in listed:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


CASES = _load_cases()


def score(case: Mapping[str, Any]) -> ScoreNode:
    year = int(case["performance_year"])
    return score_quality(
        build_sets(case.get("sets") or []),
        policy=load_policy(year),
        measures=build_year(year, case.get("measures") or []),
        context=build_context(case.get("context")),
    )


def _number(value: object) -> Decimal:
    return Decimal(str(value))


def _check_node(root: ScoreNode, path: str, expected: Mapping[str, Any], tree: str) -> None:
    unknown = set(expected) - NODE_KEYS
    assert not unknown, f"unknown node key(s) {unknown}"
    node = node_at(root, path)
    where = f"{path}\n{tree}"
    if "rule" in expected:
        assert node.rule == expected["rule"], where
    if "points" in expected:
        assert rounded(node.points) == rounded(_number(expected["points"])), where
    if "maximum" in expected:
        assert node.maximum is not None, where
        assert rounded(node.maximum) == rounded(_number(expected["maximum"])), where
    if "combine" in expected:
        assert node.combine.value == expected["combine"], where
    for fragment in expected.get("texts", []):
        assert fragment in node.explanation, f"{fragment!r} not in {node.explanation!r}"
    for path_ in expected.get("unverified", []):
        assert path_ in node.unverified, f"{path_} not in {node.unverified} ({path})"


@pytest.mark.parametrize("case", CASES)
def test_quality_scoring_scenario(case: Mapping[str, Any]) -> None:
    assert set(case) <= CASE_KEYS, set(case) - CASE_KEYS
    expected = case["output"]
    assert set(expected) <= OUTPUT_KEYS, set(expected) - OUTPUT_KEYS
    root = score(case)
    tree = describe(root)
    assert check_tree(root) == (), tree
    assert root.name == "quality"
    if "points" in expected:
        assert rounded(root.points) == rounded(_number(expected["points"])), tree
    if "maximum" in expected:
        assert root.maximum == _number(expected["maximum"]), tree
    if "percent" in expected:
        assert root.maximum
        percent = rounded(root.points / root.maximum * 100)
        assert percent == rounded(_number(expected["percent"])), tree
    for path, node_expected in (expected.get("nodes") or {}).items():
        _check_node(root, path, node_expected, tree)
    for path in expected.get("absent", []):
        *parents, last = path.split("/")
        parent = node_at(root, "/".join(parents)) if parents else root
        assert parent.child(last) is None, f"{path} should be absent\n{tree}"
    explanations = [n.explanation for n in root.walk()]
    for fragment in expected.get("texts", []):
        assert any(fragment in e for e in explanations), f"{fragment!r} not found\n{tree}"
    used = root.all_unverified()
    for path in expected.get("unverified", []):
        assert path in used, f"{path} not among {used}"
    for path in expected.get("not_unverified", []):
        assert path not in used, f"{path} unexpectedly among {used}"


def test_every_case_has_a_unique_name_and_covers_the_years() -> None:
    names = [p.values[0]["name"] for p in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    years = {p.values[0]["performance_year"] for p in CASES}
    assert {2019, 2022, 2023} <= years
    for param in CASES:
        case = param.values[0]
        assert {"name", "performance_year", "output"} <= set(case), case
