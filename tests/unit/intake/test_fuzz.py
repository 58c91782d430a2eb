"""Fuzzing the QRDA III and QPP JSON readers: any input gives findings, never a crash or hang.

Bounded: a modest number of examples each, no deadline (CI machines vary), and a generous
per-example guard that only trips on a real hang.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.hangs import no_hang
from tests.support.qrda3 import (
    Attestation,
    Document,
    Ecqm,
    PiProportion,
    Population,
    qrda3_document,
)

from openqpp.intake import qpp_json
from openqpp.intake.qrda3 import Qrda3Conversion, convert
from openqpp.measures import MeasuresCatalogue, MeasuresYear
from openqpp.policy import load_policy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "measures-data"
CATALOGUE = MeasuresCatalogue([FIXTURES / "root-a"])
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEED = qrda3_document(
    Document(
        quality=[
            Ecqm(
                "2c928083-8907-ce68-0189-2bc5fa0d0739",
                (
                    Population("IPOP", "51D8CA9A-0000-0000-0000-000000000001", 10),
                    Population("DENOM", "EA65F958-0000-0000-0000-000000000002", 10),
                    Population("NUMER", "10C65EBE-0000-0000-0000-000000000003", 4),
                ),
                rates=(("10C65EBE-0000-0000-0000-000000000003", "0.4"),),
            )
        ],
        pi=[PiProportion("PI_HIE_1", 1, 2), Attestation("PI_LVOTC_1")],
        ia=[Attestation("IA_AHE_1")],
    )
)


def _measures(_: int) -> MeasuresYear:
    return CATALOGUE.year(2025)


def _convert(data: bytes, exhaustive: bool = False) -> Qrda3Conversion:
    with no_hang():
        result = convert(data, source="fuzz.xml", measures_for=_measures, exhaustive=exhaustive)
    assert isinstance(result, Qrda3Conversion)
    assert result.submission is not None or result.problems
    if result.submission is not None:
        json.dumps(result.submission.to_qpp_json())
    else:
        json.dumps(result.error_report())
    return result


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_as_qrda3_give_problems_not_exceptions(data: bytes) -> None:
    _convert(data)


@FUZZ
@given(st.data())
def test_mutated_qrda3_files_give_problems_not_exceptions(data: st.DataObject) -> None:
    document = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        position = data.draw(st.integers(0, len(document)), label="at")
        operation = data.draw(st.sampled_from(["delete", "insert", "duplicate", "digit"]))
        if operation == "delete":
            length = data.draw(st.integers(1, 200))
            del document[position : position + length]
        elif operation == "insert":
            document[position:position] = data.draw(
                st.sampled_from([b"<x>", b"</x>", b'"', b"-1", b"<![CDATA[", b"&amp;", b"\xff"])
                | st.binary(max_size=8)
            )
        elif operation == "duplicate":
            length = data.draw(st.integers(1, 400))
            document[position:position] = document[position : position + length]
        else:
            digits = [i for i, b in enumerate(document) if 48 <= b <= 57]
            if digits:
                index = data.draw(st.sampled_from(digits))
                document[index] = data.draw(st.integers(48, 57))
    _convert(bytes(document), exhaustive=data.draw(st.booleans(), label="exhaustive"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
GOOD: dict[str, Any] = json.loads(
    json.dumps(
        {
            "entityType": "individual",
            "taxpayerIdentificationNumber": "000456789",
            "nationalProviderIdentifier": "1234567893",
            "performanceYear": 2025,
            "measurementSets": [
                {
                    "category": "quality",
                    "submissionMethod": "registry",
                    "performanceStart": "2025-01-01",
                    "performanceEnd": "2025-12-31",
                    "measurements": [
                        {
                            "measureId": "001",
                            "value": {
                                "isEndToEndReported": False,
                                "performanceMet": 1,
                                "performanceNotMet": 1,
                                "eligiblePopulation": 2,
                            },
                        }
                    ],
                }
            ],
        }
    )
)


def _read(data: bytes) -> qpp_json.QppJsonResult:
    with no_hang():
        result = qpp_json.read(
            data,
            source="fuzz.json",
            measures_for=lambda y: CATALOGUE.year(y) if CATALOGUE.has_year(y) else None,
            policy_for=lambda y: load_policy(y) if 2019 <= y <= 2025 else None,
        )
    assert result.submission is not None or result.findings
    return result


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_as_qpp_json_give_findings_not_exceptions(data: bytes) -> None:
    _read(data)


@FUZZ
@given(json_values)
def test_any_json_value_gives_findings_not_exceptions(value: object) -> None:
    _read(json.dumps(value).encode())


@FUZZ
@given(st.data())
def test_almost_valid_submissions_give_findings_not_exceptions(data: st.DataObject) -> None:
    document: Any = json.loads(json.dumps(GOOD))
    for _ in range(data.draw(st.integers(1, 3))):
        target = document
        path = data.draw(
            st.sampled_from(
                [
                    (),
                    ("measurementSets", 0),
                    ("measurementSets", 0, "measurements", 0),
                    ("measurementSets", 0, "measurements", 0, "value"),
                ]
            )
        )
        for step in path:
            try:
                target = target[step]
            except (KeyError, IndexError, TypeError):
                break
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target)) | st.text(max_size=8))
            target[key] = data.draw(json_values)
    _read(json.dumps(document).encode())
