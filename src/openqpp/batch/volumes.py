"""The entry point of the claims batch: validated inputs -> ``entity_volumes``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, get_args

import pyarrow as pa
import pyarrow.parquet as pq

from openqpp.batch import sql
from openqpp.batch.engines import EngineName
from openqpp.batch.engines import duckdb as duckdb_engine
from openqpp.batch.errors import EngineUnavailable
from openqpp.batch.inputs import read_table, resolve_policy, validate_inputs
from openqpp.policy import Policy

Progress = Callable[[str], None]

REFERENCE_TABLES: Final = (
    "clinicians",
    "qp_status",
    "practice_locations",
    "apm_participation",
    "virtual_groups",
    "facility_scores",
)
"""The small input tables a determination needs beside the aggregates."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one validated pass over a claims directory gives the determination."""

    volumes: pa.Table
    """``entity_volumes`` (docs/batch-contract.md)."""
    references: Mapping[str, pa.Table]
    """The reference tables with the contract's columns and types (empty when not given)."""


def compute(
    inputs_dir: Path | str,
    policy: Policy | int,
    *,
    engine: EngineName = "duckdb",
    out: Path | str | None = None,
    progress: Progress | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | str | None = None,
    spark_conf: Mapping[str, str] | None = None,
) -> BatchResult:
    """Validate ``inputs_dir`` once, compute ``entity_volumes`` and read the reference tables.

    The arguments are those of :func:`compute_volumes`.
    """
    references: dict[str, pa.Table] = {}
    volumes = compute_volumes(
        inputs_dir,
        policy,
        engine=engine,
        out=out,
        progress=progress,
        memory_limit=memory_limit,
        threads=threads,
        temp_directory=temp_directory,
        spark_conf=spark_conf,
        _references=references,
    )
    return BatchResult(volumes=volumes, references=references)


def compute_volumes(
    inputs_dir: Path | str,
    policy: Policy | int,
    *,
    engine: EngineName = "duckdb",
    out: Path | str | None = None,
    progress: Progress | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | str | None = None,
    spark_conf: Mapping[str, str] | None = None,
    _references: dict[str, pa.Table] | None = None,
) -> pa.Table:
    """Validate the inputs in ``inputs_dir`` and compute ``entity_volumes`` for a year.

    ``policy`` is the year's :class:`~openqpp.policy.Policy` or the performance year. Inputs are
    always validated with DuckDB first; any problem raises
    :class:`~openqpp.batch.errors.BatchInputErrors` and nothing is computed. ``engine`` picks
    DuckDB (embedded; ``memory_limit``, ``threads`` and ``temp_directory`` tune it) or Spark
    (``spark_conf`` adds Spark settings; local mode by default). The result, sorted by segment,
    level and entity key, has :data:`openqpp.batch.sql.OUTPUT_SCHEMA`; with ``out`` it is also
    written there as Parquet. ``progress`` is called with the name of each stage as it starts.
    """
    if engine not in get_args(EngineName):
        raise EngineUnavailable(
            f"There is no batch engine called {engine!r}.",
            fix="Use --engine duckdb (the default) or --engine spark.",
            code="OQ-BATCH-004",
        )
    if engine == "spark":
        from openqpp.batch.engines import spark as spark_engine

        spark_engine.require_pyspark()

    def emit(stage: str) -> None:
        if progress is not None:
            progress(stage)

    resolved = resolve_policy(policy)
    plan = sql.plan(resolved)
    with duckdb_engine.connection(
        memory_limit=memory_limit, threads=threads, temp_directory=temp_directory
    ) as con:
        emit("find inputs")
        tables = validate_inputs(inputs_dir, resolved, connection=con, progress=emit)
        if _references is not None:
            for name in REFERENCE_TABLES:
                _references[name] = read_table(tables, name, connection=con)
        if engine == "duckdb":
            raw = duckdb_engine.run(tables, plan, connection=con, progress=emit)
    if engine == "spark":
        emit("start spark")
        raw = spark_engine.run(tables, plan, progress=emit, conf=spark_conf)

    result = sql.conform(raw)
    if out is not None:
        emit("write")
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(result, target)
    emit("done")
    return result
