"""`openqpp submissions convert` and `openqpp submissions validate` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.qrda3 import Attestation, Ecqm, PiProportion, Population, qrda3_document
from typer.testing import CliRunner

from openqpp.cli import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "measures-data"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "OPENQPP_DATA_DIR": str(tmp_path / "no-packs"),
        "OPENQPP_MEASURES_DATA": str(FIXTURES / "root-a"),
        "COLUMNS": "200",
    }


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_convert_writes_qpp_json_and_exits_0(tmp_path: Path, env: dict[str, str]) -> None:
    path = _write(tmp_path, "ok.xml", qrda3_document(pi=[PiProportion("PI_HIE_1", 3, 4)]))
    result = runner.invoke(app, ["submissions", "convert", str(path)], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["measurementSets"][0]["measurements"] == [
        {"measureId": "PI_HIE_1", "value": {"numerator": 3, "denominator": 4}}
    ]


def test_convert_writes_the_converter_error_report_and_exits_1(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = _write(tmp_path, "bad.xml", qrda3_document(program=None, ia=[Attestation("IA_X")]))
    result = runner.invoke(app, ["submissions", "convert", str(path)], env=env)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    (entry,) = report["errors"]
    assert entry["sourceIdentifier"] == "bad.xml"
    (detail,) = entry["details"]
    assert detail["errorCode"] == 24
    assert detail["message"].startswith("CT - ")
    assert set(detail["location"]) == {"location", "path", "line", "column"}


def test_convert_refuses_an_xxe_file_with_a_code(tmp_path: Path, env: dict[str, str]) -> None:
    data = qrda3_document(doctype='\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>')
    path = _write(tmp_path, "xxe.xml", data)
    result = runner.invoke(app, ["submissions", "convert", str(path)], env=env)
    assert result.exit_code == 1
    (detail,) = json.loads(result.stdout)["errors"][0]["details"]
    assert (detail["errorCode"], detail["code"]) == (2, "OQ-XML-002")


def test_convert_says_which_measures_data_is_missing(tmp_path: Path, env: dict[str, str]) -> None:
    ecqm = Ecqm("2c928083-8907-ce68-0189-2bc5fa0d0739", (Population("DENOM", "X", 1),))
    path = _write(tmp_path, "q.xml", qrda3_document(guide="2022-12-01", year=2023, quality=[ecqm]))
    result = runner.invoke(app, ["submissions", "convert", str(path)], env=env)
    assert result.exit_code == 2
    assert "OQ-MEASURES-001" in result.output
    assert "2023" in result.output


def test_validate_prints_every_finding_and_exits_1_on_errors(
    tmp_path: Path, env: dict[str, str]
) -> None:
    xml = _write(tmp_path, "a.xml", qrda3_document(npi="1234567890", ia=[Attestation("IA_AHE_1")]))
    bad_json = _write(tmp_path, "b.json", b'{"entityType": "group", "entityType": "apm"}')
    result = runner.invoke(app, ["submissions", "validate", str(xml), str(bad_json)], env=env)
    assert result.exit_code == 1, result.output
    assert "OQ-SUB-012" in result.output  # the NPI check digit, from the converted QRDA III
    assert "OQ-JSON-004" in result.output  # the duplicate key
    assert "a.xml (qrda3): refused" in result.output
    assert "b.json (qpp-json): refused" in result.output


def test_validate_as_json(tmp_path: Path, env: dict[str, str]) -> None:
    xml = _write(tmp_path, "a.xml", qrda3_document(ia=[Attestation("IA_AHE_1", answer="X")]))
    result = runner.invoke(app, ["submissions", "validate", "--json", str(xml)], env=env)
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)
    assert finding["code"] == "CT051"
    assert finding["measureId"] == "IA_AHE_1"
    assert finding["location"]["line"] > 1


def test_validate_exits_0_when_there_are_only_warnings_or_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    document = {
        "entityType": "group",
        "taxpayerIdentificationNumber": "000456789",
        "performanceYear": 2025,
        "measurementSets": [
            {
                "category": "ia",
                "submissionMethod": "registry",
                "performanceStart": "2025-01-01",
                "performanceEnd": "2025-12-31",
                "measurements": [{"measureId": "IA_AHE_1", "value": True}],
            }
        ],
    }
    path = _write(tmp_path, "ok.json", json.dumps(document).encode())
    result = runner.invoke(app, ["submissions", "validate", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "ok.json (qpp-json): ok, 0 error(s)" in result.output
