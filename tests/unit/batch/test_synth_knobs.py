"""The synthetic generator's population knobs: an exact number of practices (TINs) and the
share of TIN/NPIs drawn near the low-volume criteria (which the determination then finds opt-in
eligible, eligible or exempt: statuses are never set by the generator)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from openqpp.batch.synth import synthesize

YEAR = 2022


def _tins(directory: Path) -> int:
    lines = ds.dataset(directory / "claim_lines").to_table(columns=["tin"])
    locations = pq.read_table(directory / "practice_locations.parquet", columns=["tin", "npi"])
    practice_rows = locations.filter(pc.is_null(locations.column("npi")))
    assert pc.count_distinct(lines.column("tin")).as_py() <= practice_rows.num_rows
    return practice_rows.num_rows


def test_tins_knob_gives_exactly_that_many_practices_for_every_clinician(tmp_path: Path) -> None:
    result = synthesize(tmp_path, clinicians=2_000, lines=40_000, year=YEAR, seed=3, tins=400)
    assert result.tins == 400
    assert _tins(tmp_path) == 400
    clinicians = pq.read_table(tmp_path / "clinicians.parquet")
    assert clinicians.num_rows == 2_000


def test_near_threshold_knob_puts_more_lines_with_near_threshold_clinicians(
    tmp_path: Path,
) -> None:
    def busiest_share(directory: Path, near: float | None) -> float:
        synthesize(
            directory, clinicians=1_000, lines=400_000, year=YEAR, seed=5, near_threshold=near
        )
        lines = ds.dataset(directory / "claim_lines").to_table(columns=["tin", "npi"])
        counts = lines.group_by(["tin", "npi"]).aggregate([([], "count_all")])
        per_pair = counts.column("count_all")
        return pc.mean(pc.greater(per_pair, 300).cast("double")).as_py()

    assert busiest_share(tmp_path / "more", 0.3) > busiest_share(tmp_path / "default", None)


def test_near_threshold_share_the_lines_cannot_pay_for_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few"):
        synthesize(tmp_path, clinicians=1_000, lines=50_000, year=YEAR, seed=1, near_threshold=0.5)
