"""The score tree rendered in CMS's shape: every documented field with its meaning, openqpp's
explanation fields beside them on every part, weighted category values, and the disclaimer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.support.scoring import measurement_set, score

from openqpp.core.submissions.model import Category
from openqpp.services.scoring_cms import camel, cms_score, node_part

YEAR = 2019
CMS_PART_KEYS = ("name", "title", "detail", "value", "original", "metadata")
OURS = ("rule", "explanation", "maximum", "inputs", "unverified")


def _parts(part: dict[str, Any]) -> list[dict[str, Any]]:
    found = [part]
    for child in part.get("parts", []):
        found.extend(_parts(child))
    return found


def test_camel_case_names_follow_cms_metadata() -> None:
    assert camel("performance_rate") == "performanceRate"
    assert camel("decile") == "decile"


def test_a_category_part_has_the_documented_fields_and_ours_beside() -> None:
    tree = score(YEAR, measurement_set(Category.IA, YEAR, {"IA_EPA_1": True, "IA_BE_4": True}))
    out = cms_score(tree, metadata={"performanceYear": YEAR}, warnings=["note"])
    assert out["name"] == "total"
    assert out["title"] == "Total Score"
    assert out["errors"] == []
    assert out["warnings"][0].startswith("Disclaimer:")
    assert "note" in out["warnings"]
    ia = next(p for p in out["parts"] if p["name"] == "ia")
    for key in (*CMS_PART_KEYS, *OURS):
        assert key in ia, key
    assert ia["title"] == "IA component of total score"
    assert ia["detail"] == f"Scoring based on weight of {ia['weight']}%."
    assert ia["metadata"]["maxContribution"] == ia["weight"]
    node = tree.child("ia")
    assert node is not None
    assert node.maximum is not None
    assert node.weight is not None
    assert Decimal(str(ia["value"])) == (node.points / node.maximum * node.weight).quantize(
        Decimal("0.0001")
    )
    assert ia["original"]["value"] == 30
    for part in _parts(ia["original"]):
        for key in ("name", "value", "detail", "metadata", *OURS):
            assert key in part, (part["name"], key)
    assert out["metadata"]["maxContributionIA"] == ia["weight"]
    assert out["metadata"]["performanceYear"] == YEAR
    assert next(p for p in out["parts"] if p["name"] == "bonuses")["parts"][0]["rule"] == (
        "final.complex_patient_bonus"
    )


def test_a_category_that_is_not_scored_says_so() -> None:
    tree = score(YEAR, measurement_set(Category.IA, YEAR, {"IA_EPA_1": True}))
    cost = next(p for p in cms_score(tree)["parts"] if p["name"] == "cost")
    assert cost["value"] == 0
    assert cost["detail"].startswith("Not scored")
    assert cost["original"]["metadata"]["scored"] is False
    assert node_part(tree)["metadata"]["maxContribution"] == 100
