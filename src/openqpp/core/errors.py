"""Errors a user can meet: a stable code, what is wrong, how to fix it, and where."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: a JSONPath for JSON, line/column/XPath for XML, or a field name."""

    path: str | None = None
    line: int | None = None
    column: int | None = None
    xpath: str | None = None
    file: str | None = None

    def describe(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            parts.append(self.path)
        if self.xpath:
            parts.append(self.xpath)
        return ", ".join(parts)


class OpenQppError(Exception):
    """Base class for every error openqpp shows to a person or an API client."""

    code: str = "OQ-000"

    def __init__(
        self,
        message: str,
        *,
        fix: str,
        code: str | None = None,
        location: Location | None = None,
    ) -> None:
        self.message = message
        self.fix = fix
        if code is not None:
            self.code = code
        self.location = location
        super().__init__(f"[{self.code}] {message} {fix}".strip())

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message, "fix": self.fix}
        if self.location is not None:
            out["location"] = {k: v for k, v in vars_of(self.location).items() if v is not None}
        return out


def vars_of(location: Location) -> dict[str, object]:
    return {
        "path": location.path,
        "line": location.line,
        "column": location.column,
        "xpath": location.xpath,
        "file": location.file,
    }


class TryAgainLater(OpenQppError):
    """A refusal that passes: the answer carries ``Retry-After`` (seconds) for clients and
    proxies (503 while the database is unavailable or this instance is not ready)."""

    retry_after_seconds: int = 5

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class InvalidValue(OpenQppError, ValueError):
    """A value (an identifier, an amount, a year) is not well formed."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found while validating input; validators accumulate these."""

    code: str
    message: str
    severity: str = "error"
    location: Location = field(default_factory=Location)
    #: The measure (or activity) the problem is about, when there is one.
    measure_id: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, object]:
        """The finding as JSON: code, severity, measureId, message and the location's path,
        line, column and XPath (those it has)."""
        where = self.location
        location = {
            key: value
            for key, value in (
                ("path", where.path),
                ("line", where.line),
                ("column", where.column),
                ("xpath", where.xpath),
            )
            if value is not None
        }
        return {
            "code": self.code,
            "severity": self.severity,
            "measureId": self.measure_id,
            "message": self.message,
            "location": location,
        }
