"""The command line as a user runs it (Typer's runner, real services underneath)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from openqpp import __version__
from openqpp.cli import app

runner = CliRunner()


def test_version_is_printed() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"openqpp {__version__}"


def test_policy_show_prints_values_with_references() -> None:
    result = runner.invoke(app, ["policy", "show", "2019"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "eligibility.low_volume_threshold.allowed_charges" in result.output
    assert "> $90,000" in result.output
    assert "83 FR 59452" in result.output


def test_policy_show_says_how_many_values_are_unverified() -> None:
    result = runner.invoke(app, ["policy", "show", "2025"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "unverified" in result.output


def test_policy_diff_lists_what_changed_between_years() -> None:
    result = runner.invoke(app, ["policy", "diff", "2019", "2022"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "scoring.category_weights" in result.output
    assert "elections.apm_entity_opt_in_allowed" in result.output
    assert "eligibility.low_volume_threshold.allowed_charges" not in result.output
    assert "parameter(s) differ between 2019 and 2022" in result.output


@pytest.mark.parametrize(
    "command", [["policy", "show", "2018"], ["policy", "diff", "2019", "2031"]]
)
def test_policy_for_an_unsupported_year_is_a_clear_error(command: list[str]) -> None:
    result = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "OQ-POLICY-002" in result.output
    assert "2019-2025" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_then_check(sqlite_url: str) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "migrated from empty" in result.output
    again = runner.invoke(app, ["db", "upgrade", "--url", sqlite_url])
    assert "already at revision" in again.output
    check = runner.invoke(app, ["db", "check"])
    assert check.exit_code == 0, check.output
    assert "models and migrations agree" in check.output


def test_data_status_lists_years_and_their_roots(tmp_path: pytest.TempPathFactory) -> None:
    from tests.conftest import REPO

    shared = REPO.parent / "shared" / "data" / "qpp-measures-data"
    result = runner.invoke(
        app,
        ["data", "status"],
        env={
            "COLUMNS": "250",
            "OPENQPP_DATA_DIR": str(REPO / ".data"),
            "OPENQPP_MEASURES_DATA": str(shared),
        },
    )
    assert result.exit_code == 0, result.output
    assert "qpp-measures-data@5.5.4" in result.output
    for year in ("2017", "2019", "2022"):
        assert year in result.output
    if shared.is_dir():
        assert "2025" in result.output


def test_data_status_without_any_root_says_how_to_add_one(tmp_path: object) -> None:
    result = runner.invoke(
        app,
        ["data", "status"],
        env={"COLUMNS": "200", "OPENQPP_DATA_DIR": str(tmp_path), "OPENQPP_MEASURES_DATA": ""},
    )
    assert result.exit_code == 0, result.output
    assert "No measures data found" in result.output
    assert "openqpp data install" in result.output
