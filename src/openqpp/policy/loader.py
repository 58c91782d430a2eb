"""Resolve the parameter files for one performance year into a frozen, typed :class:`Policy`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from openqpp.policy.catalogue import (
    PARAMETERS_DIR,
    SUPPORTED_YEARS,
    ParameterFile,
    PolicyFileError,
    read_catalogue,
)
from openqpp.policy.model import Elections, Eligibility, PolicyValues, Scoring


class UnsupportedPerformanceYear(LookupError):
    """No policy exists for the year asked for."""

    code = "OQ-POLICY-002"

    def __init__(self, year: object) -> None:
        self.year = year
        super().__init__(
            f"Performance year {year} is not supported: openqpp has policy for "
            f"{SUPPORTED_YEARS[0]}-{SUPPORTED_YEARS[-1]}. Choose one of those years, or add the "
            f"year to every file under policy/parameters with its references."
        )


@dataclass(frozen=True, slots=True)
class ResolvedParameter:
    """One parameter's value for one year, with where it comes from."""

    path: str
    description: str
    unit: str
    comparison: str | None
    value: Any
    reference: str
    status: str
    note: str | None
    file: str

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True, slots=True)
class Policy:
    """A performance year's rules: typed values plus each value's reference and status."""

    year: int
    values: PolicyValues
    parameters: Mapping[str, ResolvedParameter]

    @property
    def eligibility(self) -> Eligibility:
        return self.values.eligibility

    @property
    def elections(self) -> Elections:
        return self.values.elections

    @property
    def scoring(self) -> Scoring:
        return self.values.scoring

    @property
    def unverified(self) -> tuple[str, ...]:
        """Paths of the parameters whose value for this year could not be verified."""
        return tuple(p.path for p in self.parameters.values() if not p.verified)

    def reference(self, path: str) -> str:
        return self.parameters[path].reference

    def is_verified(self, path_prefix: str) -> bool:
        """Whether every parameter at or under ``path_prefix`` is verified for this year."""
        return all(
            p.verified
            for p in self.parameters.values()
            if p.path == path_prefix or p.path.startswith(path_prefix + ".")
        )


def _leaf(parameter: ParameterFile, year: int) -> Any:
    value = parameter.values[year].value
    if parameter.comparison is not None and value is not None:
        return {"value": value, "comparison": parameter.comparison}
    return value


def _nest(parameters: tuple[ParameterFile, ...], year: int) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for parameter in parameters:
        *parents, name = parameter.path.split(".")
        node = tree
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise PolicyFileError(
                    f"{parameter.file}: {parameter.path} sits under a parameter, not a folder."
                )
            node = child
        node[name] = _leaf(parameter, year)
    return tree


def _explain(exc: ValidationError, catalogue: tuple[ParameterFile, ...], year: int) -> str:
    lines = [f"The policy parameters for {year} do not fit the Policy model:"]
    by_path = {p.path: p for p in catalogue}
    for error in exc.errors():
        dotted = ".".join(str(x) for x in error["loc"])
        owner = next(
            (by_path[k] for k in sorted(by_path, key=len, reverse=True) if dotted.startswith(k)),
            None,
        )
        where = f" (file {owner.relative_file})" if owner else " (no file provides it)"
        lines.append(f"  - {dotted}: {error['msg']}{where}")
    return "\n".join(lines)


def load_policy(year: int, *, root: Path = PARAMETERS_DIR) -> Policy:
    """The frozen, typed policy for ``year``; raises :class:`UnsupportedPerformanceYear`."""
    if year not in SUPPORTED_YEARS:
        raise UnsupportedPerformanceYear(year)
    return _load(int(year), root)


@lru_cache(maxsize=16)
def _load(year: int, root: Path) -> Policy:
    catalogue = read_catalogue(root)
    try:
        values = PolicyValues.model_validate(_nest(catalogue, year))
    except ValidationError as exc:
        raise PolicyFileError(_explain(exc, catalogue, year)) from exc
    resolved = {
        p.path: ResolvedParameter(
            path=p.path,
            description=p.description,
            unit=p.unit,
            comparison=p.comparison,
            value=p.values[year].value,
            reference=p.values[year].reference,
            status=p.values[year].status,
            note=p.values[year].note,
            file=p.relative_file,
        )
        for p in catalogue
    }
    return Policy(year=year, values=values, parameters=MappingProxyType(resolved))
