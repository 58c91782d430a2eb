"""Claims -> per-entity aggregates: the SQL contract, DuckDB (default) and Spark engines."""
