"""Conformance with CMS's QRDA III converter, file by file (shared/reference/qrda3).

Each `<name>.xml` has the reference converter's output: `<name>.expected.qpp.json` (compared
as data) or `<name>.expected.error.json` (compared as a multiset of error codes, and of
locations: human location, XPath, line and column). The reference ran with its production
measures data (PY2025, `measures/measures-data-2025.json`), and so do these tests.

Files with an `expected-static-measures` variant were also run by the reference with its
unit-test measures file (`measures/measure-data-static.json`, PY2017-2019 GUIDs); that run
reaches rules the 2025 data cannot (population UUIDs, the multi-rate strata shape), so it is
checked too, with the same measures file.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tests.support.reference import QRDA3_REFERENCE as REFERENCE

from openqpp.intake.qrda3 import Qrda3Conversion, convert
from openqpp.measures import MeasuresYear

XML_FILES = sorted(REFERENCE.glob("*.xml")) if REFERENCE.is_dir() else []
STATIC_FILES = [
    path
    for path in XML_FILES
    if any(REFERENCE.glob(f"{path.stem}.expected-static-measures.*.json"))
]


def _expected(path: Path, variant: str = "") -> tuple[str, object]:
    success = path.with_name(f"{path.stem}.expected{variant}.qpp.json")
    failure = path.with_name(f"{path.stem}.expected{variant}.error.json")
    if success.is_file() == failure.is_file():
        pytest.fail(
            f"{path.name} needs exactly one of {success.name} or {failure.name}; add the "
            "reference converter's output for it (see INDEX.md).",
            pytrace=False,
        )
    if success.is_file():
        return "qpp", json.loads(success.read_text(encoding="utf-8"))
    return "error", json.loads(failure.read_text(encoding="utf-8"))


def _details(report: object) -> list[dict[str, object]]:
    assert isinstance(report, dict)
    (entry,) = report["errors"]
    return list(entry["details"])


def _where(detail: dict[str, object]) -> tuple[object, ...]:
    location = detail.get("location")
    assert isinstance(location, dict)
    return (
        detail["errorCode"],
        location.get("location"),
        location.get("path"),
        location.get("line"),
        location.get("column"),
    )


def _check(path: Path, result: Qrda3Conversion, kind: str, expected: object) -> None:
    if kind == "qpp":
        assert result.ok, [(p.code, p.message) for p in result.problems]
        assert result.submission is not None
        assert result.submission.to_qpp_json() == expected
        return
    assert not result.ok
    got = _details(result.error_report())
    want = _details(expected)
    assert Counter(d["errorCode"] for d in got) == Counter(d["errorCode"] for d in want)
    assert Counter(map(_where, got)) == Counter(map(_where, want))
    # Messages 24 and 25 list program names in Java HashSet order; the rest must match.
    assert Counter(d["message"] for d in got if d["errorCode"] not in (24, 25)) == Counter(
        d["message"] for d in want if d["errorCode"] not in (24, 25)
    )
    report = result.error_report()
    assert isinstance(report, dict)
    assert report["errors"][0]["sourceIdentifier"] == path.name


def test_reference_files_are_present(reference_dir: Path) -> None:
    assert XML_FILES, f"no QRDA III files in {reference_dir}"


def test_every_reference_file_has_an_expected_result(reference_dir: Path) -> None:
    """A file added to the reference set without the converter's output fails here."""
    lonely = [
        path.name
        for path in sorted(reference_dir.glob("*.xml"))
        if not any(reference_dir.glob(f"{path.stem}.expected.*.json"))
    ]
    assert not lonely, f"reference files without an expected output: {lonely}"


def test_every_expected_result_has_its_file(reference_dir: Path) -> None:
    orphans = [
        path.name
        for path in sorted(reference_dir.glob("*.expected*.json"))
        if not (reference_dir / (path.name.split(".expected")[0] + ".xml")).is_file()
    ]
    assert not orphans, f"expected outputs without their QRDA III file: {orphans}"


@pytest.mark.parametrize("path", XML_FILES, ids=[p.name for p in XML_FILES])
def test_conversion_matches_reference(path: Path, reference_measures: MeasuresYear) -> None:
    kind, expected = _expected(path)
    result = convert(path.read_bytes(), source=path.name, measures_for=lambda _: reference_measures)
    _check(path, result, kind, expected)


@pytest.mark.parametrize("path", STATIC_FILES, ids=[p.name for p in STATIC_FILES])
def test_conversion_with_static_measures_matches_reference(
    path: Path, static_measures: MeasuresYear
) -> None:
    kind, expected = _expected(path, "-static-measures")
    result = convert(path.read_bytes(), source=path.name, measures_for=lambda _: static_measures)
    _check(path, result, kind, expected)


@pytest.mark.parametrize("path", XML_FILES, ids=[p.name for p in XML_FILES])
def test_installed_measures_data_gives_the_same_result(
    path: Path, reference_measures: MeasuresYear, measures_year: object
) -> None:
    """The measures data openqpp installs for 2025 is the file the reference used."""
    assert callable(measures_year)
    kind, expected = _expected(path)
    result = convert(path.read_bytes(), source=path.name, measures_for=measures_year)
    _check(path, result, kind, expected)
