"""The entity_volumes contract on both engines: a hand-checked tiny dataset, and DuckDB and Spark
giving identical aggregates on the same synthetic claims."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openqpp.batch import OUTPUT_SCHEMA, compute_volumes
from openqpp.policy import load_policy

YEAR = 2019
POLICY = load_policy(YEAR)
SEG1, SEG2 = POLICY.eligibility.determination_period.segments
CUT1 = SEG1.end + dt.timedelta(days=SEG1.claims_run_out_days)
CUT2 = SEG2.end + dt.timedelta(days=SEG2.claims_run_out_days)

T1, T2, T3 = "111111111", "222222222", "012345678"
N1, N2, N3 = "1234567893", "1245319599", "1003000126"
B1, B2, B3 = "1EG4TE5MK73", "2AB4CD5EF61", "3XY4ZZ5QQ22"

CLAIM_COLUMNS = [
    "claim_id", "line_number", "tin", "npi", "beneficiary_id", "date_of_service",
    "processed_date", "allowed_amount", "hcpcs", "place_of_service",
    "covered_professional_service", "patient_facing", "facility_ccn", "an_extra_column",
]  # fmt: skip


def _day(base: dt.date, offset: int = 0) -> str:
    return (base + dt.timedelta(days=offset)).isoformat()


def _line(
    claim: str, tin: str, npi: str, bene: str, service: str, processed: str, amount: str,
    pos: str, *, covered: bool = True, facing: bool = True, hcpcs: str = "99213",
) -> list[str]:  # fmt: skip
    ccn = "050001" if pos in {"21", "23"} else ""
    return [
        claim, "1", tin, npi, bene, service, processed, amount, hcpcs, pos,
        "true" if covered else "false", "true" if facing else "false", ccn, "ignored",
    ]  # fmt: skip


def _drug(
    claim: str, tin: str, npi: str, bene: str, service: str, processed: str, amount: str, code: str
) -> list[str]:
    """A Part B drug line: not a covered professional service."""
    return _line(claim, tin, npi, bene, service, processed, amount, "11", covered=False, hcpcs=code)


def _write_csv(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> None:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_tiny_inputs(directory: Path) -> None:
    """A few lines whose aggregates are worked out by hand in ``EXPECTED``."""
    s1, e1, s2, e2 = SEG1.start, SEG1.end, SEG2.start, SEG2.end
    lines = [
        # Segment 1. T1/N1: a repeat beneficiary, a line processed on the last run-out day
        # (counted), one processed a day later (not counted), one non-covered drug line.
        _line("C01", T1, N1, B1, _day(s1, 10), _day(s1, 15), "100.00", "11"),
        _line("C02", T1, N1, B1, _day(s1, 20), _day(s1, 25), "50.50", "21"),
        _line("C03", T1, N1, B2, _day(e1), _day(CUT1), "10.00", "24", facing=False),
        _line("C04", T1, N1, B3, _day(e1), _day(CUT1, 1), "1000.00", "11"),
        _drug("C05", T1, N1, B3, _day(s1, 30), _day(s1, 31), "999.99", "J9271"),
        _line("C06", T1, N2, B1, _day(s1, 40), _day(s1, 41), "200.00", "23"),
        # N1 also bills under T2 (a multi-TIN clinician).
        _line("C07", T2, N1, B2, _day(s1, 50), _day(s1, 52), "300.00", "22"),
        _line("C08", T3, N3, B1, _day(s1, 60), _day(s1, 61), "40.00", "11"),
        # Segment 2 (no run-out in 2019: processed after the segment's end is not counted).
        _line("C09", T1, N1, B1, _day(s2), _day(CUT2), "70.00", "11"),
        _line("C10", T1, N1, B2, _day(e2), _day(CUT2, 1), "80.00", "11"),
        _line("C11", T3, N3, B2, _day(s2, 5), _day(s2, 6), "25.25", "19", facing=False),
        _drug("C12", T2, N2, B3, _day(s2, 10), _day(s2, 11), "500.00", "J0178"),
        # Before the determination period: not counted anywhere.
        _line("C13", T1, N1, B1, _day(s1, -1), _day(s1, 3), "5000.00", "11"),
    ]
    _write_csv(directory / "claim_lines.csv", CLAIM_COLUMNS, lines, bom=True)
    _write_csv(
        directory / "clinicians.csv",
        ["npi", "clinician_type", "specialty_code", "first_enrolled", "first_name", "last_name"],
        [
            [N1, "physician", "08", "2001-05-01", "Ada", "Nguyen"],
            [N2, "nurse_practitioner", "50", "2010-01-01", "Ben", "Okafor"],
            [N3, "physical_therapist", "65", "2012-07-15", "Cy", "Lopez"],
        ],
        bom=True,  # as spreadsheet programs write CSV
    )
    apm = ["apm_entity_id", "apm_model", "tin", "npi", "snapshot_date", "mips_apm", "advanced_apm"]
    _write_csv(
        directory / "apm_participation.csv",
        apm,
        [
            ["A1", "MSSP", T1, N1, f"{YEAR}-03-31", "true", "false"],
            ["A1", "MSSP", T1, N1, f"{YEAR}-06-30", "true", "false"],
            ["A1", "MSSP", T3, N3, f"{YEAR}-12-31", "true", "false"],
            ["A2", "BPCI Advanced", T1, N2, f"{YEAR}-08-31", "true", "true"],
            # A snapshot of another year does not make T2/N1 a participant.
            ["A1", "MSSP", T2, N1, f"{YEAR - 1}-12-31", "true", "false"],
        ],
    )
    (directory / "qp_status.csv").write_text(f"npi,qp_status\n{N2},N\n", encoding="utf-8")
    # A table can also be a folder of Parquet files (columns in any order).
    folder = directory / "virtual_groups"
    folder.mkdir()
    pq.write_table(pa.table({"virtual_group_id": ["VG1"], "tin": [T2]}), folder / "a.parquet")
    pq.write_table(pa.table({"tin": [T3], "virtual_group_id": ["VG1"]}), folder / "b.parquet")


def _row(
    segment: int, level: str, key: str, tin: str | None, npi: str | None, charges: str,
    benes: int, services: int, facing: int, lines: int, hospital: int, asc: int,
    facility: int, clinicians: int, first: dt.date | None, last: dt.date | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "segment": segment, "level": level, "entity_key": key, "tin": tin, "npi": npi,
        "allowed_charges": Decimal(charges), "beneficiaries": benes, "covered_services": services,
        "patient_facing_encounters": facing, "lines": lines, "hospital_lines": hospital,
        "asc_lines": asc, "facility_lines": facility, "clinicians": clinicians,
        "first_service_date": first, "last_service_date": last,
    }  # fmt: skip


def _d(base: dt.date, offset: int = 0) -> dt.date:
    return base + dt.timedelta(days=offset)


s1, e1, s2 = SEG1.start, SEG1.end, SEG2.start
K11, K12, K21, K22, K33 = f"{T1}/{N1}", f"{T1}/{N2}", f"{T2}/{N1}", f"{T2}/{N2}", f"{T3}/{N3}"
D10, D40, D50, D60, E5 = _d(s1, 10), _d(s1, 40), _d(s1, 50), _d(s1, 60), _d(s2, 5)
# Worked out by hand from the lines above (POS 19/21/22/23 hospital, 24 ASC, 21/23 facility).
# Columns after the identifiers: allowed charges, beneficiaries, covered services, patient-facing
# encounters, lines, hospital, ASC and facility lines, clinicians, first and last service date.
# fmt: off
EXPECTED = sorted(
    [
        _row(1, "individual", K11, T1, N1, "160.50", 2, 3, 3, 4, 1, 1, 1, 1, D10, e1),
        _row(1, "individual", K12, T1, N2, "200.00", 1, 1, 1, 1, 1, 0, 1, 1, D40, D40),
        _row(1, "individual", K21, T2, N1, "300.00", 1, 1, 1, 1, 1, 0, 0, 1, D50, D50),
        _row(1, "individual", K33, T3, N3, "40.00", 1, 1, 1, 1, 0, 0, 0, 1, D60, D60),
        _row(1, "group", T1, T1, None, "360.50", 2, 4, 4, 5, 2, 1, 2, 2, D10, e1),
        _row(1, "group", T2, T2, None, "300.00", 1, 1, 1, 1, 1, 0, 0, 1, D50, D50),
        _row(1, "group", T3, T3, None, "40.00", 1, 1, 1, 1, 0, 0, 0, 1, D60, D60),
        _row(1, "apm_entity", "A1", None, None, "200.50", 2, 4, 4, 5, 1, 1, 1, 2, D10, e1),
        _row(1, "apm_entity", "A2", None, None, "200.00", 1, 1, 1, 1, 1, 0, 1, 1, D40, D40),
        _row(1, "virtual_group", "VG1", None, None, "340.00", 2, 2, 2, 2, 1, 0, 0, 2, D50, D60),
        _row(2, "individual", K11, T1, N1, "70.00", 1, 1, 1, 1, 0, 0, 0, 1, s2, s2),
        _row(2, "individual", K22, T2, N2, "0.00", 0, 0, 1, 1, 0, 0, 0, 1, None, None),
        _row(2, "individual", K33, T3, N3, "25.25", 1, 1, 0, 1, 1, 0, 0, 1, E5, E5),
        _row(2, "group", T1, T1, None, "70.00", 1, 1, 1, 1, 0, 0, 0, 1, s2, s2),
        _row(2, "group", T2, T2, None, "0.00", 0, 0, 1, 1, 0, 0, 0, 1, None, None),
        _row(2, "group", T3, T3, None, "25.25", 1, 1, 0, 1, 1, 0, 0, 1, E5, E5),
        _row(2, "apm_entity", "A1", None, None, "95.25", 2, 2, 1, 2, 1, 0, 0, 2, s2, E5),
        _row(2, "virtual_group", "VG1", None, None, "25.25", 1, 1, 1, 2, 1, 0, 0, 2, E5, E5),
    ],
    key=lambda r: (r["segment"], r["level"], r["entity_key"]),
)
# fmt: on


@pytest.fixture
def tiny_inputs(tmp_path: Path) -> Path:
    write_tiny_inputs(tmp_path)
    return tmp_path


def test_duckdb_gives_the_hand_worked_aggregates(tiny_inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "entity_volumes.parquet"
    stages: list[str] = []
    result = compute_volumes(tiny_inputs, POLICY, out=out, progress=stages.append)
    assert result.schema == OUTPUT_SCHEMA
    assert result.to_pylist() == EXPECTED
    assert pq.read_table(out).to_pylist() == EXPECTED
    assert stages[0] == "find inputs"
    assert stages[-1] == "done"
    assert "validate claim_lines" in stages
    assert "aggregate entity_volumes" in stages


def test_year_given_as_a_number_resolves_its_policy(tiny_inputs: Path) -> None:
    assert compute_volumes(tiny_inputs, YEAR).to_pylist() == EXPECTED


@pytest.mark.spark
def test_spark_gives_the_hand_worked_aggregates_from_csv(tiny_inputs: Path, spark: Any) -> None:
    result = compute_volumes(tiny_inputs, POLICY, engine="spark")
    assert result.schema == OUTPUT_SCHEMA
    assert result.to_pylist() == EXPECTED


@pytest.mark.spark
def test_duckdb_and_spark_give_identical_volumes_on_synthetic_claims(
    small_claims: Path, spark: Any
) -> None:
    on_duckdb = compute_volumes(small_claims, 2022)
    on_spark = compute_volumes(small_claims, 2022, engine="spark")
    assert on_duckdb.num_rows > 1_000
    assert on_duckdb.schema == on_spark.schema == OUTPUT_SCHEMA
    # Row for row, decimals and dates exactly (both results are sorted the same way).
    assert on_duckdb.to_pylist() == on_spark.to_pylist()
    levels = set(on_duckdb.column("level").to_pylist())
    assert levels == {"individual", "group", "apm_entity", "virtual_group"}


def test_synthetic_claims_exercise_every_part_of_the_contract(small_claims: Path) -> None:
    volumes = compute_volumes(small_claims, 2022).to_pylist()
    individual = [r for r in volumes if r["level"] == "individual"]
    assert {r["segment"] for r in individual} == {1, 2}
    # Some clinicians bill under several TINs; some TIN/NPIs sit near the $90,000 criterion.
    npis_by_tin_count: dict[str, set[str]] = {}
    for r in individual:
        npis_by_tin_count.setdefault(r["npi"], set()).add(r["tin"])
    assert sum(len(tins) > 1 for tins in npis_by_tin_count.values()) > 50
    near = [r for r in individual if Decimal(70_000) <= r["allowed_charges"] <= Decimal(110_000)]
    assert len(near) > 20
    assert any(
        r["hospital_lines"] and r["hospital_lines"] == r["covered_services"] for r in individual
    )
    assert any(r["asc_lines"] for r in individual)
    assert any(r["patient_facing_encounters"] <= 100 < r["lines"] for r in individual)
    # Non-covered lines count as lines but not as covered services.
    assert sum(r["lines"] for r in individual) > sum(r["covered_services"] for r in individual)
