"""Claims in, a determination run in the database, answers out: CLI, service and API together."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from openqpp.batch.demo import CLINICIANS, GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.cli import app
from openqpp.db.models import DeterminationRun, EligibilityResultRow
from openqpp.services import database
from openqpp.services import eligibility_lookup as lookup
from openqpp.settings import Settings
from openqpp.web import create_app

DEBARA = CLINICIANS[0].npi
PODIATRIST = CLINICIANS[2].npi


def _client(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, log_level="warning")))


def test_guide_practice_is_exempt_but_opt_in_eligible_as_a_group(loaded_run: str) -> None:
    with database.session_factory(loaded_run)() as session:
        view = lookup.lookup_npi(session, PODIATRIST, year=2019)
    (org,) = view.organizations
    assert org.tin == GREENVILLE_PODIATRY
    assert org.group is not None
    assert org.group.display == "MIPS EXEMPT · Opt-in eligible"
    assert {c.value for c in org.group.exceeded} == {"allowed_charges", "covered_services"}
    latest = org.group.latest
    assert latest is not None
    assert (latest.beneficiaries, latest.allowed_charges, latest.covered_services) == (
        150,
        90300,
        234,
    )
    assert any("150 Medicare patients" in text for text in org.group.reason_texts)


def test_npi_api_answers_from_the_loaded_run_in_the_v6_shape(loaded_run: str) -> None:
    response = _client(loaded_run).get(
        f"/api/eligibility/npi/{DEBARA}",
        headers={"Accept": "application/vnd.qpp.cms.gov.v6+json"},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["npi"] == DEBARA
    assert (data["firstName"], data["lastName"]) == ("Debara", "Jones")
    (org,) = data["organizations"]
    assert org["TIN"] == "XXXXXXXXXX"
    individual = org["individualScenario"]
    assert individual["isOptInEligible"] is True
    assert individual["isEligible"]["individual"] is False
    assert individual["isEligible"]["group"] is True
    assert individual["lowVolumeSwitch"] is True
    assert individual["lowVolumeStatusReasons"][0]["lowVolStusRsnCd"] == "BENE/SRVC"
    assert individual["isOptedIn"] is None
    assert org["groupScenario"]["isEligible"]["group"] is True
    # 2019 run-out and segment dates are verified; the group share rules it relies on are not
    assert "eligibility.special_status.rural_group" in data["unverifiedPolicy"]
    assert individual["explanation"]["reasons"][0]["text"].startswith(
        "Exceeds low volume threshold: No"
    )


def test_unknown_npi_is_404_and_malformed_npi_is_400_in_the_documented_shape(
    loaded_run: str,
) -> None:
    client = _client(loaded_run)
    missing = client.get("/api/eligibility/npi/9999999995")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NoProviderInformation"
    for bad, code in (("1234567890", "OQ-NPI-002"), ("12345", "OQ-NPI-001")):
        response = client.get(f"/api/eligibility/npi/{bad}")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "InvalidFormatNpi"
        assert error["code"] == code
        assert "NPI" in error["message"]


def test_several_npis_at_once(loaded_run: str) -> None:
    response = _client(loaded_run).get(f"/api/eligibility/npis/{DEBARA},{PODIATRIST},9999999995")
    assert response.status_code == 200
    assert [d["npi"] for d in response.json()["data"]] == [DEBARA, PODIATRIST]


def test_roster_answers_csv_and_json_with_line_errors(loaded_run: str) -> None:
    client = _client(loaded_run)
    roster = f"tin,npi\n{MIAMI_MEDICAL},{DEBARA}\n{GREENVILLE_PODIATRY},\n12345,{DEBARA}\n"
    as_json = client.post("/api/eligibility/roster", content=roster)
    assert as_json.status_code == 200, as_json.text
    results = as_json.json()["data"]["results"]
    assert results[0]["individual"]["status"] == "opt_in_eligible"
    assert results[0]["group"]["status"] == "eligible"
    assert results[1]["group"]["status"] == "opt_in_eligible"
    assert results[1]["individual"] is None
    assert "OQ-TIN-001" in results[2]["error"]
    as_csv = client.post("/api/eligibility/roster?format=csv", content=roster)
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.strip().splitlines()
    assert lines[0].startswith("line,tin,npi,individual_status,group_status")
    assert len(lines) == 4


def test_roster_over_ten_thousand_rows_is_refused(loaded_run: str) -> None:
    body = "tin,npi\n" + f"{MIAMI_MEDICAL},{DEBARA}\n" * 10_001
    response = _client(loaded_run).post("/api/eligibility/roster", content=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OQ-ROSTER-003"


def test_roster_lines_end_at_any_newline_and_unreadable_csv_is_refused(loaded_run: str) -> None:
    client = _client(loaded_run)
    # A bare carriage return ends a line (it made the CSV reader raise: a 500 before).
    answered = client.post(
        "/api/eligibility/roster", content=f"tin,npi\r{MIAMI_MEDICAL},{DEBARA}\r"
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["data"]["results"][0]["individual"]["status"] == "opt_in_eligible"
    oversized_field = "tin,npi\n" + "1" * 200_000 + ",\n"
    refused = client.post("/api/eligibility/roster", content=oversized_field)
    assert refused.status_code == 400
    # Its own code: OQ-ROSTER-004 is the roster past its size limit (413).
    assert refused.json()["error"]["code"] == "OQ-ROSTER-006"
    assert "at line 2" in refused.json()["error"]["message"]


def test_stats_count_results_by_level_and_status(loaded_run: str) -> None:
    data = _client(loaded_run).get("/api/eligibility/stats?year=2019").json()["data"]
    assert data["counts"]["group"] == {"eligible": 1, "opt_in_eligible": 1}
    assert data["individual"]["hccRiskScoreAverage"] is None


def test_results_are_written_to_parquet(loaded_run: str, tmp_path: Path) -> None:
    table = pq.read_table(tmp_path / "results.parquet")
    assert table.num_rows == 6  # four TIN/NPIs and two TINs
    assert set(table.column("level").to_pylist()) == {"individual", "group"}
    (greenville,) = [r for r in table.to_pylist() if r["entity_key"] == GREENVILLE_PODIATRY]
    assert greenville["status"] == "opt_in_eligible"
    assert (greenville["s2_beneficiaries"], greenville["s2_covered_services"]) == (150, 234)
    assert str(greenville["s2_allowed_charges"]) == "90300.00"
    assert greenville["exceeded"] == "allowed_charges,covered_services"
    assert "150 Medicare patients" in greenville["reasons"]


def test_each_determination_is_kept_as_a_new_run_and_diff_lists_changes(
    loaded_run: str, demo_claims: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"OPENQPP_DATABASE_URL": loaded_run, "COLUMNS": "200"}
    again = runner.invoke(
        app,
        [
            "eligibility",
            "determine",
            "--claims",
            str(demo_claims),
            "--year",
            "2019",
            "--out",
            str(tmp_path / "second.parquet"),
        ],
        env=env,
    )
    assert again.exit_code == 0, again.output
    with database.session_factory(loaded_run)() as session:
        numbers = session.scalars(select(DeterminationRun.run_number)).all()
    assert sorted(numbers) == [1, 2]
    same = runner.invoke(app, ["eligibility", "diff", "2019:1", "2019:2"], env=env)
    assert same.exit_code == 0, same.output
    assert "0 entities changed" in same.output
    runs = runner.invoke(app, ["eligibility", "runs"], env=env)
    assert "2019:2" in runs.output
    for bad in ("2019:x", "2019:9", "nope"):
        refused = runner.invoke(app, ["eligibility", "diff", "2019:1", bad], env=env)
        assert refused.exit_code == 2, refused.output
        assert "OQ-ELIG-404-RUN" in refused.output
        assert "Traceback" not in refused.output


@pytest.mark.parametrize(
    ("table", "content", "expected"),
    [
        ("claim_lines.csv", None, "OQ-CLAIMS"),
    ],
)
def test_bad_claims_are_refused_and_nothing_is_loaded(
    database_url: str, demo_claims: Path, table: str, content: str | None, expected: str
) -> None:
    database.upgrade(database_url)
    path = demo_claims / table
    rows = path.read_text().splitlines()
    rows[5] = rows[5].replace(",99213,", ",99213,").replace(rows[5].split(",")[7], "-12.00", 1)
    path.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(
        app,
        ["eligibility", "determine", "--claims", str(demo_claims), "--year", "2019"],
        env={"OPENQPP_DATABASE_URL": database_url, "COLUMNS": "200"},
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "claim_lines.csv" in result.output
    assert "allowed_amount" in result.output
    with database.session_factory(database_url)() as session:
        assert session.scalar(select(func.count()).select_from(DeterminationRun)) == 0
        assert session.scalar(select(func.count()).select_from(EligibilityResultRow)) == 0


def _practice_token(url: str, user_id: str, tin: str) -> str:
    from tests.support.access_world import principal

    from openqpp.core.access import OrganisationType
    from openqpp.services import access, audit, demo

    with database.session_factory(url).begin() as session:
        demo.load_demo(session)
        demo.load_demo_access(session)
    with database.session_factory(url).begin() as session:
        return access.create_token(
            session,
            principal=principal(session, user_id),
            organisation_type=OrganisationType.PRACTICE,
            identifier=tin,
            label="lookup",
            context=audit.RequestContext(),
        ).token


def test_tins_are_shown_in_full_only_to_callers_entitled_to_the_practice(loaded_run: str) -> None:
    client = _client(loaded_run)
    miami = _practice_token(loaded_run, "maria.garcia", MIAMI_MEDICAL)
    greenville = _practice_token(loaded_run, "lee.wong", GREENVILLE_PODIATRY)

    def tin(headers: dict[str, str]) -> str:
        response = client.get(f"/api/eligibility/npi/{DEBARA}", headers=headers)
        assert response.status_code == 200, response.text
        return str(response.json()["data"]["organizations"][0]["TIN"])

    assert tin({}) == "XXXXXXXXXX"
    assert tin({"Authorization": f"Bearer {miami}"}) == MIAMI_MEDICAL
    assert tin({"Authorization": f"Bearer {greenville}"}) == "XXXXXXXXXX"
    bad = client.get(f"/api/eligibility/npi/{DEBARA}", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_a_recorded_run_leaves_the_planner_statistics_of_its_tables(loaded_run: str) -> None:
    """PostgreSQL: the run's tables are analysed with the run, so the first lookups after a
    load are planned from the new rows, not from empty tables (see services.eligibility)."""
    if not loaded_run.startswith("postgresql"):
        pytest.skip("SQLite's planner is left without statistics on purpose")
    from sqlalchemy import text

    with database.session_factory(loaded_run)() as session:
        analysed = set(
            session.scalars(
                text("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()")
            )
        )
        tuples = session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'eligibility_results'")
        )
    assert {"eligibility_results", "run_clinicians"} <= analysed
    assert tuples is not None
    assert tuples > 0
