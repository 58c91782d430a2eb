"""Finding and validating the batch input tables of ``docs/batch-contract.md``.

A table ``NAME`` is one Parquet file ``NAME.parquet``, a folder of Parquet files
``NAME/*.parquet`` or a CSV file with a header row ``NAME.csv``. :func:`validate_inputs` checks
every table that is there *before* anything is computed, with SQL in DuckDB (a counting scan
per table, plus a look at the distinct values of the identifier and code columns; offending rows
are only searched for when a check fails), and raises
:class:`~openqpp.batch.errors.BatchInputErrors` listing every problem found, each with the file,
the column, the first offending row and how many rows share it.

The same :data:`TABLES` specification gives the typed projection both engines read the tables
through (:func:`typed_select`), so a value means the same thing to DuckDB and to Spark.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from openqpp.batch.errors import BatchInputError, BatchInputErrors
from openqpp.policy import Policy, UnsupportedPerformanceYear, load_policy

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str], None]

# ------------------------------------------------------------------ the contract's tables

SqlType = Literal["STRING", "INTEGER", "DATE", "DECIMAL(12,2)", "BOOLEAN", "DOUBLE"]
Shape = Literal["tin", "npi", "pos", "zip", "qp_status", "specialty"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an input table as the contract defines it."""

    name: str
    type: SqlType
    nullable: bool = False
    optional: bool = False
    """The column may be absent from the file (it then reads as null)."""
    shape: Shape | None = None
    non_negative: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    required: bool
    columns: tuple[Column, ...]
    unique: str | None = None
    """A column whose values must be unique (checked on small tables only)."""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_S: Final = "STRING"
TABLES: Final[Mapping[str, TableSpec]] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "claim_lines",
            required=True,
            columns=(
                Column("claim_id", _S),
                Column("line_number", "INTEGER"),
                Column("tin", _S, shape="tin"),
                Column("npi", _S, shape="npi"),
                Column("beneficiary_id", _S),
                Column("date_of_service", "DATE"),
                Column("processed_date", "DATE"),
                Column("allowed_amount", "DECIMAL(12,2)", non_negative=True),
                Column("hcpcs", _S),
                Column("place_of_service", _S, shape="pos"),
                Column("covered_professional_service", "BOOLEAN"),
                Column("patient_facing", "BOOLEAN"),
                Column("facility_ccn", _S, nullable=True, optional=True),
            ),
        ),
        TableSpec(
            "clinicians",
            required=True,
            unique="npi",
            columns=(
                Column("npi", _S, shape="npi"),
                Column("clinician_type", _S),
                Column("specialty_code", _S, shape="specialty"),
                Column("first_enrolled", "DATE"),
                Column("first_name", _S, nullable=True),
                Column("last_name", _S, nullable=True),
            ),
        ),
        TableSpec(
            "practice_locations",
            required=False,
            columns=(
                Column("tin", _S, shape="tin"),
                Column("npi", _S, nullable=True, shape="npi"),
                Column("zip", _S, shape="zip"),
                Column("rural", "BOOLEAN"),
                Column("hpsa", "BOOLEAN"),
            ),
        ),
        TableSpec(
            "apm_participation",
            required=False,
            columns=(
                Column("apm_entity_id", _S),
                Column("apm_model", _S, nullable=True),
                Column("tin", _S, shape="tin"),
                Column("npi", _S, shape="npi"),
                Column("snapshot_date", "DATE"),
                Column("mips_apm", "BOOLEAN"),
                Column("advanced_apm", "BOOLEAN"),
            ),
        ),
        TableSpec(
            "qp_status",
            required=False,
            columns=(Column("npi", _S, shape="npi"), Column("qp_status", _S, shape="qp_status")),
        ),
        TableSpec(
            "virtual_groups",
            required=False,
            columns=(Column("virtual_group_id", _S), Column("tin", _S, shape="tin")),
        ),
        TableSpec(
            "facility_scores",
            required=False,
            columns=(
                Column("ccn", _S),
                Column("hospital_name", _S, nullable=True),
                Column("vbp_score", "DOUBLE", nullable=True),
            ),
        ),
    )
}

# DuckDB's name for each contract type (STRING is VARCHAR there).
_DUCKDB_TYPE: Final = {"STRING": "VARCHAR"}

# Text formats accepted when a non-text column arrives as text (always the case in CSV). They are
# the formats DuckDB and Spark parse alike, so both engines read the same values.
_TEXT_FORMAT: Final[Mapping[str, str]] = {
    "INTEGER": r"-?[0-9]{1,10}",
    "DATE": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "DECIMAL(12,2)": r"-?[0-9]{1,10}(\.[0-9]{1,2})?",
    "BOOLEAN": r"(?i)(true|false|t|f|1|0)",
    "DOUBLE": r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?",
}
_TYPE_WORDS: Final[Mapping[str, str]] = {
    "STRING": "text",
    "INTEGER": "a whole number",
    "DATE": "a date written YYYY-MM-DD",
    "DECIMAL(12,2)": "an amount in dollars with at most 2 decimals, such as 125.40",
    "BOOLEAN": "true or false",
    "DOUBLE": "a number",
}
_SHAPES: Final[Mapping[str, tuple[str, str, str, str]]] = {
    # shape: (SQL condition on the typed value v that means "malformed", code, what, fix)
    "tin": (
        "NOT regexp_full_match({v}, '[0-9]{9}')",
        "OQ-CLAIMS-006",
        "is not a TIN of 9 digits",
        "Write the TIN as exactly 9 digits, keeping leading zeros and without a dash "
        "(store the column as text, not as a number).",
    ),
    "npi": (
        "NOT regexp_full_match({v}, '[0-9]{10}')",
        "OQ-CLAIMS-007",
        "is not an NPI of 10 digits",
        "Write the NPI as exactly 10 digits, without spaces; check it in NPPES.",
    ),
    "pos": (
        "NOT regexp_full_match({v}, '[0-9]{2}')",
        "OQ-CLAIMS-013",
        "is not a 2-digit place of service code",
        "Use the 2-digit CMS place of service code, keeping the leading zero (02, 11, 21 ...).",
    ),
    "zip": (
        "NOT regexp_full_match({v}, '[0-9]{5}([0-9]{4})?')",
        "OQ-CLAIMS-013",
        "is not a ZIP code of 5 or 9 digits",
        "Write the ZIP code as 5 digits or 9 digits (ZIP+4 without the dash).",
    ),
    "qp_status": (
        "{v} NOT IN ('Y', 'P', 'N')",
        "OQ-CLAIMS-013",
        "is not a QP status",
        "Use Y (Qualifying APM Participant), P (Partial QP) or N (neither).",
    ),
    "specialty": (
        "length({v}) <> 2",
        "OQ-CLAIMS-013",
        "is not a 2-character CMS specialty code",
        "Use the 2-character CMS provider specialty code (for example 48 for podiatry).",
    ),
}

# ------------------------------------------------------------------ what was found


@dataclass(frozen=True, slots=True)
class TableSource:
    """Where one input table is: its format, its files (sorted) and the columns they hold."""

    name: str
    format: Literal["parquet", "csv"]
    files: tuple[Path, ...]
    display: str
    """The table as named in messages, relative to the inputs directory (``claim_lines/``)."""
    columns: tuple[str, ...] = ()

    @property
    def spec(self) -> TableSpec:
        return TABLES[self.name]


@dataclass(frozen=True, slots=True)
class InputTables:
    """The validated inputs of one determination: the tables found and the policy year."""

    directory: Path
    policy: Policy
    sources: Mapping[str, TableSource] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.sources


# ------------------------------------------------------------------ policy


def resolve_policy(policy: Policy | int) -> Policy:
    """The policy for a year, or the policy given; an unsupported year is an input error."""
    if isinstance(policy, Policy):
        return policy
    try:
        return load_policy(int(policy))
    except (UnsupportedPerformanceYear, ValueError, TypeError) as exc:
        raise BatchInputErrors(
            [
                BatchInputError(
                    f"Performance year {policy} is not supported: {exc}",
                    fix="Run the determination for a supported performance year "
                    "(see `openqpp policy show`).",
                    code="OQ-CLAIMS-009",
                )
            ]
        ) from exc


def determination_period(policy: Policy) -> tuple[dt.date, dt.date]:
    """First and last day of the year's determination period (all segments)."""
    segments = policy.eligibility.determination_period.segments
    return min(s.start for s in segments), max(s.end for s in segments)


# ------------------------------------------------------------------ finding the tables


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def find_tables(inputs_dir: Path | str) -> tuple[dict[str, TableSource], list[BatchInputError]]:
    """The tables present in ``inputs_dir`` and the problems met finding them."""
    root = Path(inputs_dir)
    problems: list[BatchInputError] = []
    if not root.is_dir():
        problems.append(
            BatchInputError(
                f"The claims inputs directory {root} does not exist or is not a directory.",
                fix="Give the directory that holds claim_lines and clinicians "
                "(NAME.parquet, NAME/*.parquet or NAME.csv).",
                code="OQ-CLAIMS-010",
                file=str(root),
            )
        )
        return {}, problems

    found: dict[str, TableSource] = {}
    for name, spec in TABLES.items():
        candidates: list[TableSource] = []
        single = root / f"{name}.parquet"
        if single.is_file():
            candidates.append(TableSource(name, "parquet", (single,), single.name))
        folder = root / name
        if folder.is_dir():
            parts = tuple(sorted(folder.glob("*.parquet")))
            if parts:
                candidates.append(TableSource(name, "parquet", parts, f"{name}/"))
            else:
                problems.append(
                    BatchInputError(
                        f"The folder {name}/ holds no .parquet file.",
                        fix=f"Put the {name} table in {name}/ as one or more .parquet files, "
                        "or remove the empty folder.",
                        code="OQ-CLAIMS-010",
                        table=name,
                        file=f"{name}/",
                    )
                )
                continue
        text = root / f"{name}.csv"
        if text.is_file():
            candidates.append(TableSource(name, "csv", (text,), text.name))
        if len(candidates) > 1:
            shown = ", ".join(c.display for c in candidates)
            problems.append(
                BatchInputError(
                    f"The {name} table is given more than once ({shown}).",
                    fix=f"Keep exactly one of {shown}.",
                    code="OQ-CLAIMS-011",
                    table=name,
                    file=candidates[0].display,
                )
            )
        elif candidates:
            found[name] = candidates[0]
        elif spec.required:
            problems.append(
                BatchInputError(
                    f"The required table {name} is missing from {root}.",
                    fix=f"Add {name}.parquet, a folder {name}/ of .parquet files, or {name}.csv "
                    "with a header row (see docs/batch-contract.md).",
                    code="OQ-CLAIMS-001",
                    table=name,
                    file=str(root),
                )
            )
    return found, problems


def _read_columns(source: TableSource, root: Path) -> tuple[TableSource, list[BatchInputError]]:
    """The source with its columns filled in, and missing-column problems (per file)."""
    spec = source.spec
    problems: list[BatchInputError] = []
    per_file: list[tuple[Path, list[str]]] = []
    for path in source.files:
        label = _relative(path, root)
        try:
            if source.format == "csv":
                with path.open(newline="", encoding="utf-8-sig") as handle:
                    header = next(csv.reader(handle), [])
            else:
                header = list(pq.read_schema(path).names)
        except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
            problems.append(
                BatchInputError(
                    f"{label} cannot be read: {exc}",
                    fix=f"Write {label} again as "
                    + ("UTF-8 CSV with a header row." if source.format == "csv" else "Parquet."),
                    code="OQ-CLAIMS-010",
                    table=source.name,
                    file=label,
                )
            )
            continue
        per_file.append((path, header))
        present = set(header)
        for column in spec.columns:
            if column.name in present or column.optional:
                continue
            near = [h for h in header if h.strip().lower() == column.name]
            hint = f" (found {near[0]!r}: names are exact and lower case)" if near else ""
            problems.append(
                BatchInputError(
                    f"{label}: the required column {column.name} is missing{hint}.",
                    fix=f"Add the column {column.name} ({_TYPE_WORDS[column.type]}) to "
                    f"{label}; the {spec.name} columns are listed in docs/batch-contract.md.",
                    code="OQ-CLAIMS-002",
                    table=source.name,
                    file=label,
                    column=column.name,
                )
            )
    names: list[str] = []
    for _, header in per_file:
        names.extend(h for h in header if h not in names)
    return (
        TableSource(source.name, source.format, source.files, source.display, tuple(names)),
        problems,
    )


# ------------------------------------------------------------------ SQL shared by the engines


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_date(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def _select(columns: str, relation: str, rest: str = "") -> str:
    """``SELECT columns FROM relation rest``. Every query of this module is built here, from
    contract identifiers, :func:`quote`-d column names, :func:`sql_string`-escaped literals and
    policy dates; no text from the inputs' values ever becomes SQL."""
    return f"SELECT {columns} FROM {relation} {rest}".rstrip()  # noqa: S608


def _one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...] | None:
    """The first row of ``query`` (read to the end, so the connection is free afterwards)."""
    rows = con.execute(query).fetchall()
    return tuple(rows[0]) if rows else None


def typed_select(spec: TableSpec, present: Iterable[str], relation: str) -> str:
    """``SELECT CAST(col AS type) AS col, ... FROM relation`` for the contract's columns.

    Both engines read every input through this projection; an optional column the file lacks
    reads as a typed null, and extra columns are left out.
    """
    have = set(present)
    items = []
    for column in spec.columns:  # contract names are plain identifiers in both dialects
        source = column.name if column.name in have else "NULL"
        items.append(f"CAST({source} AS {column.type}) AS {column.name}")
    return _select(", ".join(items), relation)


def empty_select(spec: TableSpec) -> str:
    """A query with the table's typed columns and no rows (for an optional table not given)."""
    items = ", ".join(f"CAST(NULL AS {c.type}) AS {c.name}" for c in spec.columns)
    return f"SELECT {items} WHERE 1 = 0"


def duckdb_relation(source: TableSource) -> str:
    """The DuckDB table function reading ``source`` (CSV as text with the header's columns)."""
    files = "[" + ", ".join(sql_string(str(p)) for p in source.files) + "]"
    if source.format == "parquet":
        return f"read_parquet({files}, union_by_name = true)"
    columns = ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in source.columns)
    return (
        f"read_csv({files}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', columns = {{{columns}}})"
    )


# ------------------------------------------------------------------ validation


@dataclass(frozen=True, slots=True)
class _Check:
    code: str
    column: str | None
    condition: str
    """SQL condition on the checked relation that marks an offending row."""
    value: str
    """SQL expression shown as the offending value."""
    message: str
    """What is wrong; ``{value}`` stands for the offending value."""
    fix: str
    counted: str | None = None
    """A cheaper aggregate counting the offending rows, when there is one."""
    on_distinct: str | None = None
    """Check the column's distinct values (few, even in a billion lines) rather than every row;
    the first pass then counts offending values, not rows."""

    def describe(self, value: str | None) -> str:
        shown = "" if value is None else value
        if "value {value}" in self.message:
            shown = repr(shown)
        return self.message.replace("{value}", shown)


def _duckdb_type(sql_type: str) -> str:
    return _DUCKDB_TYPE.get(sql_type, sql_type)


def _checks(spec: TableSpec, raw_types: Mapping[str, str]) -> tuple[list[str], list[_Check]]:
    """Typed-column expressions (``t_<col>``) and the row checks for one table."""
    typed: list[str] = []
    checks: list[_Check] = []
    for column in spec.columns:
        if column.name not in raw_types:
            continue
        raw = quote(column.name)
        raw_type = raw_types[column.name].upper()
        target = _duckdb_type(column.type)
        if target == "VARCHAR":
            typed_expr = raw if raw_type == "VARCHAR" else f"CAST({raw} AS VARCHAR)"
        elif raw_type == target:
            typed_expr = raw
        elif raw_type == "VARCHAR":
            pattern = sql_string(_TEXT_FORMAT[column.type])
            typed_expr = (
                f"CASE WHEN regexp_full_match({raw}, {pattern}) "
                f"THEN TRY_CAST({raw} AS {target}) END"
            )
        else:
            typed_expr = f"TRY_CAST({raw} AS {target})"
        name = f"t_{column.name}"
        typed.append(f"{typed_expr} AS {name}")
        shown = f"CAST({raw} AS VARCHAR)"
        what = _TYPE_WORDS[column.type]

        if not column.nullable:
            checks.append(
                _Check(
                    "OQ-CLAIMS-004",
                    column.name,
                    f"{raw} IS NULL",
                    "NULL",
                    f"{column.name} is empty",
                    f"Give every row a value for {column.name} ({what}).",
                    counted=f"count(*) - count({raw})",  # answered from Parquet statistics
                )
            )
        if typed_expr != raw and target != "VARCHAR":
            checks.append(
                _Check(
                    "OQ-CLAIMS-003",
                    column.name,
                    f"{raw} IS NOT NULL AND {name} IS NULL",
                    shown,
                    f"{column.name} value {{value}} is not {what}",
                    f"Write {column.name} as {what}"
                    + (
                        " (text values must use exactly this format)."
                        if raw_type == "VARCHAR"
                        else "."
                    ),
                )
            )
        if column.non_negative:
            checks.append(
                _Check(
                    "OQ-CLAIMS-005",
                    column.name,
                    f"{name} < 0",
                    shown,
                    f"{column.name} is negative ({{value}})",
                    f"{column.name} is the Part B allowed amount in dollars and cannot be "
                    "negative: correct the line, or net adjustments into the original line "
                    "before loading.",
                )
            )
        if column.shape is not None:
            condition, code, words, fix = _SHAPES[column.shape]
            checks.append(
                _Check(
                    code,
                    column.name,
                    f"{name} IS NOT NULL AND " + condition.replace("{v}", name),
                    shown,
                    f"{column.name} value {{value}} {words}",
                    fix,
                    on_distinct=name,
                )
            )
    if spec.name == "claim_lines" and {"date_of_service", "processed_date"} <= set(raw_types):
        checks.append(
            _Check(
                "OQ-CLAIMS-012",
                "processed_date",
                "t_processed_date < t_date_of_service",
                "CAST(t_processed_date AS VARCHAR) || ' < ' || CAST(t_date_of_service AS VARCHAR)",
                "processed_date is before date_of_service ({value})",
                "A line cannot be processed before its date of service: check both dates.",
            )
        )
    return typed, checks


def _where(source: TableSource, file: str, row: int) -> str:
    if source.format == "csv":
        return f"data row {row} of {file} (line {row + 1} counting the header)"
    return f"row index {row} of {file}"


def _validate_rows(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    root: Path,
    policy: Policy,
) -> list[BatchInputError]:
    """One counting scan over the table for every check; then, only for the checks that
    failed, a search for the first offending row (file order, then row order)."""
    spec = source.spec
    wanted = [c.name for c in spec.columns if c.name in source.columns]
    select = ", ".join(quote(c) for c in wanted)
    if source.format == "csv":
        # A table keeps the file's row order, so rowid + 1 is the 1-based data row.
        raw_name = f"__openqpp_raw_{spec.name}"
        con.execute("SET preserve_insertion_order = true")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {raw_name} AS "
                + _select(select, duckdb_relation(source))
            )
        finally:
            con.execute("SET preserve_insertion_order = false")
        plain = f"({_select(select, raw_name)})"
        file_name = sql_string(source.display)
        numbered = f"({_select(f'{select}, rowid + 1 AS __row, {file_name} AS __file', raw_name)})"
    else:
        files = "[" + ", ".join(sql_string(str(p)) for p in source.files) + "]"
        plain = f"({_select(select, f'read_parquet({files}, union_by_name = true)')})"
        numbered_files = (
            f"read_parquet({files}, union_by_name = true, filename = true, file_row_number = true)"
        )
        located = f"{select}, file_row_number AS __row, filename AS __file"
        numbered = f"({_select(located, numbered_files)})"
    described = con.execute("DESCRIBE " + _select("*", plain)).fetchall()
    raw_types = {str(r[0]): str(r[1]) for r in described if str(r[0]) in wanted}
    typed, checks = _checks(spec, raw_types)
    raw_columns = [quote(c) for c in wanted]

    row_checks = [c for c in checks if c.on_distinct is None]
    value_checks = [c for c in checks if c.on_distinct is not None]
    counts = ["count(*) AS n"] + [
        c.counted or f"count(*) FILTER (WHERE {c.condition})" for c in row_checks
    ]
    in_period = spec.name == "claim_lines" and "date_of_service" in raw_types
    start, end = determination_period(policy)
    if in_period:
        counts.append(
            f"count(*) FILTER (WHERE t_date_of_service BETWEEN {sql_date(start)} "
            f"AND {sql_date(end)})"
        )
    projection = ", ".join([*typed, *raw_columns])
    checked = f"({_select(projection, plain)})"
    found = _one(con, _select(", ".join(counts), checked))
    assert found is not None
    total, *failures = (int(x or 0) for x in found)
    if value_checks:
        sets = ", ".join(f"({c.on_distinct})" for c in value_checks)
        bad = ", ".join(f"count(*) FILTER (WHERE {c.condition})" for c in value_checks)
        shaped = {c.on_distinct or "" for c in value_checks}
        narrow = ", ".join(t for t in typed if t.rsplit(" AS ", 1)[1] in shaped)
        columns = ", ".join(sorted(shaped))
        values = _select(columns, f"({_select(narrow, plain)})", f"GROUP BY GROUPING SETS ({sets})")
        distinct = con.execute(_select(bad, f"({values})")).fetchall()
        bad_values = [sum(int(r[i] or 0) for r in distinct) for i in range(len(value_checks))]
    else:
        bad_values = []
    if in_period:
        failures = [*failures[:-1], *bad_values, failures[-1]]
    else:
        failures = [*failures, *bad_values]
    checks = [*row_checks, *value_checks]

    def first_row(condition: str, value: str) -> tuple[str, int, str | None]:
        located = f"({_select(f'{projection}, __row, __file', numbered)})"
        hit = _one(
            con,
            _select(
                f"__file, __row, {value}",
                located,
                f"WHERE {condition} ORDER BY __file, __row LIMIT 1",
            ),
        )
        assert hit is not None
        file = source.display if source.format == "csv" else _relative(Path(hit[0]), root)
        return file, int(hit[1]), None if hit[2] is None else str(hit[2])

    def rows_where(condition: str) -> int:
        hit = _one(con, _select("count(*)", checked, f"WHERE {condition}"))
        return int(hit[0]) if hit else 0

    problems: list[BatchInputError] = []
    for check, count in zip(checks, failures, strict=False):
        if not count:
            continue
        file, row, value = first_row(check.condition, check.value)
        if check.on_distinct is not None:
            count = rows_where(check.condition)
        more = f" ({count:,} rows in all)" if count > 1 else ""
        problems.append(
            BatchInputError(
                f"{spec.name}, {_where(source, file, row)}: {check.describe(value)}{more}.",
                fix=check.fix,
                code=check.code,
                table=spec.name,
                file=file,
                column=check.column,
                row=row,
                value=value,
                count=count,
            )
        )
    if in_period and not failures[-1]:
        file, row, _ = first_row("TRUE", "NULL") if total else (source.display, 0, None)
        problems.append(
            BatchInputError(
                f"claim_lines: none of its {total:,} lines has a date_of_service in the "
                f"{policy.year} determination period ({start.isoformat()} to {end.isoformat()}).",
                fix=f"Load the claim lines of the determination period for performance year "
                f"{policy.year}, or run the determination for the year these claims belong to.",
                code="OQ-CLAIMS-008",
                table=spec.name,
                file=file,
                column="date_of_service",
                row=row if total else None,
                count=total,
            )
        )
    if spec.unique and spec.unique in raw_types and not problems:
        problems += _unique(con, source, numbered, spec.unique, root)
    if source.format == "csv":
        con.execute(f"DROP TABLE IF EXISTS __openqpp_raw_{spec.name}")
    return problems


def _unique(
    con: duckdb.DuckDBPyConnection, source: TableSource, relation: str, column: str, root: Path
) -> list[BatchInputError]:
    key = quote(column)
    found = _one(
        con,
        _select(
            f"CAST({key} AS VARCHAR), __file, list(__row ORDER BY __row)[2], count(*)",
            relation,
            f"WHERE {key} IS NOT NULL GROUP BY {key}, __file HAVING count(*) > 1 "
            "ORDER BY 3 LIMIT 1",
        ),
    )
    if found is None:
        return []
    value, file_path, row, count = found
    file = _relative(Path(file_path), root) if source.format == "parquet" else source.display
    return [
        BatchInputError(
            f"{source.name}, {_where(source, file, int(row))}: {column} {value!r} appears "
            f"{count} times (this is the second).",
            fix=f"List each {column} once in {source.name}.",
            code="OQ-CLAIMS-014",
            table=source.name,
            file=file,
            column=column,
            row=int(row),
            value=str(value),
            count=int(count),
        )
    ]


def validate_inputs(
    inputs_dir: Path | str,
    policy: Policy | int,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
    progress: Progress | None = None,
) -> InputTables:
    """Find and check every input table; raise :class:`BatchInputErrors` listing all problems.

    Checks, each reported with the file, column and first offending row: required tables and
    columns present; values of the column's type (CSV text in the formats of ``_TEXT_FORMAT``);
    required values present; no negative ``allowed_amount``; TINs of 9 digits and NPIs of 10;
    place of service, ZIP, specialty and QP status codes well formed; no line processed before
    its date of service; at least one claim line inside the year's determination period (lines
    outside it are not errors, they are not counted); NPIs unique in ``clinicians``; and a
    supported performance year.
    """
    import duckdb

    resolved = resolve_policy(policy)
    root = Path(inputs_dir)
    found, problems = find_tables(root)
    own = connection is None
    con = duckdb.connect() if connection is None else connection
    try:
        sources: dict[str, TableSource] = {}
        for name, source in found.items():
            if progress is not None:
                progress(f"validate {name}")
            with_columns, missing = _read_columns(source, root)
            sources[name] = with_columns
            problems += missing
            if missing:
                continue
            try:
                problems += _validate_rows(con, with_columns, root, resolved)
            except duckdb.Error as exc:  # unreadable: not Parquet, ragged CSV, bad encoding
                problems.append(
                    BatchInputError(
                        f"{source.display} cannot be read: {_first_line(exc)}",
                        fix=f"Write {source.display} again as "
                        + (
                            "UTF-8 CSV with a header row and the same number of fields on every "
                            "line."
                            if source.format == "csv"
                            else "valid Parquet."
                        ),
                        code="OQ-CLAIMS-010",
                        table=name,
                        file=source.display,
                    )
                )
    finally:
        if own:
            con.close()
    if problems:
        raise BatchInputErrors(problems)
    return InputTables(directory=root, policy=resolved, sources=sources)


def read_table(
    tables: InputTables, name: str, *, connection: duckdb.DuckDBPyConnection | None = None
) -> pa.Table:
    """A validated input table with exactly the contract's columns and types, as Arrow.

    For the small tables (clinicians, QP status, locations, APM participation, virtual groups,
    facility scores); an optional table that was not given reads as an empty table.
    """
    import duckdb

    spec = TABLES[name]
    source = tables.sources.get(name)
    query = (
        empty_select(spec)
        if source is None
        else typed_select(spec, source.columns, duckdb_relation(source))
    )
    con = duckdb.connect() if connection is None else connection
    try:
        result: pa.Table = con.sql(query).to_arrow_table()
    finally:
        if connection is None:
            con.close()
    return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__: Final = [
    "TABLES",
    "Column",
    "InputTables",
    "TableSource",
    "TableSpec",
    "determination_period",
    "duckdb_relation",
    "empty_select",
    "find_tables",
    "read_table",
    "resolve_policy",
    "typed_select",
    "validate_inputs",
]
