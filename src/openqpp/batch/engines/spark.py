"""The Spark engine: the same batch SQL on Spark, local mode (``local[*]``) unless configured.

pyspark is imported only when this engine runs, so openqpp works without the ``spark`` extra;
asking for the engine without it raises :class:`~openqpp.batch.errors.EngineUnavailable` saying
how to install it. Spark needs Java 17 or later.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from openqpp.batch.errors import EngineUnavailable
from openqpp.batch.inputs import TABLES, InputTables, empty_select, typed_select
from openqpp.batch.sql import Plan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Progress = Callable[[str], None]

INSTALL_FIX = (
    "Install the Spark extra with `pip install 'openqpp[spark]'` (and Java 17 or later), "
    "or run with the default engine (--engine duckdb)."
)


def require_pyspark() -> None:
    """Raise :class:`EngineUnavailable` unless pyspark and Java are there."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailable(
            "The Spark engine needs pyspark, which is not installed.",
            fix=INSTALL_FIX,
            code="OQ-BATCH-002",
        ) from exc
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.isdir(java_home)):
        raise EngineUnavailable(
            "The Spark engine needs Java, and no `java` was found on PATH or in JAVA_HOME.",
            fix="Install a Java 17 (or later) runtime, e.g. `apt-get install openjdk-17-jre`, "
            "or run with the default engine (--engine duckdb).",
            code="OQ-BATCH-003",
        )


def default_conf() -> dict[str, str]:
    cores = os.cpu_count() or 1
    return {
        "spark.master": "local[*]",
        "spark.app.name": "openqpp-eligibility",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(max(8, 4 * cores)),
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.memory": os.environ.get("OPENQPP_SPARK_DRIVER_MEMORY", "4g"),
    }


@contextmanager
def session(conf: Mapping[str, str] | None = None) -> Iterator[SparkSession]:
    """A Spark session: the active one if there is one (left running), else a new local one
    (stopped afterwards)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in (conf or {}).items():
            if key.startswith("spark.sql."):
                active.conf.set(key, value)
        yield active
        return
    builder: Any = SparkSession.builder
    for key, value in {**default_conf(), **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def register_inputs(spark: SparkSession, tables: InputTables) -> None:
    """A typed temporary view per contract table, through the same projection as DuckDB."""
    for name, spec in TABLES.items():
        source = tables.sources.get(name)
        if source is None:
            spark.sql(empty_select(spec)).createOrReplaceTempView(name)
            continue
        paths = [str(p) for p in source.files]
        if source.format == "parquet":
            raw = spark.read.option("mergeSchema", "true").parquet(*paths)
        else:  # every column as text; the typed projection casts (RFC 4180 quoting)
            raw = (
                spark.read.option("header", "true")
                .option("inferSchema", "false")
                .option("quote", '"')
                .option("escape", '"')
                .csv(paths)
            )
            raw = raw.toDF(*[c.lstrip("\ufeff") for c in raw.columns])  # a UTF-8 BOM
        raw.createOrReplaceTempView(f"openqpp_raw_{name}")
        spark.sql(
            typed_select(spec, source.columns, f"openqpp_raw_{name}")
        ).createOrReplaceTempView(name)


def _to_arrow(frame: DataFrame) -> pa.Table:
    with warnings.catch_warnings():
        # pyspark checks the pandas version on Arrow transfers and warns about pandas 3.
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        to_arrow: Any = getattr(frame, "toArrow", None)  # pyspark 4
        if to_arrow is not None:
            table: pa.Table = to_arrow()
            return table
        collect: Any = getattr(frame, "_collect_as_arrow")  # noqa: B009 - pyspark 3.5
        return pa.Table.from_batches(collect())


def run(
    tables: InputTables,
    plan: Plan,
    *,
    progress: Progress | None = None,
    conf: Mapping[str, str] | None = None,
    spark: SparkSession | None = None,
) -> pa.Table:
    """Run every stage of ``plan`` on Spark; each but the last is a persisted view."""
    if spark is None:
        with session(conf) as own:
            return run(tables, plan, progress=progress, spark=own)

    from pyspark import StorageLevel

    register_inputs(spark, tables)
    *stages, (result_name, result_sql) = plan.stages
    persisted: list[DataFrame] = []
    try:
        for name, sql in stages:
            if progress is not None:
                progress(f"aggregate {name}")
            frame = spark.sql(sql).persist(StorageLevel.MEMORY_AND_DISK)
            frame.createOrReplaceTempView(name)
            persisted.append(frame)
        if progress is not None:
            progress(f"aggregate {result_name}")
        return _to_arrow(spark.sql(result_sql))
    finally:
        for frame in persisted:
            frame.unpersist()
