"""Engines that run :mod:`openqpp.batch.sql` on the validated inputs.

``duckdb`` (the default) runs embedded on one machine; ``spark`` runs the same SQL on Spark
(local mode unless configured otherwise) and needs the ``openqpp[spark]`` extra.
"""

from __future__ import annotations

from typing import Final, Literal

EngineName = Literal["duckdb", "spark"]
ENGINES: Final[tuple[EngineName, ...]] = ("duckdb", "spark")
