"""Bad batch inputs are refused before anything is computed, each with file, column and row."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openqpp.batch import BatchInputError, BatchInputErrors, compute_volumes, validate_inputs
from openqpp.policy import load_policy

YEAR = 2019
SEG1, SEG2 = load_policy(YEAR).eligibility.determination_period.segments
CLAIM_HEADER = [
    "claim_id", "line_number", "tin", "npi", "beneficiary_id", "date_of_service",
    "processed_date", "allowed_amount", "hcpcs", "place_of_service",
    "covered_professional_service", "patient_facing", "facility_ccn",
]  # fmt: skip
CLINICIAN_HEADER = [
    "npi", "clinician_type", "specialty_code", "first_enrolled", "first_name", "last_name",
]  # fmt: skip


def _claim(n: int, **changes: str) -> dict[str, str]:
    day = SEG1.start + dt.timedelta(days=n)
    row = {
        "claim_id": f"C{n:03d}", "line_number": "1", "tin": "123456789", "npi": "1234567893",
        "beneficiary_id": f"B{n % 3}", "date_of_service": day.isoformat(),
        "processed_date": (day + dt.timedelta(days=3)).isoformat(), "allowed_amount": "80.00",
        "hcpcs": "99213", "place_of_service": "11", "covered_professional_service": "true",
        "patient_facing": "true", "facility_ccn": "",
    }  # fmt: skip
    row.update(changes)
    return row


def _write(path: Path, rows: list[dict[str, str]], header: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _inputs(directory: Path, claims: list[dict[str, str]], header: list[str] | None = None) -> Path:
    _write(directory / "claim_lines.csv", claims, header or CLAIM_HEADER)
    clinician = {
        "npi": "1234567893", "clinician_type": "physician", "specialty_code": "08",
        "first_enrolled": "2001-01-01", "first_name": "Ada", "last_name": "Nguyen",
    }  # fmt: skip
    _write(directory / "clinicians.csv", [clinician], CLINICIAN_HEADER)
    return directory


def _refused(directory: Path, year: int = YEAR) -> list[BatchInputError]:
    with pytest.raises(BatchInputError) as caught:
        validate_inputs(directory, year)
    assert isinstance(caught.value, BatchInputErrors)
    return list(caught.value.errors)


def test_good_inputs_are_accepted(tmp_path: Path) -> None:
    tables = validate_inputs(_inputs(tmp_path, [_claim(1), _claim(2)]), YEAR)
    assert set(tables.sources) == {"claim_lines", "clinicians"}
    assert tables.policy.year == YEAR


def test_missing_required_table_is_refused(tmp_path: Path) -> None:
    _inputs(tmp_path, [_claim(1)])
    (tmp_path / "clinicians.csv").unlink()
    [error] = _refused(tmp_path)
    assert error.code == "OQ-CLAIMS-001"
    assert error.table == "clinicians"
    assert error.file == str(tmp_path)
    assert "clinicians.parquet" in error.fix
    assert "clinicians.csv" in error.fix


def test_missing_column_is_refused_with_file_and_column(tmp_path: Path) -> None:
    header = [c for c in CLAIM_HEADER if c != "npi"]
    [error] = _refused(_inputs(tmp_path, [_claim(1)], header))
    assert (error.code, error.file, error.column, error.row) == (
        "OQ-CLAIMS-002",
        "claim_lines.csv",
        "npi",
        None,
    )
    assert error.location is not None
    assert error.location.path == "npi"


def test_column_name_in_capitals_is_missing_and_the_message_says_why(tmp_path: Path) -> None:
    header = [("NPI" if c == "npi" else c) for c in CLAIM_HEADER]
    rows = [{("NPI" if k == "npi" else k): v for k, v in _claim(1).items()}]
    [error] = _refused(_inputs(tmp_path, rows, header))
    assert error.column == "npi"
    assert "lower case" in error.message


def test_text_in_an_amount_column_of_a_csv_is_refused_with_its_row(tmp_path: Path) -> None:
    claims = [_claim(1), _claim(2), _claim(3, allowed_amount="abc"), _claim(4)]
    [error] = _refused(_inputs(tmp_path, claims))
    assert (error.code, error.file, error.column, error.row) == (
        "OQ-CLAIMS-003",
        "claim_lines.csv",
        "allowed_amount",
        3,
    )
    assert error.value == "abc"
    assert "data row 3" in error.message
    assert "line 4" in error.message
    assert error.location is not None
    assert (error.location.file, error.location.path, error.location.line) == (
        "claim_lines.csv",
        "allowed_amount",
        3,
    )


def test_negative_amount_is_refused(tmp_path: Path) -> None:
    claims = [_claim(1), _claim(2, allowed_amount="-12.50"), _claim(3, allowed_amount="-1")]
    [error] = _refused(_inputs(tmp_path, claims))
    assert (error.code, error.column, error.row, error.count) == (
        "OQ-CLAIMS-005",
        "allowed_amount",
        2,
        2,
    )
    assert "-12.50" in error.message
    assert "2 rows in all" in error.message


@pytest.mark.parametrize("npi", ["123456789", "12345678901", "12345a7893", "1234 67893"])
def test_malformed_npi_is_refused(tmp_path: Path, npi: str) -> None:
    [error] = _refused(_inputs(tmp_path, [_claim(1), _claim(2, npi=npi)]))
    assert (error.code, error.file, error.column, error.row, error.value) == (
        "OQ-CLAIMS-007",
        "claim_lines.csv",
        "npi",
        2,
        npi,
    )


def test_tin_stored_as_a_number_loses_its_leading_zero_and_is_refused(tmp_path: Path) -> None:
    _inputs(tmp_path, [_claim(1)])
    (tmp_path / "claim_lines.csv").unlink()
    table = pa.table(
        {
            **{c: [v] for c, v in _claim(1).items() if c not in {"tin", "facility_ccn"}},
            "tin": pa.array([12345678], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "claim_lines.parquet")
    errors = _refused(tmp_path)
    tin = next(e for e in errors if e.column == "tin")
    assert (tin.code, tin.file, tin.row, tin.value) == (
        "OQ-CLAIMS-006",
        "claim_lines.parquet",
        0,
        "12345678",
    )


def test_problem_in_a_later_parquet_part_names_that_file_and_its_row_index(tmp_path: Path) -> None:
    _inputs(tmp_path, [_claim(1)])
    (tmp_path / "claim_lines.csv").unlink()
    folder = tmp_path / "claim_lines"
    folder.mkdir()
    good = [_claim(n) for n in range(5)]
    bad = [_claim(10), _claim(11), _claim(12, npi="999")]
    for name, rows in (("part-0.parquet", good), ("part-1.parquet", bad)):
        pq.write_table(pa.Table.from_pylist(rows), folder / name)
    [error] = _refused(tmp_path)
    assert (error.code, error.file, error.column, error.row) == (
        "OQ-CLAIMS-007",
        "claim_lines/part-1.parquet",
        "npi",
        2,
    )
    assert "row index 2" in error.message


def test_unsupported_year_is_refused(tmp_path: Path) -> None:
    [error] = _refused(_inputs(tmp_path, [_claim(1)]), year=2016)
    assert error.code == "OQ-CLAIMS-009"
    assert "2016" in error.message


def test_claims_entirely_outside_the_determination_period_are_refused(tmp_path: Path) -> None:
    old = (SEG1.start - dt.timedelta(days=400)).isoformat()
    claims = [_claim(1, date_of_service=old, processed_date=old)] * 2
    [error] = _refused(_inputs(tmp_path, claims))
    assert (error.code, error.column, error.row) == ("OQ-CLAIMS-008", "date_of_service", 1)
    assert SEG1.start.isoformat() in error.message


def test_lines_outside_the_period_are_not_counted_when_others_are_inside(tmp_path: Path) -> None:
    old = (SEG1.start - dt.timedelta(days=400)).isoformat()
    claims = [_claim(1), _claim(2, date_of_service=old, processed_date=old)]
    volumes = compute_volumes(_inputs(tmp_path, claims), YEAR)
    individual = [r for r in volumes.to_pylist() if r["level"] == "individual"]
    assert [r["lines"] for r in individual] == [1]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    claims = [
        _claim(1, date_of_service="01/10/2017"),
        _claim(2, tin="12-3456789", place_of_service="1"),
        _claim(3, covered_professional_service="yes", beneficiary_id=""),
    ]
    _inputs(tmp_path, claims)
    _write(
        tmp_path / "qp_status.csv", [{"npi": "1234567893", "qp_status": "Q"}], ["npi", "qp_status"]
    )
    errors = _refused(tmp_path)
    found = {(e.code, e.file, e.column, e.row) for e in errors}
    assert found >= {
        ("OQ-CLAIMS-003", "claim_lines.csv", "date_of_service", 1),
        ("OQ-CLAIMS-006", "claim_lines.csv", "tin", 2),
        ("OQ-CLAIMS-013", "claim_lines.csv", "place_of_service", 2),
        ("OQ-CLAIMS-003", "claim_lines.csv", "covered_professional_service", 3),
        ("OQ-CLAIMS-004", "claim_lines.csv", "beneficiary_id", 3),
        ("OQ-CLAIMS-013", "qp_status.csv", "qp_status", 1),
    }
    with pytest.raises(BatchInputErrors) as caught:
        validate_inputs(tmp_path, YEAR)
    assert f"{len(errors)} problems" in caught.value.message
    assert caught.value.as_dict()["code"] == errors[0].code


def test_processed_before_service_is_refused(tmp_path: Path) -> None:
    claim = _claim(5)
    claim["processed_date"] = SEG1.start.isoformat()
    [error] = _refused(_inputs(tmp_path, [_claim(1), claim]))
    assert (error.code, error.column, error.row) == ("OQ-CLAIMS-012", "processed_date", 2)


def test_duplicate_clinician_is_refused(tmp_path: Path) -> None:
    _inputs(tmp_path, [_claim(1)])
    row = {"npi": "1234567893", "clinician_type": "physician", "specialty_code": "08",
           "first_enrolled": "2001-01-01", "first_name": "A", "last_name": "B"}  # fmt: skip
    _write(tmp_path / "clinicians.csv", [row, {**row, "npi": "1245319599"}, row], CLINICIAN_HEADER)
    [error] = _refused(tmp_path)
    assert (error.code, error.file, error.column, error.row) == (
        "OQ-CLAIMS-014",
        "clinicians.csv",
        "npi",
        3,
    )


def test_table_given_twice_is_refused(tmp_path: Path) -> None:
    _inputs(tmp_path, [_claim(1)])
    pq.write_table(pa.Table.from_pylist([_claim(1)]), tmp_path / "claim_lines.parquet")
    [error] = _refused(tmp_path)
    assert error.code == "OQ-CLAIMS-011"


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    [error] = _refused(tmp_path / "nowhere")
    assert error.code == "OQ-CLAIMS-010"


def test_spark_engine_without_pyspark_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from openqpp.batch import EngineUnavailable

    real_import = builtins.__import__

    def no_pyspark(name: str, *args: object, **kwargs: object) -> object:
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(EngineUnavailable) as caught:
        compute_volumes(_inputs(tmp_path, [_claim(1)]), YEAR, engine="spark")
    assert "openqpp[spark]" in caught.value.fix


def test_validated_tables_read_with_the_contract_types(tmp_path: Path) -> None:
    from openqpp.batch.inputs import read_table

    tables = validate_inputs(_inputs(tmp_path, [_claim(1)]), YEAR)
    clinicians = read_table(tables, "clinicians")
    assert clinicians.column_names == CLINICIAN_HEADER
    assert clinicians.column("first_enrolled").to_pylist() == [dt.date(2001, 1, 1)]
    qp = read_table(tables, "qp_status")
    assert qp.num_rows == 0
    assert qp.column_names == ["npi", "qp_status"]
