"""The synthetic claims generator: deterministic for a seed, and shaped like the contract."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from openqpp.batch import validate_inputs
from openqpp.batch.synth import npi_numbers, synthesize
from openqpp.core.common import Npi
from openqpp.policy import load_policy

YEAR = 2022


def _content_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.parquet")):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _make(directory: Path, seed: int, threads: int | None = None) -> str:
    synthesize(directory, clinicians=300, lines=30_000, year=YEAR, seed=seed, threads=threads)
    return _content_hash(directory)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    assert _make(tmp_path / "a", 7) == _make(tmp_path / "b", 7, threads=1)


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    assert _make(tmp_path / "a", 7) != _make(tmp_path / "b", 8)


def test_generated_npis_pass_the_check_digit() -> None:
    for npi in npi_numbers([123456789, 124531959, 100300012]):
        assert Npi(str(npi)) == str(npi)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, clinicians=500, lines=60_000, year=YEAR, seed=1)
    return out


def test_generated_inputs_pass_validation(generated: Path) -> None:
    tables = validate_inputs(generated, YEAR)
    assert set(tables.sources) == {
        "claim_lines", "clinicians", "practice_locations", "apm_participation", "qp_status",
        "virtual_groups", "facility_scores",
    }  # fmt: skip


def test_generated_lines_cover_both_segments_with_a_processing_lag(generated: Path) -> None:
    lines = ds.dataset(generated / "claim_lines").to_table()
    assert lines.num_rows == 60_000
    seg1, _seg2 = load_policy(YEAR).eligibility.determination_period.segments
    service = lines.column("date_of_service")
    assert pc.min(service).as_py() >= seg1.start
    in_seg1 = pc.sum(pc.less_equal(service, seg1.end).cast("int64")).as_py()
    assert 0.3 * lines.num_rows < in_seg1 < 0.7 * lines.num_rows
    lag = pc.days_between(service, lines.column("processed_date"))
    assert pc.min(lag).as_py() >= 2
    assert pc.max(lag).as_py() >= 45


def test_generated_population_has_the_realistic_shapes(generated: Path) -> None:
    clinicians = pq.read_table(generated / "clinicians.parquet")
    types = set(clinicians.column("clinician_type").to_pylist())
    eligible = set(load_policy(YEAR).eligibility.eligible_clinician_types)
    assert types - eligible, "some clinician types are never MIPS eligible"
    assert {"clinical_social_worker", "physician"} <= types
    qp = set(pq.read_table(generated / "qp_status.parquet").column("qp_status").to_pylist())
    assert qp == {"Y", "P", "N"}
    locations = pq.read_table(generated / "practice_locations.parquet")
    assert pc.any(locations.column("rural")).as_py()
    assert pc.any(locations.column("hpsa")).as_py()
    enrolled = clinicians.column("first_enrolled")
    assert pc.max(enrolled).as_py().year == YEAR, "some clinicians are newly enrolled"
