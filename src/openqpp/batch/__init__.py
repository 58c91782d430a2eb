"""Claims -> per-entity aggregates: the SQL contract, DuckDB (default) and Spark engines.

``compute_volumes(inputs_dir, policy, engine=..., out=...)`` validates the input tables of
``docs/batch-contract.md`` and returns the ``entity_volumes`` table; ``synthesize`` writes
realistic synthetic inputs for tests and benchmarks.
"""

from openqpp.batch.errors import BatchInputError, BatchInputErrors, EngineUnavailable
from openqpp.batch.inputs import InputTables, validate_inputs
from openqpp.batch.sql import OUTPUT_SCHEMA
from openqpp.batch.volumes import compute_volumes

__all__ = [
    "OUTPUT_SCHEMA",
    "BatchInputError",
    "BatchInputErrors",
    "EngineUnavailable",
    "InputTables",
    "compute_volumes",
    "validate_inputs",
]
