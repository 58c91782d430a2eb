"""Reading the resolved policy for people: one year's parameters, and what changed between two."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openqpp.policy import ResolvedParameter, load_policy


@dataclass(frozen=True, slots=True)
class PolicyRow:
    path: str
    value: str
    unit: str
    status: str
    reference: str
    note: str | None


@dataclass(frozen=True, slots=True)
class PolicyDiffRow:
    path: str
    unit: str
    value_a: str
    value_b: str
    reference_a: str
    reference_b: str
    status_a: str
    status_b: str


def format_value(value: Any, unit: str, comparison: str | None = None) -> str:
    """A parameter value in plain words, e.g. ``> $90,000`` or ``75%``."""
    symbols = {
        "greater_than": "> ",
        "greater_than_or_equal": ">= ",
        "less_than": "< ",
        "less_than_or_equal": "<= ",
    }
    prefix = symbols.get(comparison or "", "")
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        if unit.startswith("currency"):
            return f"{prefix}${Decimal(str(value)):,}"
        if unit == "share":
            return f"{prefix}{Decimal(str(value)) * 100:g}%"
        return f"{prefix}{value}"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, dict) and "weights" in v for v in value):
            return "\n".join(_redistribution_row(v) for v in value)
        if all(isinstance(v, dict) for v in value):
            return "\n".join(format_value(v, unit) for v in value)
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v, '')}" for k, v in value.items())
    return str(value)


def _redistribution_row(row: dict[str, Any]) -> str:
    """One reweighting row, e.g. ``no cost + pi (small practice): Q50 C0 IA50 PI0``."""
    not_scored = row.get("not_scored") or []
    missing = ("no " + " + ".join(not_scored)) if not_scored else "all categories scored"
    small = row.get("small_practice")
    size = "" if small is None else (" (small practice)" if small else " (not small)")
    w = row["weights"]
    flag = " [unverified]" if row.get("status") == "unverified" else ""
    return f"{missing}{size}: Q{w['quality']} C{w['cost']} IA{w['ia']} PI{w['pi']}{flag}"


def _row_value(p: ResolvedParameter) -> str:
    return format_value(p.value, p.unit, p.comparison)


def show(year: int) -> list[PolicyRow]:
    policy = load_policy(year)
    return [
        PolicyRow(
            path=p.path,
            value=_row_value(p),
            unit=p.unit,
            status=p.status,
            reference=p.reference,
            note=p.note,
        )
        for p in sorted(policy.parameters.values(), key=lambda p: p.path)
    ]


def diff(year_a: int, year_b: int) -> list[PolicyDiffRow]:
    """Parameters whose value differs between the two years."""
    a, b = load_policy(year_a), load_policy(year_b)
    rows = []
    for path in sorted(a.parameters):
        pa, pb = a.parameters[path], b.parameters[path]
        if pa.value == pb.value:
            continue
        rows.append(
            PolicyDiffRow(
                path=path,
                unit=pa.unit,
                value_a=_row_value(pa),
                value_b=_row_value(pb),
                reference_a=pa.reference,
                reference_b=pb.reference,
                status_a=pa.status,
                status_b=pb.status,
            )
        )
    return rows


def unverified(year: int) -> tuple[str, ...]:
    return load_policy(year).unverified
