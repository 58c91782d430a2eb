"""Fixture roots for the measures loader: tiny project-authored files in the upstream layout.

root-a (package.json): 2019 (deciles, PI exclusion as a string, IA weights), 2024 (measures
only) and 2025 (percentiles, eCQM UUIDs, PI exclusion as a list, clusters, MVPs, exclusion
reasons, cost national averages).
root-b (SOURCE.md): 2022 (only here), 2025 (shadowed by root-a) and a benchmarks/2024.json that
must not be used, because root-a provides 2024.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from openqpp.measures import MeasuresCatalogue

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "measures-data"


@pytest.fixture
def root_a() -> Path:
    return FIXTURES / "root-a"


@pytest.fixture
def root_b() -> Path:
    return FIXTURES / "root-b"


@pytest.fixture
def catalogue(root_a: Path, root_b: Path) -> MeasuresCatalogue:
    return MeasuresCatalogue([root_a, root_b])


@pytest.fixture
def writable_root(tmp_path: Path, root_a: Path) -> Path:
    """A copy of root-a that a test may damage."""
    target = tmp_path / "root"
    shutil.copytree(root_a, target)
    return target
