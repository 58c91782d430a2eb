"""The operator's access commands and `openqpp audit search`, as a user runs them."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from openqpp.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_operator_sets_up_an_organisation_its_first_security_official_and_a_client(
    sqlite_url: str,
) -> None:
    run("db", "upgrade", "--url", sqlite_url)
    run(
        "access",
        "org",
        "add",
        "practice",
        "12-3456789",
        "Miami Medical",
        "--url",
        sqlite_url,
        "--address",
        "213 Miami Ln., Miami, FL",
    )
    run(
        "access",
        "org",
        "add",
        "registry",
        "aan-qcdr",
        "American Academy of Neurology",
        "--registry-type",
        "qcdr",
        "--url",
        sqlite_url,
    )
    listed = run("access", "org", "list", "--url", sqlite_url)
    assert "123456789" in listed
    assert "QCDR" in listed
    assert "AAN-QCDR" in listed
    added = run(
        "access",
        "user",
        "add",
        "maria.garcia",
        "--name",
        "Maria Garcia",
        "--email",
        "maria@example.org",
        "--url",
        sqlite_url,
    )
    password = re.search(r"Password \(shown once\): (\S+)", added)
    assert password
    assert len(password.group(1)) >= 12
    granted = run(
        "access",
        "grant",
        "maria.garcia",
        "security_official",
        "practice",
        "123456789",
        "--expires",
        "2099-12-31",
        "--url",
        sqlite_url,
    )
    assert "Security Official at Miami Medical until 2100-01-01" in granted
    authorised = run(
        "access",
        "authorise-client",
        "AAN-QCDR",
        "123456789",
        "2019",
        "--evidence",
        "agreement 17",
        "--url",
        sqlite_url,
    )
    assert "may act for Miami Medical (the whole practice) in 2019" in authorised

    by_tin = run("audit", "search", "--tin", "123456789", "--url", sqlite_url)
    assert "role.granted" in by_tin
    assert "client_authorisation.granted" in by_tin
    assert "operator" in by_tin
    assert "2 record(s)" in by_tin
    by_actor = run("audit", "search", "--actor", "operator", "--url", sqlite_url)
    assert "user.created" in by_actor
    assert password.group(1) not in by_actor
    assert "0 record(s)" in run("audit", "search", "--npi", "1234567893", "--url", sqlite_url)


def test_operator_errors_are_codes_with_a_fix_not_tracebacks(sqlite_url: str) -> None:
    run("db", "upgrade", "--url", sqlite_url)
    run("access", "org", "add", "practice", "123456789", "Miami Medical", "--url", sqlite_url)
    cases = [
        (["access", "grant", "nobody", "staff_user", "practice", "123456789"], "OQ-ACCESS-010"),
        (["access", "grant", "nobody", "clinician", "registry", "AAN"], "OQ-ACCESS-004"),
        (["access", "org", "add", "hospital", "1", "X"], "OQ-ACCESS-010"),
        (["access", "org", "add", "practice", "12345", "X"], "OQ-TIN-001"),
        (["audit", "search", "--npi", "1234567890"], "OQ-NPI-002"),
    ]
    for args, code in cases:
        result = runner.invoke(app, [*args, "--url", sqlite_url], env=WIDE)
        assert result.exit_code == 2, (args, result.output)
        assert code in result.output, (args, result.output)
        assert "how to fix" in result.output
        assert "Traceback" not in result.output


def test_matrix_command_prints_cells_with_references() -> None:
    output = run("access", "matrix", "--role", "clinician", "--kind", "practice")
    assert "view_eligibility" in output
    assert "Appendix A" in output
