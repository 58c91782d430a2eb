"""`openqpp score FILE` as a user runs it, on the shared reference files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.reference import QPP_API_REFERENCE, QRDA3_REFERENCE, REPO, missing
from typer.testing import CliRunner

from openqpp.cli import app

runner = CliRunner()
SHARED_MEASURES = (REPO / ".." / "shared" / "data" / "qpp-measures-data").resolve()


@pytest.fixture
def env() -> dict[str, str]:
    if not (SHARED_MEASURES / "measures" / "2025").is_dir():
        missing(f"the 2023+ measures data in {SHARED_MEASURES}")
    return {
        "OPENQPP_DATA_DIR": str(REPO / ".data"),
        "OPENQPP_MEASURES_DATA": str(SHARED_MEASURES),
        "COLUMNS": "200",
    }


def _reference(path: Path) -> Path:
    if not path.is_file():
        missing(str(path))
    return path


def test_score_prints_the_tree_with_rules_and_explanations(env: dict[str, str]) -> None:
    path = _reference(QRDA3_REFERENCE / "MIPS-1f-MIPS_GROUP_04172025.xml")
    result = runner.invoke(app, ["score", str(path)], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Final score" in out
    assert "final.weighted_sum" in out
    for category in ("Quality", "Cost", "Improvement Activities", "Promoting Interoperability"):
        assert category in out
    assert "Payment adjustment estimate" in out
    assert "unverified" in out


def test_score_json_prints_the_tree(env: dict[str, str]) -> None:
    path = _reference(QRDA3_REFERENCE / "MIPS-1f-MIPS_GROUP_04172025.xml")
    result = runner.invoke(app, ["score", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    tree = json.loads(result.stdout)
    assert tree["name"] == "total"
    assert tree["inputs"]["performance_year"] == 2025
    assert tree["inputs"]["measures_data"]
    assert tree["inputs"]["payment_adjustment"]["estimate"] is True
    names = [c["name"] for c in tree["children"]]
    assert names[:4] == ["quality", "cost", "ia", "pi"]
    weights = [c["weight"] for c in tree["children"][:4]]
    assert sum(weights) == 100


def test_score_with_another_year_uses_that_years_rules(env: dict[str, str]) -> None:
    path = _reference(QRDA3_REFERENCE / "MIPS-1f-MIPS_GROUP_04172025.xml")
    result = runner.invoke(app, ["score", str(path), "--year", "2024", "--json"], env=env)
    assert result.exit_code == 0, result.output
    tree = json.loads(result.stdout)
    assert tree["inputs"]["performance_year"] == 2024
    assert any("scored with the 2024 rules" in w for w in tree["warnings"])


def test_an_invalid_file_exits_1_with_its_validation_findings(env: dict[str, str]) -> None:
    path = _reference(QRDA3_REFERENCE / "valid-QRDA-III-latest.xml")
    result = runner.invoke(app, ["score", str(path)], env=env)
    assert result.exit_code == 1
    assert "cannot be scored" in result.output
    assert "OQ-SUB-012" in result.output  # the NPI fails its check digit


def test_an_invalid_file_with_json_prints_the_findings(env: dict[str, str]) -> None:
    path = _reference(QRDA3_REFERENCE / "valid-QRDA-III-latest.xml")
    result = runner.invoke(app, ["score", str(path), "--json"], env=env)
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert {e["code"] for e in errors} >= {"OQ-SUB-012"}


def test_score_reads_qpp_json(env: dict[str, str], tmp_path: Path) -> None:
    """CMS's example input (PY2017, ACI) in PY2019 vocabulary, as a QPP JSON file."""
    source = _reference(
        QPP_API_REFERENCE / "submissions-docs" / "scoring-example-submission-input.json"
    )
    raw = json.loads(source.read_text(encoding="utf-8"))["data"]["submission"]
    text = json.dumps(raw).replace('"aci"', '"pi"').replace("ACI_", "PI_")
    text = text.replace("2017-", "2019-").replace(
        '"performanceYear": 2017', '"performanceYear": 2019'
    )
    document = json.loads(text)
    document["measurementSets"] = [s for s in document["measurementSets"] if s["category"] == "ia"]
    path = tmp_path / "ia.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(app, ["score", str(path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    tree = json.loads(result.stdout)
    ia = next(c for c in tree["children"] if c["name"] == "ia")
    assert ia["points"] == 40
    assert ia["rule"] == "ia.activity_points"
