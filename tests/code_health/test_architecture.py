"""Architecture rules from DESIGN.md, checked on the source tree."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "openqpp"
RULE_PACKAGES = ["core", "services", "web", "batch", "intake", "cli"]


def test_import_contracts_are_kept() -> None:
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(SRC.parents[1])
    try:
        assert lint_imports(no_cache=True) == 0
    finally:
        os.chdir(cwd)


ALLOW_MARK = "# year-literal:"


def _year_literals(path: Path) -> list[tuple[int, int]]:
    """Integer constants that look like performance years, except lines marked
    ``# year-literal: <why this is not a rule>``."""
    text = path.read_text(encoding="utf-8")
    allowed = {n for n, line in enumerate(text.splitlines(), start=1) if ALLOW_MARK in line}
    tree = ast.parse(text)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and 2017 <= node.value <= 2035
            and node.lineno not in allowed
        ):
            found.append((node.lineno, node.value))
    return found


@pytest.mark.parametrize("package", RULE_PACKAGES)
def test_no_performance_year_literals_outside_policy(package: str) -> None:
    """Rules that change by year read policy; a year written in code is a rule in disguise."""
    offenders = {
        str(path.relative_to(SRC)): hits
        for path in sorted((SRC / package).rglob("*.py"))
        if (hits := _year_literals(path))
    }
    assert not offenders, f"year literals found (move them to policy parameters): {offenders}"


def test_policy_years_are_declared_once() -> None:
    """The supported range lives in one place, the policy catalogue."""
    hits = {
        str(p.relative_to(SRC)): _year_literals(p)
        for p in sorted((SRC / "policy").rglob("*.py"))
        if _year_literals(p)
    }
    assert set(hits) <= {"policy/catalogue.py"}, hits
