"""Use cases: load, call the core, persist and audit, in one transaction."""
