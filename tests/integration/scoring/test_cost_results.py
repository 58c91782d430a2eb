"""`openqpp scoring load-cost FILE --year Y`: CMS's cost measure results loaded all or nothing,
checked line by line, the case minimum from the file or the year's policy, a newer file
replacing a measure's row, one audit record per load (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from openqpp.cli import app
from openqpp.db.models import AuditRecord, CostMeasureResultRow
from openqpp.services import database, scoring_costs

TIN = "123456789"
NPI = "1234567893"
HEADER = "tin,npi,measure_id,case_count,case_minimum,points\n"


def _run(url: str, path: Path, year: int = 2019) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["scoring", "load-cost", str(path), "--year", str(year)],
        env={"OPENQPP_DATABASE_URL": url, "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def _rows(url: str) -> list[CostMeasureResultRow]:
    with database.session_factory(url)() as session:
        return list(
            session.scalars(select(CostMeasureResultRow).order_by(CostMeasureResultRow.measure_id))
        )


def test_load_cost_stores_each_result_with_its_case_minimum(
    database_url: str, tmp_path: Path
) -> None:
    database.upgrade(database_url)
    path = tmp_path / "cms-cost-2019.csv"
    path.write_text(
        HEADER + f"{TIN},,TPCC_1,45,,7.5\n{TIN},,MSPB_1,20,,\n{TIN},{NPI},cost_ka_1,12,10,6.2\n",
        encoding="utf-8",
    )
    code, output = _run(database_url, path)
    assert code == 0, output
    assert "3 cost result(s) for 2 entities loaded for 2019" in output
    rows = {(r.entity_key, r.measure_id): r for r in _rows(database_url)}
    tpcc = rows[(TIN, "TPCC_1")]
    assert (tpcc.case_count, tpcc.case_minimum, tpcc.case_minimum_source) == (45, 20, "policy")
    assert tpcc.points == Decimal("7.5")
    mspb = rows[(TIN, "MSPB_1")]
    assert (mspb.case_minimum, mspb.points) == (35, None)
    knee = rows[(f"{TIN}/{NPI}", "COST_KA_1")]
    assert (knee.npi, knee.case_minimum, knee.case_minimum_source) == (NPI, 10, "file")
    assert knee.source_file == "cms-cost-2019.csv"
    with database.session_factory(database_url)() as session:
        actions = session.scalars(select(AuditRecord.action)).all()
        results = scoring_costs.cost_results_for(session, year=2019, tin=TIN)
    assert actions == ["scoring.cost_results_loaded"]
    assert [r.result.measure_id for r in results] == ["MSPB_1", "TPCC_1"]


def test_a_newer_file_replaces_the_measure_it_repeats(database_url: str, tmp_path: Path) -> None:
    database.upgrade(database_url)
    first = tmp_path / "first.csv"
    first.write_text(HEADER + f"{TIN},,TPCC_1,45,,7.5\n{TIN},,MSPB_1,40,,5\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text(HEADER + f"{TIN},,TPCC_1,50,,9\n", encoding="utf-8")
    assert _run(database_url, first)[0] == 0
    code, output = _run(database_url, second)
    assert code == 0, output
    assert "0 new, 1 replaced" in output
    rows = {r.measure_id: r for r in _rows(database_url)}
    assert rows["TPCC_1"].points == 9
    assert rows["TPCC_1"].source_file == "second.csv"
    assert rows["MSPB_1"].points == 5


def test_a_bad_line_stores_nothing_and_every_problem_is_listed(
    database_url: str, tmp_path: Path
) -> None:
    database.upgrade(database_url)
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + f"{TIN},,TPCC_1,45,,7.5\n"
        + "12345678,,TPCC_1,x,,11\n"
        + f"{TIN},1234567890,NOT_A_COST,5,,\n"
        + f"{TIN},,TPCC_1,45,,7\n",
        encoding="utf-8",
    )
    code, output = _run(database_url, path)
    assert code == 1
    for expected in (
        "no cost result was stored",
        "line 3 (tin)",
        "line 3 (case_count)",
        "line 3 (points)",
        "line 4 (npi)",
        "NOT_A_COST is not a cost measure of performance year 2019",
        "line 5 (measure_id) TPCC_1 for 123456789 is also on line 2",
    ):
        assert expected in output, output
    assert _rows(database_url) == []
    with database.session_factory(database_url)() as session:
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 0


def test_a_file_without_the_required_columns_is_refused(database_url: str, tmp_path: Path) -> None:
    database.upgrade(database_url)
    path = tmp_path / "wrong.csv"
    path.write_text("tin,measure,cases\n123456789,TPCC_1,4\n", encoding="utf-8")
    code, output = _run(database_url, path)
    assert code == 1
    assert "Missing: measure_id, case_count" in output
    assert "Unknown: measure, cases" in output
