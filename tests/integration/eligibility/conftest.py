"""A determination run of the guides' demo practices, loaded through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openqpp.batch.demo import write_demo_claims
from openqpp.cli import app
from openqpp.policy import load_policy
from openqpp.services import database


@pytest.fixture
def demo_claims(tmp_path: Path) -> Path:
    return write_demo_claims(tmp_path / "claims-2019", load_policy(2019))


@pytest.fixture
def loaded_run(database_url: str, demo_claims: Path, tmp_path: Path) -> str:
    """``database_url`` migrated and holding the 2019 demo determination (run 1)."""
    database.upgrade(database_url)
    result = CliRunner().invoke(
        app,
        [
            "eligibility",
            "determine",
            "--claims",
            str(demo_claims),
            "--year",
            "2019",
            "--out",
            str(tmp_path / "results.parquet"),
        ],
        env={"OPENQPP_DATABASE_URL": database_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return database_url
