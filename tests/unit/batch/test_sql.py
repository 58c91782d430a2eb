"""The batch SQL: written once, filled from policy, in the dialect DuckDB and Spark share."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from openqpp.batch.sql import STAGES, cutoff, plan
from openqpp.policy import SUPPORTED_YEARS, load_policy


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_every_supported_year_fills_every_placeholder(year: int) -> None:
    policy = load_policy(year)
    stages = dict(plan(policy).stages)
    assert list(stages) == [name for name, _ in STAGES]
    assert all("{" not in text and "}" not in text for text in stages.values())
    for segment in policy.eligibility.determination_period.segments:
        # The run-out is part of the segment test: processed no later than end + run-out days.
        assert f"processed_date <= DATE '{cutoff(segment).isoformat()}'" in stages["patients"]
        assert f"DATE '{segment.start.isoformat()}'" in stages["individual_volumes"]
    for code in policy.eligibility.special_status.hospital_based.places_of_service:
        assert f"'{code}'" in stages["individual_volumes"]


def test_cutoff_adds_the_claims_run_out_to_the_segment_end() -> None:
    first = load_policy(2019).eligibility.determination_period.segments[0]
    assert cutoff(first) == first.end + dt.timedelta(days=first.claims_run_out_days)


@pytest.mark.parametrize(
    ("construct", "pattern"),
    [
        ("DuckDB casts (::)", r"::"),
        ("double-quoted identifiers (string literals in Spark)", r'"'),
        ("FILTER clauses", r"\bFILTER\b"),
        ("DuckDB list/struct functions", r"\b(list|struct_pack|arg_min|arg_max)\s*\("),
        ("QUALIFY", r"\bQUALIFY\b"),
        ("GROUP BY ALL", r"GROUP BY ALL"),
        ("VARCHAR (Spark says STRING)", r"\bVARCHAR\b"),
        ("HUGEINT", r"\bHUGEINT\b"),
    ],
)
def test_the_sql_keeps_to_the_dialect_both_engines_accept(construct: str, pattern: str) -> None:
    text = "\n".join(sql for _, sql in plan(load_policy(2022)).stages)
    assert not re.search(pattern, text, flags=re.IGNORECASE), construct
