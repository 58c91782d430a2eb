"""Bounds for the numbers the API reads from queries and bodies, so a value out of range is
answered 422 `OQ-REQ-001` with its path (and the OpenAPI document says the range), never handed
to the database (SQLite cannot bind an integer past 64 bits: OverflowError, a 500). Whether a
year in range is one MIPS has stays the services' decision (e.g. `OQ-YEAR-001`)."""

from __future__ import annotations

from typing import Final

YEAR_MIN: Final = 1
YEAR_MAX: Final = 9999
"""A year: four digits at most."""
COUNT_MAX: Final = 2**31 - 1
"""A run number, an index or a count (from 0): what a 32-bit database integer holds."""
