"""APM entities opt in by signed letter in 2019 (not in 2022): the operator writes the
notification letters from the determination and records a returned letter with its scan,
through the real command line."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from tests.support.elections_world import (
    APM_ENTITY,
    GREEN,
    LAKESIDE,
    LAKESIDE_NPI,
    World,
    write_world_claims,
)
from typer.testing import CliRunner

from openqpp.cli import app
from openqpp.db.models import ApmElectionLetter, AuditRecord, Election
from openqpp.services import eligibility_lookup as lookup

SCAN = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def _cli(world: World, *args: str, clock: str = "2019-10-20T11:00:00-04:00") -> object:
    return CliRunner().invoke(
        app,
        list(args),
        env={"OPENQPP_DATABASE_URL": world.url, "OPENQPP_CLOCK": clock, "COLUMNS": "200"},
    )


def _record(world: World, tmp_path: Path, *extra: str, clock: str = "2019-10-20T11:00:00-04:00"):  # type: ignore[no-untyped-def]
    scan = tmp_path / "signed-letter.pdf"
    scan.write_bytes(SCAN)
    return _cli(
        world,
        "elections", "record-apm-letter", "--apm-entity", APM_ENTITY.lower(), "--year", "2019",
        "--name", "Jane Doe", "--position", "Chief Executive Officer",
        "--signed-on", "2019-10-15", "--file", str(scan), *extra,
        clock=clock,
    )  # fmt: skip


def test_september_letters_follow_the_guide_with_the_years_numbers(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "letters"
    result = _cli(world, "elections", "apm-letters", "--year", "2019", "--round", "september",
                  "--out", str(out), "--return-to", "apm-optin@operator.example")  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    (letter,) = sorted(out.iterdir())
    assert letter.name == f"apm-opt-in-letter-2019-september-{APM_ENTITY}.txt"
    text = " ".join(letter.read_text().split())  # the letter is wrapped at 90 columns
    for expected in (
        "Dear Sunshine ACO,",
        "participant in Medicare Shared Savings Program",
        "is a MIPS APM",
        f"APM Entity ID ({APM_ENTITY})",
        "(10/1/2017-9/30/2018 and 10/1/2018-9/30/2019)",
        "Bills more than $90,000 for Part B covered professional services AND",
        "Sees more than 200 Part B patients AND",
        "Provides more than 200 covered professional services to Part B patients",
        "150 Part B patients",
        "$90,300 in allowed charges",
        "payment adjustment (positive, negative or neutral) in 2021",
        "[ ] WE ELECT TO OPT-IN TO MIPS REPORTING",
        "PRINTED NAME",
        "SIGNATURE",
        "POSITION",
        "apm-optin@operator.example by April 30, 2020 at 8:00 PM ET",
        "will not be binding until the end of the second determination period",
    ):
        assert expected in text, expected
    # with no later determination run there is nobody newly opt-in eligible for December
    december = _cli(world, "elections", "apm-letters", "--year", "2019", "--round", "december",
                    "--out", str(tmp_path / "dec"))  # fmt: skip
    assert december.exit_code == 0  # type: ignore[attr-defined]
    assert "0 letter(s)" in december.output  # type: ignore[attr-defined]


def test_december_letters_go_to_entities_newly_opt_in_eligible_in_a_later_run(
    world: World, tmp_path: Path
) -> None:
    claims = write_world_claims(tmp_path / "claims", 2019)
    with (claims / "apm_participation.csv").open("a") as handle:
        handle.write(f"A5678,Oncology Care Model,{LAKESIDE},{LAKESIDE_NPI},2019-08-31,true,true\n")
    rerun = _cli(world, "eligibility", "determine", "--claims", str(claims), "--year", "2019",
                 "--out", str(tmp_path / "run2.parquet"))  # fmt: skip
    assert rerun.exit_code == 0, rerun.output  # type: ignore[attr-defined]
    out = tmp_path / "december"
    result = _cli(world, "elections", "apm-letters", "--year", "2019", "--round", "december",
                  "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    (letter,) = sorted(out.iterdir())
    text = " ".join(letter.read_text().split())
    assert "Dear APM Entity A5678," in text
    assert "Oncology Care Model is an Advanced Alternative Payment Model" in text
    assert "After the second 12-month segment" in text
    assert "not be binding" not in text


def test_there_are_no_apm_letters_in_2022(world: World, tmp_path: Path) -> None:
    result = _cli(world, "elections", "apm-letters", "--year", "2022", "--round", "september",
                  "--out", str(tmp_path))  # fmt: skip
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "OQ-ELECT-006" in result.output  # type: ignore[attr-defined]
    assert "can't opt in" in result.output  # type: ignore[attr-defined]


def test_the_operator_records_a_signed_letter_with_its_scan(world: World, tmp_path: Path) -> None:
    result = _record(world, tmp_path, "--confirm", "confirm")
    assert result.exit_code == 0, result.output
    assert "opted in for 2019" in result.output
    digest = hashlib.sha256(SCAN).hexdigest()
    assert digest in result.output
    with world.factory() as session:
        election = session.scalars(select(Election)).one()
        letter = session.scalars(select(ApmElectionLetter)).one()
        audits = {r.action for r in session.scalars(select(AuditRecord))}
        view = lookup.lookup_npi(session, GREEN, year=2019)
    assert (election.level, election.entity_key, election.kind) == (
        "apm_entity",
        APM_ENTITY,
        "opt_in",
    )
    assert (election.actor, election.channel, election.actor_kind) == (
        "operator",
        "apm_letter",
        "operator",
    )
    assert (letter.printed_name, letter.position) == ("Jane Doe", "Chief Executive Officer")
    assert letter.signed_on.isoformat() == "2019-10-15"
    assert (letter.content, letter.content_sha256, letter.content_type) == (
        SCAN,
        digest,
        "application/pdf",
    )
    assert {"election.confirmed", "election.apm_letter_recorded"} <= audits
    (apm,) = view.organizations[0].apms
    assert apm.result is not None
    assert apm.result.is_opted_in is True
    # recorded once: the second letter is "already elected", and no letter goes out for it
    again = _record(world, tmp_path, "--confirm", "CONFIRM")
    assert again.exit_code == 2
    assert "OQ-ELECT-002" in again.output
    out = tmp_path / "after"
    letters = _cli(world, "elections", "apm-letters", "--year", "2019", "--round", "september",
                   "--out", str(out))  # fmt: skip
    assert "0 letter(s)" in letters.output  # type: ignore[attr-defined]


def test_a_letter_needs_confirm_a_scan_and_a_year_that_allows_it(
    world: World, tmp_path: Path
) -> None:
    unconfirmed = _record(world, tmp_path, "--confirm", "ok")
    assert unconfirmed.exit_code == 2
    assert "OQ-ELECT-008" in unconfirmed.output
    not_a_scan = tmp_path / "letter.txt"
    not_a_scan.write_text("I agree")
    wrong_file = _cli(world, "elections", "record-apm-letter", "--apm-entity", APM_ENTITY,
                      "--year", "2019", "--name", "Jane Doe", "--position", "CEO",
                      "--signed-on", "2019-10-15", "--file", str(not_a_scan),
                      "--confirm", "CONFIRM")  # fmt: skip
    assert wrong_file.exit_code == 2  # type: ignore[attr-defined]
    assert "OQ-ELECT-030" in wrong_file.output  # type: ignore[attr-defined]
    future = _record(world, tmp_path, "--confirm", "CONFIRM", clock="2019-10-01T11:00:00-04:00")
    assert future.exit_code == 2
    assert "in the future" in future.output
    closed = _record(world, tmp_path, "--confirm", "CONFIRM", clock="2020-05-01T00:00:00Z")
    assert closed.exit_code == 2
    assert "OQ-ELECT-004" in closed.output
    scan = tmp_path / "s.pdf"
    scan.write_bytes(SCAN)
    in_2022 = _cli(world, "elections", "record-apm-letter", "--apm-entity", APM_ENTITY,
                   "--year", "2022", "--name", "Jane Doe", "--position", "CEO",
                   "--signed-on", "2023-01-15", "--file", str(scan), "--confirm", "CONFIRM",
                   clock="2023-03-01T12:00:00-05:00")  # fmt: skip
    assert in_2022.exit_code == 2  # type: ignore[attr-defined]
    assert "OQ-ELECT-006" in in_2022.output  # type: ignore[attr-defined]
    with world.factory() as session:
        assert session.scalars(select(Election)).all() == []
