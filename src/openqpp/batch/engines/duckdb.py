"""The DuckDB engine: the batch SQL embedded, over Parquet/CSV read in place.

DuckDB reads the inputs directly (``read_parquet``, ``read_csv``), uses every core, and keeps
within ``memory_limit`` by spilling intermediate results to ``temp_directory``; 100 million
claim lines fit in about 6 GB of memory with the default limit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa

from openqpp.batch.inputs import TABLES, InputTables, duckdb_relation, empty_select, typed_select
from openqpp.batch.sql import Plan

Progress = Callable[[str], None]

DEFAULT_MEMORY_LIMIT_BYTES = 4 * 1024**3
"""At most 4 GiB for DuckDB's buffers (or half the machine's memory if that is less)."""


def default_memory_limit() -> str:
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        physical = 2 * DEFAULT_MEMORY_LIMIT_BYTES
    limit = min(DEFAULT_MEMORY_LIMIT_BYTES, physical // 2)
    return f"{max(limit // 1024**2, 256)}MB"


@contextmanager
def connection(
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection set up to spill: memory limit, spill folder, threads.

    Without ``temp_directory`` a private folder is made and removed afterwards.
    """
    own_temp = temp_directory is None
    spill = (
        Path(tempfile.mkdtemp(prefix="openqpp-duckdb-"))
        if temp_directory is None
        else Path(temp_directory)
    )
    spill.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit or default_memory_limit(),
        "temp_directory": str(spill),
        "threads": threads or os.cpu_count() or 1,
        "preserve_insertion_order": False,
    }
    con = duckdb.connect(config=config)
    with suppress(duckdb.Error):  # a DuckDB built without ICU has no TimeZone setting
        con.execute("SET TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()
        if own_temp:
            shutil.rmtree(spill, ignore_errors=True)


def register_inputs(con: duckdb.DuckDBPyConnection, tables: InputTables) -> None:
    """A typed view per contract table: the file read in place, or empty if not given."""
    con.execute("SET preserve_insertion_order = false")
    for name, spec in TABLES.items():
        source = tables.sources.get(name)
        if source is None:
            body = empty_select(spec)
        else:
            body = typed_select(spec, source.columns, duckdb_relation(source))
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")


def run(
    tables: InputTables,
    plan: Plan,
    *,
    connection: duckdb.DuckDBPyConnection,
    progress: Progress | None = None,
) -> pa.Table:
    """Run every stage of ``plan``; each but the last becomes a temporary table."""
    register_inputs(connection, tables)
    *stages, (result_name, result_sql) = plan.stages
    try:
        for name, sql in stages:
            if progress is not None:
                progress(f"aggregate {name}")
            connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        if progress is not None:
            progress(f"aggregate {result_name}")
        relation = connection.sql(result_sql)
        fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
        table: pa.Table = fetch()
        return table
    finally:
        for name, _ in stages:
            connection.execute(f"DROP TABLE IF EXISTS {name}")
