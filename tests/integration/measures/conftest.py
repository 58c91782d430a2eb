"""Data roots for the integration tests on CMS's real measures data pack.

Roots, in search order: `$OPENQPP_MEASURES_DATA` (os.pathsep-separated), then
`<repo>/.data/qpp-measures-data` (`openqpp data install`, PY2017-2022), then
`<repo>/../shared/data/qpp-measures-data` (PY2023-2026; CI runs with shared/ beside the clone).

A test that needs a year no root provides fails when the CI environment variable is set and
is skipped otherwise, with the loader's own message (every root searched, how to add one).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from openqpp.measures import (
    ENV_VAR,
    MeasuresCatalogue,
    MeasuresYear,
    MeasuresYearUnavailable,
    roots_from_path_list,
)

REPO = Path(__file__).resolve().parents[3]


def measures_roots() -> list[Path]:
    roots = list(roots_from_path_list(os.environ.get(ENV_VAR)))
    roots.append(REPO / ".data" / "qpp-measures-data")
    roots.append((REPO / ".." / "shared" / "data" / "qpp-measures-data").resolve())
    return roots


@pytest.fixture(scope="session")
def measures_catalogue() -> MeasuresCatalogue:
    return MeasuresCatalogue(measures_roots())


@pytest.fixture(scope="session")
def measures_year(measures_catalogue: MeasuresCatalogue) -> Callable[[int], MeasuresYear]:
    """`measures_year(2019)`: the loaded year, or fail (CI) / skip (elsewhere) if absent."""

    def get(year: int) -> MeasuresYear:
        try:
            return measures_catalogue.year(year)
        except MeasuresYearUnavailable as exc:
            problem = str(exc)
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the measures data for {year}: {problem}", pytrace=False)
        pytest.skip(f"measures data for {year} is not installed here: {problem}")

    return get
