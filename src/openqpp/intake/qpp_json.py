"""QPP JSON intake: bytes -> canonical `Submission`, with every problem found.

Three stages, each reporting everything it finds before the next one runs:

1. reading the bytes safely: a size limit, UTF-8 only, well-formed JSON, no duplicate keys,
   no NaN/Infinity, a nesting limit, numbers in range (codes `OQ-JSON-00x`, with line and
   column or JSONPath);
2. the JSON Schema `schemas/qpp-submission.schema.json` (Draft 2020-12; `OQ-JSON-010`);
3. the submission rules of `openqpp.core.submissions.validation` for the performance year's
   measures data and policy (`OQ-SUB-xxx`).

Every finding's location carries the JSONPath of the offending value (`$.measurementSets[0]
.measurements[1].value.performanceMet`) and the file name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.validators import extend

from openqpp.core.errors import Finding, Location
from openqpp.core.submissions import Submission, SubmissionShapeError, validate_submission
from openqpp.measures import MeasuresYear
from openqpp.policy import Policy

SCHEMA_FILE: Final = Path(__file__).parent / "schemas" / "qpp-submission.schema.json"


@dataclass(frozen=True, slots=True)
class JsonLimits:
    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = 32
    max_integer_digits: int = 15
    """Numbers of 10**15 or more are refused (no QPP count, rate or year comes near it):
    arithmetic on 1e999999999 would take the process hours."""
    max_digits: int = 34
    """Significant digits a number may have (Decimal128's precision)."""


@dataclass(frozen=True)
class QppJsonResult:
    source: str
    submission: Submission | None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.submission is not None and not any(f.is_error for f in self.findings)


# --------------------------------------------------------------------------- reading


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in obj:
            duplicates.append(key)
        obj[key] = value
    if duplicates:
        obj.duplicates = tuple(duplicates)
    return obj


def _parse_int(text: str) -> int | Decimal:
    # Decimal keeps a very long integer as digits (int() of thousands of digits is refused by
    # Python and slow); the range check below reports it.
    return int(text) if len(text) <= 40 else Decimal(text)


def _out_of_range(value: Any, limits: JsonLimits) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return False
    if isinstance(value, Decimal):
        if not value.is_finite():
            return False
        return (
            len(value.as_tuple().digits) > limits.max_digits
            or value.adjusted() >= limits.max_integer_digits
            or (bool(value) and value.adjusted() < -limits.max_digits)
        )
    return bool(abs(value) >= 10**limits.max_integer_digits)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _member(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def _walk(document: Any) -> Iterator[tuple[str, Any, int]]:
    """Every value with its JSONPath and depth (iteratively: no recursion limit)."""
    stack: list[tuple[str, Any, int]] = [("$", document, 1)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if isinstance(value, dict):
            for key, child in reversed(list(value.items())):
                stack.append((_member(path, key), child, depth + 1))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{index}]", value[index], depth + 1))


def _finding(code: str, message: str, source: str, **where: Any) -> Finding:
    return Finding(code=code, message=message, location=Location(file=source, **where))


def parse_json(
    data: bytes, *, source: str = "<upload>", limits: JsonLimits | None = None
) -> tuple[Any, list[Finding]]:
    """The parsed document (numbers exact: `int` or `Decimal`) and the reading problems."""
    limits = limits or JsonLimits()
    if len(data) > limits.max_bytes:
        return None, [
            _finding(
                "OQ-JSON-001",
                f"The file is {len(data):,} bytes; the limit is {limits.max_bytes:,}. Send one "
                "entity's submission per file, or ask the operator to raise the limit.",
                source,
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            _finding(
                "OQ-JSON-002",
                f"The file is not UTF-8 text (byte {exc.start} cannot be decoded). Save it as "
                "UTF-8.",
                source,
                line=line,
                column=column,
            )
        ]
    text = text.removeprefix("\ufeff")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_pairs,
            parse_float=Decimal,
            parse_int=_parse_int,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        return None, [
            _finding(
                "OQ-JSON-003",
                f"The file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}). "
                "Fix the syntax there; a JSON validator shows the exact spot.",
                source,
                line=exc.lineno,
                column=exc.colno,
            )
        ]
    except ValueError as exc:
        return None, [
            _finding(
                "OQ-JSON-006",
                f"The file uses {str(exc).split(' ')[0]}, which JSON does not allow. Write a "
                "number (or null) instead.",
                source,
            )
        ]
    except RecursionError:
        return None, [_too_deep(limits, source, "$")]
    findings: list[Finding] = []
    for path, value, depth in _walk(document):
        if depth > limits.max_depth:
            return None, [_too_deep(limits, source, path)]
        if _out_of_range(value, limits):
            findings.append(
                _finding(
                    "OQ-JSON-007",
                    f"The number at {path} is too large, too small or too precise (at most "
                    f"{limits.max_digits} digits, below 10^{limits.max_integer_digits}). Check the "
                    "value; no QPP measurement comes near it.",
                    source,
                    path=path,
                )
            )
        if isinstance(value, _Object) and value.duplicates:
            for key in value.duplicates:
                findings.append(
                    _finding(
                        "OQ-JSON-004",
                        f"Key {key!r} appears more than once in the same object; only one value "
                        "can count. Remove the repeated key.",
                        source,
                        path=_member(path, key),
                    )
                )
    return (None if findings else document), findings


def _too_deep(limits: JsonLimits, source: str, path: str) -> Finding:
    return _finding(
        "OQ-JSON-005",
        f"Values are nested more than {limits.max_depth} levels deep; a QPP submission nests "
        "about 8. Check that the file is a QPP submission.",
        source,
        path=path,
    )


# --------------------------------------------------------------------------- schema


def _is_integer(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, Decimal):  # no int(): 1e999999999 would take hours
        return instance.is_finite() and instance == instance.to_integral_value()
    if isinstance(instance, float):
        return instance.is_integer()
    return False


def _is_number(checker: Any, instance: Any) -> bool:
    if isinstance(instance, Decimal):
        return instance.is_finite()
    return isinstance(instance, int | float) and not isinstance(instance, bool)


@lru_cache(maxsize=1)
def schema_validator() -> Any:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    checker = Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    )
    validator_class = extend(Draft202012Validator, type_checker=checker)
    return validator_class(schema)


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _member(path, str(part))
    return path


_TYPE_WORDS: Final = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string in quotes",
    "boolean": "true or false",
    "object": "an object {...}",
    "array": "an array [...]",
    "null": "null",
}


def _explain(error: ValidationError) -> str:
    keyword = error.validator
    path = _json_path(error.absolute_path)
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{path} needs `{missing}`. Add it; the QPP submission format requires it here."
    if keyword == "additionalProperties":
        return (
            f"{path}: {error.message}. The QPP format has no such field here; remove it or "
            "check its spelling (names are case-sensitive)."
        )
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{path} is {error.instance!r}; use one of: {allowed}."
    if keyword == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        words = " or ".join(_TYPE_WORDS.get(n, n) for n in names if n != "null")
        return f"{path} is {json.dumps(error.instance, default=str)}; write {words}."
    if keyword == "pattern":
        return f"{path} is {error.instance!r}; write the date as YYYY-MM-DD."
    if keyword in ("minItems", "minLength"):
        return f"{path} is empty; it needs at least one entry."
    return f"{path}: {error.message}."


def schema_findings(document: Any, *, source: str = "<upload>") -> list[Finding]:
    """Every JSON Schema violation, in document order of its location."""
    errors = sorted(
        schema_validator().iter_errors(document),
        key=lambda e: (_json_path(e.absolute_path), str(e.validator)),
    )
    return [
        Finding(
            code="OQ-JSON-010",
            message=_explain(error),
            location=Location(path=_json_path(error.absolute_path), file=source),
        )
        for error in errors
    ]


# --------------------------------------------------------------------------- the whole read


def read(
    data: bytes,
    *,
    source: str,
    measures_for: Callable[[int], MeasuresYear | None],
    policy_for: Callable[[int], Policy | None],
    limits: JsonLimits | None = None,
) -> QppJsonResult:
    """Read, check and validate one QPP JSON file."""
    document, findings = parse_json(data, source=source, limits=limits)
    if findings:
        return QppJsonResult(source=source, submission=None, findings=tuple(findings))
    problems = schema_findings(document, source=source)
    if problems:
        return QppJsonResult(source=source, submission=None, findings=tuple(problems))
    try:
        submission = Submission.from_qpp_json(document)
    except SubmissionShapeError as exc:
        return QppJsonResult(
            source=source,
            submission=None,
            findings=(
                Finding(
                    code=exc.code,
                    message=f"{exc.message} {exc.fix}",
                    location=Location(path=exc.path, file=source),
                ),
            ),
        )
    year = submission.performance_year
    report = validate_submission(
        submission,
        measures=measures_for(year),
        policy=policy_for(year),
        locate=lambda path: Location(path=path, file=source),
    )
    return QppJsonResult(source=source, submission=submission, findings=report.findings)
