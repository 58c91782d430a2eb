"""Errors of the measures data loader: a stable code, what is wrong, how to fix it, and where.

The measures package is self-contained (stdlib, pydantic, PyYAML only), so these classes do not
derive from `openqpp.core.errors`; they carry the same attributes (`code`, `message`, `fix`,
`as_dict()`) so outer layers can render them the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Environment variable holding extra data roots (an `os.pathsep`-separated path list).
ENV_VAR = "OPENQPP_MEASURES_DATA"


class MeasuresError(Exception):
    """Base class for every error raised by `openqpp.measures`."""

    code: str = "OQ-MEASURES-000"

    def __init__(self, message: str, *, fix: str) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"[{self.code}] {message} {fix}".strip())

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


class MeasuresYearUnavailable(MeasuresError, LookupError):
    """No configured data root provides `measures/<year>/measures-data.json`."""

    code = "OQ-MEASURES-001"

    def __init__(self, year: int, roots: Sequence[Path], *, available: Iterable[int] = ()) -> None:
        self.year = year
        self.roots = tuple(roots)
        self.available = tuple(sorted(available))
        relative = Path("measures") / str(year) / "measures-data.json"
        if self.roots:
            searched = "; ".join(_describe_root(root, relative) for root in self.roots)
            where = f"Searched these data roots, in order: {searched}."
        else:
            where = "No data roots are configured."
        have = (
            "Years available: " + ", ".join(str(y) for y in self.available) + "."
            if self.available
            else "No root provides any year."
        )
        message = f"Measures data for performance year {year} is not available. {where} {have}"
        fix = (
            f"To add the year, set {ENV_VAR} to a path list (separated by {os.pathsep!r}) of "
            "directories in the qpp-measures-data layout (each holding "
            f"{relative.as_posix()}), or run `openqpp data install`."
        )
        super().__init__(message, fix=fix)

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out["year"] = self.year
        out["roots"] = [str(root) for root in self.roots]
        return out


class MeasuresDataError(MeasuresError, ValueError):
    """A data file is not valid JSON, has the wrong shape, or misses required fields."""

    code = "OQ-MEASURES-002"

    def __init__(
        self,
        file: Path,
        problem: str,
        *,
        record: str | None = None,
        path: str | None = None,
    ) -> None:
        self.file = file
        self.record = record
        self.path = path
        self.problem = problem
        where = f"{file}" + (f", {record}" if record else "")
        message = f"Measures data file is not valid: {where}: {problem}"
        fix = (
            "Replace the file with an unmodified copy from CMS's qpp-measures-data "
            "(`openqpp data install`, or the upstream repository), or remove its root from "
            f"{ENV_VAR}."
        )
        super().__init__(message, fix=fix)

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        location: dict[str, object] = {"file": str(self.file)}
        if self.path is not None:
            location["path"] = self.path
        out["location"] = location
        return out


def _describe_root(root: Path, relative: Path) -> str:
    if not root.exists():
        return f"{root} (does not exist)"
    if not root.is_dir():
        return f"{root} (is not a directory)"
    return f"{root} (has no {relative.as_posix()})"
