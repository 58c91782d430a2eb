"""QRDA III bytes -> canonical `Submission`, with the reference converter's error codes.

    result = convert(data, source="file.xml", measures_for=catalogue.year)
    result.submission.to_qpp_json()   # the QPP JSON CMS's converter writes, or
    result.error_report()             # its error JSON: errors[].details[].errorCode ...

Pipeline (as in CMSgov/qpp-conversion-tool, `Converter.transform`): parse with the hardened
reader; accept only a `ClinicalDocument` whose templateId names a guide in `guides.yaml`
(else code 5); decode the template tree; validate it; encode it when there is no error.
The measures data is asked for only when a quality measure needs it, for the guide's year.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from openqpp.core.errors import Finding, Location
from openqpp.core.submissions import Submission
from openqpp.intake.qrda3 import decode as d
from openqpp.intake.qrda3.decode import Decoding, Engine, Node, Unexpected
from openqpp.intake.qrda3.encode import Encoding
from openqpp.intake.qrda3.guides import CLINICAL_DOCUMENT_ROOT, Guide, T, guides, newest_guide
from openqpp.intake.qrda3.problems import message
from openqpp.intake.qrda3.rules import Problem, Validation, location_title
from openqpp.intake.qrda3.xml import (
    SourceText,
    XmlLimits,
    XmlNotWellFormed,
    XmlRefused,
    absolute_path,
    check_well_formed,
    parse,
)
from openqpp.measures import MeasuresError, MeasuresYear

#: The converter caps its error list (`Converter.truncateTooManyErrors`).
MAX_REPORTED_ERRORS: Final = 100
#: The converter-shaped report uses CMS's number 2 ("not a valid XML document") for files
#: the hardened reader refuses; the detail's `code` says which refusal it was.
XML_REFUSAL_NUMBER: Final = 2


@dataclass(frozen=True, slots=True)
class Qrda3Problem:
    """One problem with a converted file, in both openqpp's and the converter's terms."""

    code: str
    number: int
    message: str
    location: Location
    #: The converter's human location ("Quality Measure <guid> (CMS68v14)"), or None.
    title: str | None = None
    measure_id: str | None = None

    def as_finding(self) -> Finding:
        return Finding(
            code=self.code,
            message=self.message,
            severity="error",
            location=self.location,
            measure_id=self.measure_id,
        )

    def as_detail(self) -> dict[str, object]:
        where: dict[str, object] = {}
        if self.title is not None:
            where["location"] = self.title
        where["path"] = self.location.xpath or ""
        if self.code != "CT002":  # the converter gives no position for unparsable files
            if self.location.line is not None:
                where["line"] = self.location.line
            if self.location.column is not None:
                where["column"] = self.location.column
        detail: dict[str, object] = {"errorCode": self.number, "message": self.message}
        if not self.code.startswith("CT"):
            detail["code"] = self.code
        detail["location"] = where
        return detail


@dataclass(frozen=True)
class Qrda3Conversion:
    """The outcome of converting one QRDA III file."""

    source: str
    submission: Submission | None
    problems: tuple[Qrda3Problem, ...]
    guide: Guide | None = None
    #: The measures-data year used (the guide's year for the file's reporting period).
    measures_year: int | None = None
    _nodes: dict[str, Node] = field(default_factory=dict, repr=False, compare=False)
    _locator: _Locator | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.submission is not None and not self.problems

    def findings(self) -> tuple[Finding, ...]:
        return tuple(p.as_finding() for p in self.problems)

    def locate(self, json_path: str) -> Location:
        """Where in the XML the value at `json_path` of the converted JSON came from."""
        probe = json_path
        while True:
            node = self._nodes.get(probe)
            if node is not None and self._locator is not None:
                found = self._locator.node(node)
                return Location(
                    path=json_path,
                    line=found.line,
                    column=found.column,
                    xpath=found.xpath,
                    file=found.file,
                )
            if probe == "$" or not probe:
                return Location(path=json_path, file=self.source)
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else "$"

    def error_report(self) -> dict[str, object]:
        """The converter's command-line error JSON (`<name>-error.json`), nulls omitted."""
        details = [p.as_detail() for p in self.problems]
        if len(details) > MAX_REPORTED_ERRORS:
            total = len(details)
            details = details[:MAX_REPORTED_ERRORS]
            details.append(
                {"errorCode": 82, "message": message(82, total), "location": {"path": ""}}
            )
        return {"errors": [{"sourceIdentifier": self.source, "details": details}]}


MeasuresFor = Callable[[int], MeasuresYear]


class _Locator:
    def __init__(self, source: str, text: SourceText) -> None:
        self.source = source
        self.text = text
        self.cache: dict[int, Location] = {}

    def node(self, node: Node | None) -> Location:
        if node is None or node.element is None:
            return Location(path=None, xpath="", file=self.source)
        key = id(node)
        found = self.cache.get(key)
        if found is None:
            anchor = node.tid if node.tid is not None else node.element
            line, column = self.text.position(anchor)
            found = Location(
                line=line, column=column, xpath=absolute_path(node.element), file=self.source
            )
            self.cache[key] = found
        return found


_CD_ROOT_TEXT: Final = re.compile(re.escape(CLINICAL_DOCUMENT_ROOT.encode()) + rb"[\"']")
_EXTENSION_TEXT: Final = re.compile(rb"extension\s*=\s*[\"']([^\"']*)[\"']")


def _may_name_a_guide(data: bytes) -> bool:
    """False only when the bytes surely hold no ClinicalDocument templateId of a known guide.

    Conservative: text that is not ASCII-compatible, or that uses character references,
    always goes through the full parse."""
    if b"&#" in data or b"\x00" in data[:4] or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    known = {g.extension.encode() for g in guides().values()}
    for match in _CD_ROOT_TEXT.finditer(data):
        start = data.rfind(b"<", 0, match.start())
        end = data.find(b">", match.end())
        tag = data[start : end if end >= 0 else len(data)]
        if any(m.group(1) in known for m in _EXTENSION_TEXT.finditer(tag)):
            return True
    return False


def _accept(root: etree._Element) -> Guide | None:
    """The guide named by the root's ClinicalDocument templateId, newest first."""
    if etree.QName(root).localname != "ClinicalDocument":
        return None
    known = guides()
    tag = (
        f"{{{etree.QName(root).namespace}}}templateId"
        if etree.QName(root).namespace
        else "templateId"
    )
    matches = [
        known[tid.get("extension", "")]
        for tid in root.iterchildren(tag)
        if tid.get("root") == CLINICAL_DOCUMENT_ROOT and tid.get("extension") in known
    ]
    if not matches:
        return None
    return max(matches, key=lambda g: g.default_year)


def _first_year(cd: Node) -> int | None:
    rpa = cd.find_first(T.REPORTING_PARAMETERS_ACT)
    year = rpa.get(d.PERFORMANCE_YEAR) if rpa is not None else None
    return int(year) if year is not None and year.isascii() and year.isdigit() else None


def _failure(source: str, problem: Qrda3Problem, guide: Guide | None = None) -> Qrda3Conversion:
    return Qrda3Conversion(source=source, submission=None, problems=(problem,), guide=guide)


def _file_problem(
    code: str, number: int, text: str, source: str, **where: int | None
) -> Qrda3Problem:
    return Qrda3Problem(
        code=code,
        number=number,
        message=text,
        location=Location(
            line=where.get("line"), column=where.get("column"), xpath="", file=source
        ),
    )


def convert(
    data: bytes,
    *,
    source: str,
    measures_for: MeasuresFor,
    limits: XmlLimits | None = None,
    exhaustive: bool = False,
) -> Qrda3Conversion:
    """Convert one QRDA III file. `measures_for(year)` gives the year's measures data (it may
    raise when the year is not installed); `exhaustive` reports every problem instead of the
    converter's first-per-check."""
    try:
        if not _may_name_a_guide(data):
            # No supported ClinicalDocument templateId can be in the text: only the syntax
            # decides between "not XML" (2) and "not a supported QRDA III document" (5).
            check_well_formed(data, limits or XmlLimits())
            newest = newest_guide()
            return _failure(
                source,
                _file_problem("CT005", 5, message(5, newest.default_year, newest.url), source),
            )
        root = parse(data, limits or XmlLimits())
    except XmlRefused as refused:
        return _failure(
            source, _file_problem(refused.code, XML_REFUSAL_NUMBER, refused.message, source)
        )
    except XmlNotWellFormed as bad:
        return _failure(
            source,
            _file_problem("CT002", 2, message(2), source, line=bad.line, column=bad.column),
        )
    guide = _accept(root)
    if guide is None:
        newest = newest_guide()
        return _failure(
            source, _file_problem("CT005", 5, message(5, newest.default_year, newest.url), source)
        )
    locator = _Locator(source, SourceText(data, root))
    decoding = Decoding(guide)
    try:
        cd = Engine(decoding, root).decode()
    except Unexpected:
        return _failure(source, _file_problem("CT003", 3, message(3), source), guide)
    year = guide.measures_year(_first_year(cd))
    cache: dict[int, MeasuresYear] = {}

    def measures() -> MeasuresYear:
        if year not in cache:
            cache[year] = measures_for(year)
        return cache[year]

    family = decoding.family(cd)
    validation = Validation(guide, measures, year_label=str(year), exhaustive=exhaustive)
    try:
        problems = validation.run(cd, family)
    except Unexpected:
        return _failure(source, _file_problem("CT003", 3, message(3), source), guide)
    if problems:
        return Qrda3Conversion(
            source=source,
            submission=None,
            problems=tuple(_ct_problem(p, locator, measures, cd) for p in problems),
            guide=guide,
            measures_year=year,
        )
    encoding = Encoding(guide=guide, measures_for=measures, family=family)
    try:
        submission = encoding.submission(cd)
    except Unexpected:
        return _failure(source, _file_problem("CT003", 3, message(3), source), guide)
    encoded_problems = tuple(
        Qrda3Problem(
            code=p.code,
            number=p.number,
            message=p.message,
            location=locator.node(p.node),
            title=_title(p.node, measures, cd),
            measure_id=p.measure_id,
        )
        for p in encoding.problems
    )
    return Qrda3Conversion(
        source=source,
        submission=submission if not encoded_problems else None,
        problems=encoded_problems,
        guide=guide,
        measures_year=year,
        _nodes=encoding.paths,
        _locator=locator,
    )


def _title(node: Node | None, measures: Callable[[], MeasuresYear], cd: Node) -> str:
    year: MeasuresYear | None = None
    if node is not None and any(
        n.kind is T.MEASURE_REFERENCE_RESULTS_CMS_V5 and n.get(d.MEASURE_ID)
        for n in _ancestors(node)
    ):
        try:
            year = measures()
        except MeasuresError:
            year = None  # the title then lacks the eMeasure ID; the problem is still reported
    return location_title(node, year)


def _ancestors(node: Node) -> list[Node]:
    found: list[Node] = []
    current: Node | None = node
    while current is not None:
        found.append(current)
        current = current.parent
    return found


def _measure_id(node: Node | None) -> str | None:
    for current in _ancestors(node) if node is not None else []:
        if current.kind in (
            T.MEASURE_REFERENCE_RESULTS_CMS_V5,
            T.IA_MEASURE,
            T.PI_NUMERATOR_DENOMINATOR,
            T.PI_MEASURE_PERFORMED_REFERENCE_AND_RESULTS,
        ):
            return current.get(d.MEASURE_ID)
    return None


def _ct_problem(
    problem: Problem, locator: _Locator, measures: Callable[[], MeasuresYear], cd: Node
) -> Qrda3Problem:
    return Qrda3Problem(
        code=f"CT{problem.code:03d}",
        number=problem.code,
        message=problem.message,
        location=locator.node(problem.node),
        title=_title(problem.node, measures, cd),
        measure_id=_measure_id(problem.node),
    )
