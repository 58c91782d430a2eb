"""Fixtures for the batch engine tests: a Spark session in local mode, synthetic claims.

Spark tests run whenever pyspark and Java are installed. Without them they are skipped on a
developer machine and FAIL when the CI environment variable is set, so CI never silently loses
the cross-engine check.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openqpp.batch.synth import synthesize

SMALL_CLINICIANS = 2_000
SMALL_LINES = 200_000
SMALL_YEAR = 2022


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "spark: runs the Spark engine in local mode (needs the spark extra and Java)"
    )


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs Java 17+)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole run (starting Spark takes seconds)."""
    missing = _spark_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark engine tests, but {missing}.")
        pytest.skip(missing)
    from openqpp.batch.engines.spark import default_conf

    conf = {**default_conf(), "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "1g"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark's note about pandas versions
        from pyspark.sql import SparkSession

        builder: Any = SparkSession.builder
        for key, value in conf.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic inputs: 2,000 clinicians, 200,000 claim lines (generated once per run)."""
    out = tmp_path_factory.mktemp("claims")
    synthesize(out, clinicians=SMALL_CLINICIANS, lines=SMALL_LINES, year=SMALL_YEAR, seed=20)
    return out
