"""Fuzzing QPP JSON intake with CMS's documented examples: byte-level and structural mutations
anywhere in the real documents give coded findings through `qpp_json.read` and the service
entry point `validate_bytes`, never an exception and never a hang; hostile files (a zip bomb
named .json, UTF-16 without a BOM, UTF-32, latin-1, the default size limit, huge numbers,
an XML file named .json) are refused with a code.

tests/unit/intake/test_fuzz.py fuzzes random bytes, random JSON values and four fixed paths of
one synthetic submission; tests/unit/intake/test_qpp_json.py refuses non-UTF-8, NaN, duplicate
keys and deep nesting at the reader. Bounded: small `max_examples`, `no_hang` per call.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.hangs import no_hang
from tests.support.reference import QPP_API_REFERENCE, QRDA3_REFERENCE, missing

from openqpp.intake import qpp_json
from openqpp.services.submissions_convert import (
    FileValidation,
    catalogue,
    measures_or_none,
    policy_or_none,
    validate_bytes,
)

FUZZ = settings(
    max_examples=300,
    deadline=None,  # no_hang guards each call instead: CI machines vary
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CODE = re.compile(r"[A-Z]{2}[A-Z0-9]*(-[A-Z0-9]+)*")
EXAMPLES = [
    "submissions-docs/submission-example-ia.json",
    "submissions-docs/submission-example-aci.json",
    "submissions-docs/submission-example-quality.json",
    "submissions-docs/scoring-example-submission-input.json",
    "file-upload/test-file.app1-group-submission.json",
    "conversion-tool/clinicalDocument.json",
]
PLACEHOLDER = b"< performanceYearToBeReported >"


@cache
def reference_documents() -> dict[str, bytes]:
    paths = [QPP_API_REFERENCE / name for name in EXAMPLES]
    paths += sorted(QRDA3_REFERENCE.glob("*.qpp.json"))
    return {
        path.name: path.read_bytes()
        .replace(b'"' + PLACEHOLDER + b'"', b"2025")  # year-literal: the year CMS fills in
        .replace(PLACEHOLDER, b"2025")
        for path in paths
        if path.is_file()
    }


def _reference() -> dict[str, bytes]:
    documents = reference_documents()
    if len(documents) < len(EXAMPLES):
        missing(f"the QPP JSON examples in {QPP_API_REFERENCE}")
    return documents


def _read(data: bytes) -> qpp_json.QppJsonResult:
    measures = catalogue()
    with no_hang():
        result = qpp_json.read(
            data,
            source="fuzz.json",
            measures_for=lambda year: measures_or_none(measures, year),
            policy_for=policy_or_none,
        )
    assert result.submission is not None or result.findings
    for finding in result.findings:
        assert CODE.fullmatch(finding.code), finding
        assert finding.location.file == "fuzz.json"
    if result.submission is not None:
        json.dumps(result.submission.to_qpp_json(), default=str)
    return result


def _validate(name: str, data: bytes) -> FileValidation:
    with no_hang():
        result = validate_bytes(name, data)
    assert result.submission is not None or result.errors, "no submission and no error"
    for finding in result.findings:
        assert CODE.fullmatch(finding.code), finding
        assert finding.message
    return result


# --------------------------------------------------------------------------- byte mutations

TOKENS = [
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u0000", b"\\ud800", b"null", b"true",
    b"-0", b"1e999999999", b"1e-999999999", b"-1", b"0.0000000000000000000001",
    b"99999999999999999999999999",
    b"\xef\xbb\xbf", b"\xff", b"\x00", b"NaN", b'"measurementSets"', b'"value"', b"//",
]  # fmt: skip


@st.composite
def byte_mutated(draw: st.DrawFn, documents: dict[str, bytes]) -> bytes:
    document = bytearray(documents[draw(st.sampled_from(sorted(documents)), label="document")])
    for _ in range(draw(st.integers(1, 5), label="mutations")):
        at = draw(st.integers(0, len(document)), label="at")
        operation = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate"]))
        if operation == "delete":
            del document[at : at + draw(st.integers(1, 60))]
        elif operation == "insert":
            document[at:at] = draw(st.sampled_from(TOKENS) | st.binary(max_size=8))
        elif operation == "duplicate":
            document[at:at] = document[at : at + draw(st.integers(1, 400))]
        else:
            del document[at:]
    return bytes(document)


@FUZZ
@given(st.data())
def test_byte_mutated_examples_give_coded_findings(data: st.DataObject) -> None:
    document = data.draw(byte_mutated(_reference()))
    _read(document)
    _validate("mutated.json", document)


# --------------------------------------------------------------------------- structural mutations

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.decimals(allow_nan=False, allow_infinity=False, places=6)
    | st.sampled_from(["", "individual", "group", "apm", "quality", "ia", "pi", "registry",
                       "2025-13-01", "2025-01-01", "001", "PI_EP_1", "IA_EPA_1", "true"])
    | st.text(max_size=12)
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _containers(document: Any) -> list[Any]:
    """Every object and array inside ``document``, at any depth."""
    found, stack = [], [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            found.append(value)
            stack.extend(value)
    return found


@FUZZ
@given(st.data())
def test_structurally_mutated_examples_give_coded_findings(data: st.DataObject) -> None:
    documents = _reference()
    name = data.draw(st.sampled_from(sorted(documents)), label="document")
    document = json.loads(documents[name], parse_float=Decimal)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        containers = _containers(document)
        target = containers[data.draw(st.integers(0, len(containers) - 1), label="where")]
        operation = data.draw(st.sampled_from(["replace", "delete", "add", "wrap", "empty"]))
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target)), label="key")
            if operation == "delete":
                del target[key]
            elif operation == "wrap":
                target[key] = [target[key]]
            elif operation == "empty":
                target[key] = type(target[key])() if isinstance(target[key], dict | list) else ""
            elif operation == "add":
                target[data.draw(st.text(max_size=10), label="new key")] = data.draw(VALUES)
            else:
                target[key] = data.draw(VALUES, label="value")
        elif isinstance(target, list) and target:
            index = data.draw(st.integers(0, len(target) - 1), label="index")
            if operation == "delete":
                del target[index]
            elif operation in ("add", "wrap"):
                target.append(target[index] if operation == "wrap" else data.draw(VALUES))
            else:
                target[index] = data.draw(VALUES, label="value")
    encoded = json.dumps(document, default=str).encode()
    _read(encoded)
    _validate(name, encoded)


# --------------------------------------------------------------------------- hostile files


def _zip_bomb() -> bytes:
    """64 MiB of spaces in a ~64 KiB zip; uploads are never unpacked, so it must be refused."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("submission.json", "w") as member,
    ):
        chunk = b" " * (1 << 20)
        for _ in range(64):
            member.write(chunk)
    return buffer.getvalue()


SMALL = '{"entityType": "group", "taxpayerIdentificationNumber": "000456789", "note": "Clínica"}'
HOSTILE: dict[str, tuple[bytes, set[str] | None]] = {
    "zip-bomb-named-json": (_zip_bomb(), {"OQ-JSON-002"}),
    "utf16-without-bom": (SMALL.encode("utf-16-le"), {"OQ-JSON-002"}),
    "utf16-with-bom": (SMALL.encode("utf-16"), {"OQ-JSON-002"}),
    "utf32": (SMALL.encode("utf-32"), {"OQ-JSON-002"}),
    "latin1": (SMALL.encode("latin-1"), {"OQ-JSON-002"}),
    "lone-surrogate-escape": (b'{"entityType": "\\ud800"}', None),
    "huge-exponent": (b'{"performanceYear": 1e999999999}', {"OQ-JSON-007"}),
    "huge-integer": (b'{"performanceYear": ' + b"9" * 5000 + b"}", {"OQ-JSON-007"}),
    "tiny-exponent": (b'{"performanceYear": 1e-999999999}', {"OQ-JSON-007"}),
    "deep-objects": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, {"OQ-JSON-005"}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_json_is_refused_with_a_code(name: str) -> None:
    data, expected = HOSTILE[name]
    result = _validate(f"{name}.json", data)
    assert result.kind == "qpp-json"
    assert result.errors
    assert result.submission is None or expected is None
    if expected is not None:
        assert {finding.code for finding in result.errors} <= expected
    _read(data)


def test_an_oversized_json_file_is_refused_at_the_default_limit_before_parsing() -> None:
    data = b'{"entityType": "group", "pad": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    result = _validate("big.json", data)
    assert [finding.code for finding in result.findings] == ["OQ-JSON-001"]


def test_a_qrda_file_named_json_is_read_as_xml_and_refused_with_a_code() -> None:
    result = _validate("upload.json", b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "x.dtd"><x/>')
    assert result.kind == "qrda3"
    assert [finding.code for finding in result.findings] == ["OQ-XML-002"]
