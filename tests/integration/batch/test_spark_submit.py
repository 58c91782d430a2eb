"""The cluster entry point: `spark-submit --master local[2] openqpp/cli/spark_submit.py ...`
runs the same determination as `openqpp eligibility determine`, and its results Parquet equals
the DuckDB engine's on the same claims."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.integration.batch.conftest import _spark_missing
from typer.testing import CliRunner

from openqpp.batch.demo import write_demo_claims
from openqpp.cli import app
from openqpp.cli import spark_submit as entry
from openqpp.policy import load_policy
from openqpp.services import database, eligibility
from openqpp.settings import get_settings

YEAR = 2022  # year-literal: a guide year with demo claims


def _spark_submit() -> str | None:
    import pyspark

    for candidate in (
        Path(sys.executable).parent / "spark-submit",
        Path(pyspark.__file__).parent / "bin" / "spark-submit",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _sorted(path: Path) -> pa.Table:
    table = pq.read_table(path)
    return table.sort_by([("level", "ascending"), ("entity_key", "ascending")])


def test_spark_submit_determines_the_same_results_as_duckdb(tmp_path: Path) -> None:
    missing = _spark_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark entry point, but {missing}.")
        pytest.skip(missing)
    url = f"sqlite:///{tmp_path / 'spark.db'}"
    database.upgrade(url)
    claims = write_demo_claims(tmp_path / "claims", load_policy(YEAR))
    env = {**os.environ, "OPENQPP_DATABASE_URL": url, "COLUMNS": "200"}

    on_duckdb = CliRunner().invoke(
        app,
        ["eligibility", "determine", "--claims", str(claims), "--year", str(YEAR),
         "--out", str(tmp_path / "duckdb.parquet")],
        env=env,
    )  # fmt: skip
    assert on_duckdb.exit_code == 0, on_duckdb.output

    out = tmp_path / "spark.parquet"
    args = ["--claims", str(claims), "--year", str(YEAR), "--out", str(out)]
    submit = _spark_submit()
    if submit is not None:
        done = subprocess.run(
            [submit, "--master", "local[2]", "--driver-memory", "1g",
             "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
             str(Path(entry.__file__)), *args],
            env={**env, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
            capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "on Spark" in done.stdout
        assert "local[2]" in done.stdout  # spark-submit's master, not openqpp's default
    else:  # no spark-submit script: the same entry point in this process
        os.environ["OPENQPP_DATABASE_URL"] = url
        get_settings.cache_clear()
        try:
            assert entry.main(args) == 0
        finally:
            del os.environ["OPENQPP_DATABASE_URL"]
            get_settings.cache_clear()

    duck, spark = _sorted(tmp_path / "duckdb.parquet"), _sorted(out)
    assert duck.num_rows > 0
    assert spark.schema == duck.schema
    assert spark.to_pylist() == duck.to_pylist()
    with database.session_factory(url)() as session:
        runs = eligibility.list_runs(session)
    assert [(r.run_number, r.engine) for r in runs] == [(1, "duckdb"), (2, "spark")]
    database.engine_for(url).dispose()


def test_the_entry_point_reports_a_bad_claims_directory_with_the_cli_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FakeSpark:
        version = "test"

        class sparkContext:
            master = "local[1]"

        def stop(self) -> None:
            self.stopped = True

    fake = FakeSpark()
    monkeypatch.setattr(entry, "spark_session", lambda: fake)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    database.upgrade(url)
    monkeypatch.setenv("OPENQPP_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        code = entry.main(["--claims", str(tmp_path / "missing"), "--year", str(YEAR)])
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert fake.stopped
