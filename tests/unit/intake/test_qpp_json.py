"""QPP JSON intake: safe reading, the JSON Schema, then the submission rules."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from tests.support.submissions import YEAR, make_year

from openqpp.core.errors import Finding
from openqpp.intake import qpp_json
from openqpp.intake.qpp_json import JsonLimits, parse_json, read, schema_findings
from openqpp.measures import MeasuresYear
from openqpp.policy import Policy, load_policy

GOOD = {
    "entityType": "individual",
    "taxpayerIdentificationNumber": "000456789",
    "nationalProviderIdentifier": "1234567893",
    "performanceYear": YEAR,
    "measurementSets": [
        {
            "category": "ia",
            "submissionMethod": "registry",
            "performanceStart": f"{YEAR}-01-01",
            "performanceEnd": f"{YEAR}-06-01",
            "measurements": [{"measureId": "IA_EPA_1", "value": True}],
        },
        {
            "category": "quality",
            "submissionMethod": "registry",
            "performanceStart": f"{YEAR}-01-01",
            "performanceEnd": f"{YEAR}-12-31",
            "measurements": [
                {
                    "measureId": "001",
                    "value": {
                        "isEndToEndReported": False,
                        "performanceMet": 120,
                        "eligiblePopulationExclusion": 0,
                        "eligiblePopulationException": 0,
                        "performanceNotMet": 36,
                        "eligiblePopulation": 156,
                    },
                }
            ],
        },
    ],
}


def _measures(_: int) -> MeasuresYear | None:
    return make_year()


def _policy(year: int) -> Policy | None:
    return load_policy(year)


def _read(data: bytes, **kwargs: object) -> qpp_json.QppJsonResult:
    return read(data, source="upload.json", measures_for=_measures, policy_for=_policy, **kwargs)  # type: ignore[arg-type]


def _codes(findings: tuple[Finding, ...] | list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_a_good_file_reads_into_a_submission_without_findings() -> None:
    result = _read(json.dumps(GOOD).encode())
    assert result.ok, result.findings
    assert result.submission is not None
    assert result.submission.to_qpp_json() == GOOD


def test_an_oversize_file_is_refused_before_parsing() -> None:
    result = _read(b" " * 2048, limits=JsonLimits(max_bytes=1024))
    assert _codes(result.findings) == ["OQ-JSON-001"]


def test_a_file_that_is_not_utf8_is_refused_with_its_position() -> None:
    data = json.dumps(GOOD).encode().replace(b"IA_EPA_1", b"IA_\xe9PA_1")
    (found,) = _read(data).findings
    assert found.code == "OQ-JSON-002"
    assert found.location.line == 1


def test_a_utf8_byte_order_mark_is_tolerated() -> None:
    assert _read(b"\xef\xbb\xbf" + json.dumps(GOOD).encode()).ok


def test_invalid_json_is_reported_with_line_and_column() -> None:
    (found,) = _read(b'{\n  "entityType": "group",\n  oops\n}').findings
    assert found.code == "OQ-JSON-003"
    assert (found.location.line, found.location.column) == (3, 3)


def test_duplicate_keys_are_refused_with_their_json_path() -> None:
    data = b'{"entityType": "group", "measurementSets": [{"category": "ia", "category": "pi"}]}'
    (found,) = _read(data).findings
    assert found.code == "OQ-JSON-004"
    assert found.location.path == "$.measurementSets[0].category"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(constant: bytes) -> None:
    (found,) = _read(b'{"performanceYear": ' + constant + b"}").findings
    assert found.code == "OQ-JSON-006"


def test_deep_nesting_is_refused() -> None:
    assert _codes(_read(b"[" * 40 + b"]" * 40).findings) == ["OQ-JSON-005"]
    assert _codes(_read(b"[" * 100_000 + b"]" * 100_000).findings) == ["OQ-JSON-005"]


def test_numbers_are_parsed_exactly() -> None:
    document, findings = parse_json(b'{"a": 0.1, "b": 100.0, "c": 7}')
    assert not findings
    assert document == {"a": Decimal("0.1"), "b": Decimal("100.0"), "c": 7}


def test_schema_problems_are_all_reported_with_json_paths() -> None:
    document = json.loads(json.dumps(GOOD))
    document["entityType"] = "apmEntity"
    document["measurementSets"][0]["catgory"] = "ia"
    document["measurementSets"][1]["measurements"][0]["value"]["performanceMet"] = "120"
    document["measurementSets"][1]["performanceStart"] = "01/01/2025"
    del document["measurementSets"][0]["submissionMethod"]
    findings = schema_findings(document, source="upload.json")
    assert {f.code for f in findings} == {"OQ-JSON-010"}
    paths = sorted(f.location.path or "" for f in findings)
    assert paths == [
        "$.entityType",
        "$.measurementSets[0]",
        "$.measurementSets[0]",
        "$.measurementSets[1].measurements[0].value.performanceMet",
        "$.measurementSets[1].performanceStart",
    ]
    messages = " ".join(f.message for f in findings)
    assert "catgory" in messages
    assert "submissionMethod" in messages
    assert "YYYY-MM-DD" in messages


def test_value_shapes_are_checked_by_their_keys() -> None:
    document = json.loads(json.dumps(GOOD))
    document["measurementSets"][1]["measurements"][0]["value"] = {
        "isEndToEndReported": True,
        "strata": [{"stratum": "a", "performanceMet": 1}],
    }
    (found,) = schema_findings(document)
    assert found.location.path == "$.measurementSets[1].measurements[0].value.strata[0]"
    assert "eligiblePopulation" in found.message


def test_documented_examples_pass_the_schema() -> None:
    examples = [
        GOOD,
        {
            "entityType": "subgroup",
            "entityId": "SG-00000001",
            "performanceYear": 2023,
            "measurementSets": [
                {
                    "category": "quality",
                    "submissionMethod": "registry",
                    "programName": "G0053",
                    "performanceStart": "2023-01-01",
                    "performanceEnd": "2023-12-31",
                    "measureSet": None,
                    "measurements": [
                        {
                            "measureId": "ACRAD15",
                            "value": {
                                "numerator": 3,
                                "denominator": 1000,
                                "isEndToEndReported": False,
                                "denominatorException": 30,
                                "numeratorExclusion": 0,
                                "observationInstances": 80,
                            },
                        }
                    ],
                }
            ],
        },
    ]
    for example in examples:
        assert schema_findings(json.loads(json.dumps(example), parse_float=Decimal)) == []


def test_semantic_findings_follow_a_valid_schema() -> None:
    document = json.loads(json.dumps(GOOD))
    document["nationalProviderIdentifier"] = "1234567890"
    document["measurementSets"][1]["measurements"][0]["value"]["performanceMet"] = 200
    result = _read(json.dumps(document).encode())
    assert not result.ok
    assert result.submission is not None
    by_code = {f.code: f for f in result.findings}
    assert by_code["OQ-SUB-012"].location.path == "$.nationalProviderIdentifier"
    assert by_code["OQ-SUB-012"].location.file == "upload.json"
    assert (
        by_code["OQ-SUB-062"].location.path
        == "$.measurementSets[1].measurements[0].value.performanceMet"
    )


def test_missing_measures_data_and_policy_are_findings_not_crashes() -> None:
    document = json.loads(json.dumps(GOOD))
    document["performanceYear"] = 2031
    result = read(
        json.dumps(document).encode(),
        source="x.json",
        measures_for=lambda _: None,
        policy_for=lambda _: None,
    )
    assert {"OQ-SUB-001", "OQ-SUB-002"} <= set(_codes(result.findings))
