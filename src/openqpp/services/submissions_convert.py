"""Use cases: convert a QRDA III file to QPP JSON, and validate submission files.

Reads the measures data from the configured roots (`Settings.measures_roots`) and the year's
policy, and calls the intake adapters and the core validation engine. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from openqpp.core.errors import Finding, Location
from openqpp.core.submissions import Submission, validate_submission
from openqpp.intake import qpp_json
from openqpp.intake.qrda3 import Qrda3Conversion, convert
from openqpp.measures import MeasuresCatalogue, MeasuresError, MeasuresYear
from openqpp.policy import Policy, UnsupportedPerformanceYear, load_policy
from openqpp.settings import Settings, get_settings

FileKind = Literal["qrda3", "qpp-json"]


@lru_cache(maxsize=4)
def _catalogue(roots: tuple[Path, ...]) -> MeasuresCatalogue:
    return MeasuresCatalogue(roots)


def catalogue(settings: Settings | None = None) -> MeasuresCatalogue:
    """The measures catalogue of the configured roots (one per process, years cached)."""
    return _catalogue(tuple((settings or get_settings()).measures_roots))


def policy_or_none(year: int) -> Policy | None:
    try:
        return load_policy(year)
    except UnsupportedPerformanceYear:
        return None


def measures_or_none(measures: MeasuresCatalogue, year: int) -> MeasuresYear | None:
    try:
        return measures.year(year)
    except MeasuresError:
        return None


def convert_qrda3(
    path: Path,
    *,
    data: bytes | None = None,
    settings: Settings | None = None,
    exhaustive: bool = False,
) -> Qrda3Conversion:
    """Convert one QRDA III file as CMS's converter does; raises `MeasuresYearUnavailable`
    when the file needs a year's measures data that is not installed."""
    measures = catalogue(settings)
    content = path.read_bytes() if data is None else data
    return convert(content, source=path.name, measures_for=measures.year, exhaustive=exhaustive)


@dataclass(frozen=True)
class FileValidation:
    """Every finding for one file, and the submission when the file could be read."""

    path: Path
    kind: FileKind
    findings: tuple[Finding, ...] = field(default=())
    submission: Submission | None = None
    #: A QRDA III file's conversion (its CMS-shaped error report), so nobody converts twice.
    conversion: Qrda3Conversion | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors


def sniff(path: Path, data: bytes) -> FileKind:
    """QRDA III when the content starts like XML, QPP JSON when like JSON, else by suffix."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "qrda3"
    if head.startswith((b"{", b"[")):
        return "qpp-json"
    return "qpp-json" if path.suffix.lower() == ".json" else "qrda3"


def validate_file(path: Path, *, settings: Settings | None = None) -> FileValidation:
    """Read one QPP JSON or QRDA III file and report every problem with its location."""
    return validate_bytes(path.name, path.read_bytes(), settings=settings)


def validate_bytes(name: str, data: bytes, *, settings: Settings | None = None) -> FileValidation:
    """:func:`validate_file` for content already in memory (an upload, an API body).

    QPP JSON is read with the intake's size and depth limits; QRDA III is converted with the
    hardened parser and then validated by the same engine. Never raises on bad content."""
    path = Path(name)
    kind = sniff(path, data)
    measures = catalogue(settings)
    if kind == "qpp-json":
        result = qpp_json.read(
            data,
            source=path.name,
            measures_for=lambda year: measures_or_none(measures, year),
            policy_for=policy_or_none,
        )
        return FileValidation(path, kind, result.findings, result.submission)
    try:
        conversion = convert_qrda3(path, data=data, settings=settings, exhaustive=True)
    except MeasuresError as exc:
        finding = Finding(
            code=exc.code,
            message=f"{exc.message} {exc.fix}",
            location=Location(file=path.name),
        )
        return FileValidation(path, kind, (finding,))
    findings = list(conversion.findings())
    submission = conversion.submission
    if submission is not None:
        year = submission.performance_year
        report = validate_submission(
            submission,
            measures=measures_or_none(measures, year),
            policy=policy_or_none(year),
            locate=conversion.locate,
        )
        findings.extend(report.findings)
    return FileValidation(path, kind, tuple(findings), submission, conversion)


def validate_files(
    paths: Iterable[Path], *, settings: Settings | None = None
) -> Sequence[FileValidation]:
    return [validate_file(path, settings=settings) for path in paths]
