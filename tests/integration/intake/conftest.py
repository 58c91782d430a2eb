"""Real data for the intake tests: the shared QRDA III reference files and measures data.

Roots: `$OPENQPP_MEASURES_DATA`, `<repo>/.data/qpp-measures-data` (PY2017-2022, npm pack) and
`<repo>/../shared/data/qpp-measures-data` (PY2023-2026). The reference files live in
`<repo>/../shared/reference/qrda3`. When something is missing the test fails if the CI
environment variable is set and is skipped otherwise, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.reference import QRDA3_REFERENCE as REFERENCE
from tests.support.reference import REPO, missing

from openqpp.measures import (
    ENV_VAR,
    MeasuresCatalogue,
    MeasuresYear,
    MeasuresYearUnavailable,
    load_year,
    roots_from_path_list,
)


def measures_roots() -> list[Path]:
    roots = list(roots_from_path_list(os.environ.get(ENV_VAR)))
    roots.append(REPO / ".data" / "qpp-measures-data")
    roots.append((REPO / ".." / "shared" / "data" / "qpp-measures-data").resolve())
    return roots


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        missing(f"the QRDA III reference files in {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def measures_catalogue() -> MeasuresCatalogue:
    return MeasuresCatalogue(measures_roots())


@pytest.fixture(scope="session")
def measures_year(measures_catalogue: MeasuresCatalogue) -> Callable[[int], MeasuresYear]:
    def get(year: int) -> MeasuresYear:
        try:
            return measures_catalogue.year(year)
        except MeasuresYearUnavailable as exc:
            missing(f"the measures data for {year}: {exc}")
            raise

    return get


def _single_file_year(path: Path, root: Path) -> MeasuresYear:
    """A year read from one measures-data.json, as the reference converter reads its one file."""
    target = root / "measures" / "2025" / "measures-data.json"  # year-literal: fixture layout
    target.parent.mkdir(parents=True)
    target.symlink_to(path)
    return load_year(root, 2025)  # year-literal: the reference converter's only year


@pytest.fixture(scope="session")
def reference_measures(
    reference_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> MeasuresYear:
    """The PY2025 measures data the reference converter was run with (INDEX.md)."""
    path = reference_dir / "measures" / "measures-data-2025.json"
    if not path.is_file():
        missing(f"{path}")
    return _single_file_year(path, tmp_path_factory.mktemp("reference-measures"))


@pytest.fixture(scope="session")
def static_measures(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> MeasuresYear:
    """The converter repository's unit-test measures file (PY2017-2019 GUIDs)."""
    path = reference_dir / "measures" / "measure-data-static.json"
    if not path.is_file():
        missing(f"{path}")
    return _single_file_year(path, tmp_path_factory.mktemp("static-measures"))
