"""Reading the policy parameter files: `parameters/<domain>/[<group>/]<name>.yaml`.

A file holds one parameter: a description, a unit, an optional comparison, and its values keyed by
performance year, each with the value and a reference (final rule, CFR section or CMS page).
Values that could not be verified carry ``status: unverified``.

The reader is strict: tabs, duplicate keys, unknown keys, a missing reference or a missing
supported year are errors that name the file and the key.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

PARAMETERS_DIR: Final = Path(__file__).parent / "parameters"

SUPPORTED_YEARS: Final = tuple(range(2019, 2026))
"""Performance years openqpp has policy for (DESIGN.md: 2019 through 2025)."""

FILE_KEYS: Final = frozenset({"description", "unit", "comparison", "notes", "values"})
REQUIRED_FILE_KEYS: Final = frozenset({"description", "unit", "values"})
VALUE_KEYS: Final = frozenset({"value", "reference", "status", "note"})
STATUSES: Final = frozenset({"verified", "unverified"})
COMPARISONS: Final = frozenset(
    {"greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"}
)


class PolicyFileError(ValueError):
    """A parameter file breaks the format; the message names the file and the key."""

    code = "OQ-POLICY-001"


@dataclass(frozen=True, slots=True)
class YearValue:
    value: Any
    reference: str
    status: str = "verified"
    note: str | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True, slots=True)
class ParameterFile:
    """One parameter as written in its file, all years."""

    path: str
    """Dotted parameter path, e.g. ``eligibility.low_volume_threshold.allowed_charges``."""
    file: Path
    description: str
    unit: str
    comparison: str | None
    notes: str | None
    values: Mapping[int, YearValue]

    @property
    def relative_file(self) -> str:
        try:
            return str(self.file.relative_to(PARAMETERS_DIR))
        except ValueError:
            return str(self.file)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise PolicyFileError(
                f"{mark.name}: duplicate key {key!r} at line {mark.line + 1}; "
                "each key may appear once. Remove or merge the duplicate."
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _fail(file: Path, message: str) -> PolicyFileError:
    return PolicyFileError(f"{file}: {message}")


def parse_parameter_file(file: Path, *, root: Path = PARAMETERS_DIR) -> ParameterFile:
    text = file.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if "\t" in line:
            raise _fail(file, f"line {number} contains a tab; indent with spaces.")
    stream = io.StringIO(text)
    stream.name = str(file)  # so YAML marks (duplicate keys, syntax errors) name the file
    try:
        raw = yaml.load(stream, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _fail(file, f"is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise _fail(file, "must be a mapping with description, unit and values.")
    unknown = set(raw) - FILE_KEYS
    if unknown:
        raise _fail(file, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(FILE_KEYS)}.")
    missing = REQUIRED_FILE_KEYS - set(raw)
    if missing:
        raise _fail(file, f"missing key(s) {sorted(missing)}.")
    comparison = raw.get("comparison")
    if comparison is not None and comparison not in COMPARISONS:
        raise _fail(file, f"comparison {comparison!r} is not one of {sorted(COMPARISONS)}.")
    values_raw = raw["values"]
    if not isinstance(values_raw, dict):
        raise _fail(file, "values must map each performance year to {value, reference}.")
    values: dict[int, YearValue] = {}
    for year, entry in values_raw.items():
        if not isinstance(year, int):
            raise _fail(file, f"values key {year!r} is not a performance year.")
        if not isinstance(entry, dict):
            raise _fail(file, f"{year}: must be a mapping with value and reference.")
        unknown = set(entry) - VALUE_KEYS
        if unknown:
            raise _fail(
                file, f"{year}: unknown key(s) {sorted(unknown)}; allowed: {sorted(VALUE_KEYS)}."
            )
        if "value" not in entry:
            raise _fail(file, f"{year}: missing value.")
        reference = entry.get("reference")
        if not isinstance(reference, str) or not reference.strip():
            raise _fail(file, f"{year}: missing reference; cite the final rule or CMS page.")
        status = entry.get("status", "verified")
        if status not in STATUSES:
            raise _fail(file, f"{year}: status {status!r} is not one of {sorted(STATUSES)}.")
        values[year] = YearValue(
            value=entry["value"], reference=reference.strip(), status=status, note=entry.get("note")
        )
    missing_years = [y for y in SUPPORTED_YEARS if y not in values]
    if missing_years:
        raise _fail(
            file,
            f"missing performance year(s) {missing_years}; every supported year "
            f"{SUPPORTED_YEARS[0]}-{SUPPORTED_YEARS[-1]} must be listed.",
        )
    relative = file.relative_to(root).with_suffix("")
    return ParameterFile(
        path=".".join(relative.parts),
        file=file,
        description=str(raw["description"]).strip(),
        unit=str(raw["unit"]),
        comparison=comparison,
        notes=raw.get("notes"),
        values=values,
    )


def iter_parameter_files(root: Path = PARAMETERS_DIR) -> Iterator[Path]:
    yield from sorted(root.rglob("*.yaml"))


@lru_cache(maxsize=4)
def read_catalogue(root: Path = PARAMETERS_DIR) -> tuple[ParameterFile, ...]:
    """Every parameter file under ``root``, parsed and checked."""
    return tuple(parse_parameter_file(f, root=root) for f in iter_parameter_files(root))
