"""Runs every category scoring scenario in ``tests/policy/scoring/categories/*.yaml``.

A case::

    - name: what the rule says, and where the example comes from
      performance_year: 2019
      input:
        entity: group                      # individual | group (default group)
        context:                           # everything optional
          statuses: [small_practice]       # special statuses
          pcmh: true
          apm_share: 1
          exceptions: [{kind: euc, categories: [quality]}]
          cost: [{measure: TPCC_1, cases: 40, minimum: 20, points: 6}]
          prior_cost: 50
          complex_patient: {hcc: 2, dual: 0.1, median: 1.5}
          overrides: [pi]                  # submitted despite reweighting (confirmation)
          scaling_factor: 1.5
        sets:
          - category: pi                   # quality | pi | ia
            method: electronicHealthRecord # default
            full: true                     # pi: every required measure met, attestations yes
            without: [PI_HIE_4]            # ... less these
            measurements: {PI_EP_1: [49, 115], PI_PHCDRR_1: true}
            cehrt: auto                    # auto (the year's format, default) | null | an ID
            start: 2019-01-01              # default: the whole year
            end: 2019-12-31
      output:
        total: 31                          # the final score
        rule: final.weighted_sum           # the root's rule
        weights: {quality: 60, cost: 0, ia: 15, pi: 25}
        nodes: {pi: {points: 64, rule: pi.measure_points, weight: 25, maximum: 100}}
        texts: ["capped at 40"]            # each found in some explanation
        unverified: [scoring.redistribution]   # each among the tree's unverified paths
        payment_adjustment: "-1.8"         # the estimate, percent

Every tree must also pass ``check_tree``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.scoring import (
    cehrt_for,
    context,
    full_pi,
    measurement_set,
    measures_year,
    submission,
)

from openqpp.core.scoring.engine import score_submission
from openqpp.core.scoring.tree import ScoreNode, check_tree
from openqpp.core.submissions.model import (
    Category,
    EntityType,
    MeasurementSet,
    SubmissionMethod,
)
from openqpp.policy import Policy, load_policy

CASES_DIR = Path(__file__).parent / "scoring" / "categories"
SET_KEYS = {"category", "method", "full", "without", "measurements", "cehrt", "start", "end"}
CONTEXT_KEYS = {
    "statuses",
    "pcmh",
    "apm_share",
    "exceptions",
    "cost",
    "prior_cost",
    "complex_patient",
    "overrides",
    "scaling_factor",
}
NODE_KEYS = {"points", "rule", "weight", "maximum"}


def _load_cases() -> list[Any]:
    cases: list[Any] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


CASES = _load_cases()


def _dec(raw: object) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))


def _date(raw: object) -> dt.date | None:
    if raw is None or isinstance(raw, dt.date):
        return raw
    return dt.date.fromisoformat(str(raw))


def _set(policy: Policy, spec: Mapping[str, Any]) -> MeasurementSet:
    unknown = set(spec) - SET_KEYS
    assert not unknown, f"unknown set key(s) {unknown}"
    category = Category(spec["category"])
    values: dict[str, object] = full_pi(policy) if spec.get("full") else {}
    for measure_id in spec.get("without", []):
        values.pop(measure_id, None)
    values.update(spec.get("measurements") or {})
    cehrt = spec.get("cehrt", "auto")
    if category is Category.PI and cehrt == "auto":
        cehrt = cehrt_for(policy)
    elif cehrt == "auto":
        cehrt = None
    return measurement_set(
        category,
        policy.year,
        values,
        method=SubmissionMethod(spec.get("method", "electronicHealthRecord")),
        cehrt_id=cehrt,
        start=_date(spec.get("start")),
        end=_date(spec.get("end")),
    )


def _context(entity: EntityType, spec: Mapping[str, Any]) -> Any:
    unknown = set(spec) - CONTEXT_KEYS
    assert not unknown, f"unknown context key(s) {unknown}"
    patient = spec.get("complex_patient")
    return context(
        entity,
        statuses=spec.get("statuses", []),
        pcmh=bool(spec.get("pcmh", False)),
        apm_share=_dec(spec.get("apm_share")),
        exceptions=[(e["kind"], e["categories"]) for e in spec.get("exceptions", [])],
        cost=[
            (c["measure"], int(c["cases"]), int(c["minimum"]), _dec(c.get("points")))
            for c in spec.get("cost", [])
        ],
        prior_cost=_dec(spec.get("prior_cost")),
        complex_patient=(
            (_dec(patient.get("hcc")), _dec(patient.get("dual")), _dec(patient.get("median")))
            if patient
            else None
        ),
        overrides=spec.get("overrides", []),
        scaling_factor=_dec(spec.get("scaling_factor")),
    )


def score_case(case: Mapping[str, Any]) -> ScoreNode:
    year = int(case["performance_year"])
    policy = load_policy(year)
    spec: Mapping[str, Any] = case.get("input") or {}
    entity = EntityType(spec.get("entity", "group"))
    sets = tuple(_set(policy, s) for s in spec.get("sets", []))
    return score_submission(
        submission(year, *sets, entity=entity),
        policy=policy,
        measures=measures_year(year),
        context=_context(entity, spec.get("context") or {}),
    )


def _node(tree: ScoreNode, name: str) -> ScoreNode:
    found = next((n for n in tree.walk() if n.name == name), None)
    assert found is not None, f"no node {name!r}: {[n.name for n in tree.walk()]}"
    return found


def _describe(tree: ScoreNode, depth: int = 0) -> str:
    line = f"{'  ' * depth}{tree.name} [{tree.rule}] {tree.points}/{tree.maximum}"
    line += f" w={tree.weight}: {tree.explanation}"
    return "\n".join([line, *(_describe(c, depth + 1) for c in tree.children)])


@pytest.mark.parametrize("case", CASES)
def test_category_scoring_scenario(case: Mapping[str, Any]) -> None:
    tree = score_case(case)
    expected = case["output"]
    about = _describe(tree)
    assert check_tree(tree) == (), about
    if "total" in expected:
        assert tree.points == Decimal(str(expected["total"])), about
    if "rule" in expected:
        assert tree.rule == expected["rule"], about
    if "weights" in expected:
        got = {c: _node(tree, c).weight for c in ("quality", "cost", "ia", "pi")}
        want = {c: Decimal(str(v)) for c, v in expected["weights"].items()}
        assert got == want, about
    for name, want in (expected.get("nodes") or {}).items():
        unknown = set(want) - NODE_KEYS
        assert not unknown, f"unknown node key(s) {unknown}"
        node = _node(tree, name)
        for key, value in want.items():
            got_value = getattr(node, key)
            if key == "rule":
                assert got_value == value, f"{name}.{key}\n{about}"
            elif value is None:
                assert got_value is None, f"{name}.{key}\n{about}"
            else:
                assert got_value == Decimal(str(value)), f"{name}.{key}\n{about}"
    texts = [n.explanation for n in tree.walk()]
    for fragment in expected.get("texts", []):
        assert any(fragment in t for t in texts), f"{fragment!r} not found\n{about}"
    unverified = tree.all_unverified()
    for path in expected.get("unverified", []):
        assert path in unverified, f"{path} not flagged: {unverified}"
    if "payment_adjustment" in expected:
        adjustment = tree.inputs["payment_adjustment"]
        assert isinstance(adjustment, dict)
        assert Decimal(adjustment["percent"]) == Decimal(str(expected["payment_adjustment"]))


def test_every_case_has_a_unique_name_and_the_required_keys() -> None:
    names = [p.values[0]["name"] for p in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert len(names) >= 30
    years = {p.values[0]["performance_year"] for p in CASES}
    assert {2019, 2022, 2023} <= years
    for param in CASES:
        case = param.values[0]
        assert {"name", "performance_year", "output"} <= set(case), case
