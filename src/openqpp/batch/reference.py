"""The small reference tables of a determination (clinicians, QP status, locations, APM
participation, virtual groups, facility scores), read with the contract's types.

Read after :func:`openqpp.batch.volumes.compute_volumes` has validated the same directory, so
the tables are known to be well formed; an optional table that is not given reads as empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pyarrow as pa

from openqpp.batch.inputs import (
    TABLES,
    _read_columns,
    duckdb_relation,
    empty_select,
    find_tables,
    typed_select,
)

REFERENCE_TABLES: Final = (
    "clinicians",
    "qp_status",
    "practice_locations",
    "apm_participation",
    "virtual_groups",
    "facility_scores",
)


def read_reference_tables(inputs_dir: Path | str) -> dict[str, pa.Table]:
    """Each reference table as an Arrow table with the contract's columns and types."""
    import duckdb

    root = Path(inputs_dir)
    found, _problems = find_tables(root)
    tables: dict[str, pa.Table] = {}
    with duckdb.connect() as con:
        for name in REFERENCE_TABLES:
            spec = TABLES[name]
            source = found.get(name)
            if source is None:
                query = empty_select(spec)
            else:
                with_columns, _ = _read_columns(source, root)
                query = typed_select(spec, with_columns.columns, duckdb_relation(with_columns))
            tables[name] = con.sql(query).to_arrow_table()
    return tables
