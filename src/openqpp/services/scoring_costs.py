"""Use case: load CMS's cost measure results, and read them back for an entity.

Nobody submits cost data. CMS calculates each cost measure from Medicare claims and gives each
entity (a group's TIN, a clinician's TIN/NPI) its attributed cases and achievement points; the
operator loads CMS's file with ``openqpp scoring load-cost FILE --year Y``. The file is CSV with
a header row::

    tin,npi,measure_id,case_count,case_minimum,points
    123456789,,TPCC_1,45,,7.5
    123456789,1234567893,COST_KA_1,12,10,6.2

``npi`` is empty for a group; ``case_minimum`` may be empty (the year's
``scoring.cost.case_minimums`` policy value is used and the row says so); ``points`` (1-10) is
empty when the measure did not meet its case minimum. Every line is checked (identifiers with
their check digits, the measure against the year's measures data, numbers in range) and the file
is loaded all or nothing: one bad line stores nothing and every problem is reported with its
line number. A measure loaded again for the same entity and year replaces the older row (a newer
CMS file wins); one audit record per load names the file and its SHA-256.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.core.common import Npi, Tin
from openqpp.core.errors import Finding, InvalidValue, Location, OpenQppError
from openqpp.core.scoring.context import CostMeasureResult
from openqpp.db.base import utcnow
from openqpp.db.models import CostMeasureResultRow
from openqpp.measures import MeasuresYear
from openqpp.policy import load_policy
from openqpp.services import audit
from openqpp.services.submissions_convert import catalogue
from openqpp.settings import Settings

COLUMNS = ("tin", "npi", "measure_id", "case_count", "case_minimum", "points")
REQUIRED = ("tin", "measure_id", "case_count")
MIN_POINTS = Decimal(1)
MAX_POINTS = Decimal(10)


class CostFileInvalid(OpenQppError):
    """The cost results file has problems; nothing was stored."""

    code = "OQ-SCORE-COST-001"
    http_status = 422

    def __init__(self, source: str, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        super().__init__(
            f"{source} has {len(self.findings)} problem(s); no cost result was stored.",
            fix="Correct every line listed and load the whole file again.",
        )


@dataclass(frozen=True, slots=True)
class CostLine:
    """One checked line of the file."""

    line: int
    tin: str
    npi: str | None
    measure_id: str
    case_count: int
    case_minimum: int
    case_minimum_source: str
    points: Decimal | None

    @property
    def entity_key(self) -> str:
        return f"{self.tin}/{self.npi}" if self.npi else self.tin


@dataclass(frozen=True, slots=True)
class CostLoad:
    """What a load stored."""

    year: int
    source: str
    sha256: str
    lines: tuple[CostLine, ...]
    created: int
    replaced: int
    warnings: tuple[str, ...]

    @property
    def entities(self) -> int:
        return len({line.entity_key for line in self.lines})


def _problem(line: int, column: str, message: str) -> Finding:
    return Finding(
        code="OQ-SCORE-COST-002", message=message, location=Location(path=column, line=line)
    )


def _int(raw: str, line: int, column: str, problems: list[Finding], *, minimum: int) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        problems.append(_problem(line, column, f"{column} {raw!r} is not a whole number."))
        return None
    if value < minimum:
        problems.append(_problem(line, column, f"{column} {value} is below {minimum}."))
        return None
    return value


def parse_cost_file(
    content: bytes, *, year: int, measures: MeasuresYear | None, source: str = "file"
) -> tuple[list[CostLine], list[str]]:
    """Every line of a CMS cost results CSV, checked; raises :class:`CostFileInvalid`.

    Returns the lines and warnings (a measure scored without points, ...)."""
    policy = load_policy(year)
    problems: list[Finding] = []
    warnings: list[str] = []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CostFileInvalid(
            source, [_problem(1, "file", "The file is not UTF-8 text (CSV).")]
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    if missing or unknown:
        message = "The header row must name the columns " + ", ".join(COLUMNS) + "."
        if missing:
            message += f" Missing: {', '.join(missing)}."
        if unknown:
            message += f" Unknown: {', '.join(unknown)}."
        raise CostFileInvalid(source, [_problem(1, "header", message)])
    reader.fieldnames = header
    lines: list[CostLine] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue
        before = len(problems)
        try:
            tin = str(Tin(values.get("tin", "")))
        except InvalidValue as exc:
            problems.append(_problem(number, "tin", f"{exc.message} {exc.fix}"))
            tin = ""
        npi: str | None = None
        if values.get("npi"):
            try:
                npi = str(Npi(values["npi"]))
            except InvalidValue as exc:
                problems.append(_problem(number, "npi", f"{exc.message} {exc.fix}"))
        measure_id = values.get("measure_id", "").upper()
        if not measure_id:
            problems.append(_problem(number, "measure_id", "measure_id is empty."))
        elif measures is not None:
            measure = measures.cost(measure_id)
            if measure is None:
                problems.append(
                    _problem(
                        number,
                        "measure_id",
                        f"{measure_id} is not a cost measure of performance year {year} "
                        f"({measures.source}).",
                    )
                )
            else:
                measure_id = measure.measure_id
        case_count = _int(values.get("case_count", ""), number, "case_count", problems, minimum=0)
        raw_minimum = values.get("case_minimum", "")
        if raw_minimum:
            case_minimum = _int(raw_minimum, number, "case_minimum", problems, minimum=1)
            minimum_source = "file"
        else:
            case_minimum = policy.scoring.cost.case_minimum(measure_id) if measure_id else None
            minimum_source = "policy"
        points: Decimal | None = None
        if values.get("points"):
            try:
                points = Decimal(values["points"])
            except InvalidOperation:
                problems.append(
                    _problem(number, "points", f"points {values['points']!r} is not a number.")
                )
            else:
                if not points.is_finite() or not MIN_POINTS <= points <= MAX_POINTS:
                    problems.append(
                        _problem(
                            number, "points", f"points {values['points']} is not between 1 and 10."
                        )
                    )
                    points = None
        key = (f"{tin}/{npi}" if npi else tin, measure_id)
        if tin and measure_id and key in seen:
            problems.append(
                _problem(
                    number, "measure_id", f"{measure_id} for {key[0]} is also on line {seen[key]}."
                )
            )
        if len(problems) > before or case_count is None or case_minimum is None:
            continue
        seen[key] = number
        if case_count >= case_minimum and points is None:
            warnings.append(
                f"line {number}: {measure_id} for {key[0]} meets its case minimum but has no "
                "points; it will not be scored."
            )
        if case_count < case_minimum and points is not None:
            warnings.append(
                f"line {number}: {measure_id} for {key[0]} has {case_count} cases, below the "
                f"case minimum {case_minimum}; its points are kept but not scored."
            )
        lines.append(
            CostLine(number, tin, npi, measure_id, case_count, case_minimum, minimum_source, points)
        )
    if problems:
        raise CostFileInvalid(source, problems)
    if not lines:
        raise CostFileInvalid(source, [_problem(2, "file", "The file has no result lines.")])
    return lines, warnings


def load_cost_file(
    session: Session,
    *,
    path: Path,
    year: int,
    actor: str = "operator",
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> CostLoad:
    """Check and store a CMS cost results file for ``year`` (all or nothing; the caller commits)."""
    content = path.read_bytes()
    return load_cost_results(
        session,
        content=content,
        source=path.name,
        year=year,
        actor=actor,
        settings=settings,
        now=now,
    )


def load_cost_results(
    session: Session,
    *,
    content: bytes,
    source: str,
    year: int,
    actor: str = "operator",
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> CostLoad:
    """:func:`load_cost_file` for content already read."""
    now = now or utcnow()
    measures = catalogue(settings).year(year)
    lines, warnings = parse_cost_file(content, year=year, measures=measures, source=source)
    digest = hashlib.sha256(content).hexdigest()
    existing = {
        (r.entity_key, r.measure_id): r
        for r in session.scalars(
            select(CostMeasureResultRow).where(
                CostMeasureResultRow.performance_year == year,
                CostMeasureResultRow.tin.in_(sorted({line.tin for line in lines})),
            )
        )
    }
    created = replaced = 0
    for line in lines:
        row = existing.get((line.entity_key, line.measure_id))
        if row is None:
            row = CostMeasureResultRow(
                performance_year=year, entity_key=line.entity_key, measure_id=line.measure_id
            )
            session.add(row)
            created += 1
        else:
            replaced += 1
        row.tin = line.tin
        row.npi = line.npi
        row.case_count = line.case_count
        row.case_minimum = line.case_minimum
        row.case_minimum_source = line.case_minimum_source
        row.points = line.points
        row.source_file = source[:255]
        row.source_sha256 = digest
        row.loaded_at = now
        row.loaded_by = actor[:100]
    session.flush()
    audit.record(
        session,
        actor=actor,
        role=None,
        on_behalf_of=None,
        action="scoring.cost_results_loaded",
        object_type="cost_results",
        object_id=f"{year}:{digest[:16]}",
        after={
            "performance_year": year,
            "file": source,
            "sha256": digest,
            "lines": len(lines),
            "created": created,
            "replaced": replaced,
            "measures_data": measures.source,
        },
        at=now,
    )
    return CostLoad(year, source, digest, tuple(lines), created, replaced, tuple(warnings))


@dataclass(frozen=True, slots=True)
class StoredCostResult:
    """A loaded result with where it came from (for the cost detail page)."""

    result: CostMeasureResult
    case_minimum_source: str
    source_file: str
    loaded_at: dt.datetime


def cost_results_for(
    session: Session, *, year: int, tin: str, npi: str | None = None
) -> list[StoredCostResult]:
    """The loaded cost results of one entity (a group when ``npi`` is None), by measure ID."""
    key = f"{tin}/{npi}" if npi else tin
    rows = session.scalars(
        select(CostMeasureResultRow)
        .where(
            CostMeasureResultRow.performance_year == year,
            CostMeasureResultRow.entity_key == key,
        )
        .order_by(CostMeasureResultRow.measure_id)
    )
    return [
        StoredCostResult(
            CostMeasureResult(
                measure_id=r.measure_id,
                case_count=r.case_count,
                case_minimum=r.case_minimum,
                points=r.points,
            ),
            r.case_minimum_source,
            r.source_file,
            r.loaded_at,
        )
        for r in rows
    ]
