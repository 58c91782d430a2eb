"""No secret in the logs (structured JSON, as OPENQPP_LOG_JSON writes them), in error answers or
in audit records: every route is called (generated from the route table) by anonymous callers,
a signed-in person (session cookie, CSRF token in the form or the X-CSRF-Token header), the
practice's and the registry's API tokens and a revoked and an expired one, with an
Idempotency-Key on every API write; then the error paths: bad bodies (4xx), wrong and right
passwords at sign-in, and server errors (500) from a database that refuses to write audit
records (a trigger injected for the purpose). The secrets: API tokens, session cookies, CSRF
tokens and secrets, passwords, Idempotency-Keys."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from tests.support.access_http import csrf_from
from tests.support.security_http import UNSAFE, Exchange, Matrix
from tests.support.security_routes import RULES
from tests.support.security_world import (
    MEMBER_OF,
    PASSWORD,
    PRACTICE,
    user_id,
)

from openqpp.core.access import Role
from openqpp.db.models import AuditRecord
from openqpp.services import database

CALLERS = {
    "anonymous",
    "practice-security_official",
    "registry-staff_user",
    "practice-token",
    "registry-token",
    "revoked-token",
    "expired-token",
}
FAULT = {
    "sqlite": [
        "CREATE TRIGGER sec_injected_fault BEFORE INSERT ON audit_records "
        "BEGIN SELECT RAISE(ABORT, 'injected fault: audit records cannot be written'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION sec_injected_fault() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault: audit records cannot be written'; END $$",
        "CREATE TRIGGER sec_injected_fault BEFORE INSERT ON audit_records "
        "FOR EACH ROW EXECUTE FUNCTION sec_injected_fault()",
    ],
}
UNFAULT = {
    "sqlite": ["DROP TRIGGER sec_injected_fault"],
    "postgresql": [
        "DROP TRIGGER sec_injected_fault ON audit_records",
        "DROP FUNCTION sec_injected_fault()",
    ],
}


@pytest.fixture
def matrix(security_matrix: Matrix) -> Matrix:
    return security_matrix


class Secrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, what: str, value: str | None) -> None:
        if value:
            self.values[value] = what

    def found_in(self, text_: str, *, skip: tuple[str, ...] = ()) -> list[str]:
        return [
            f"{what} ({value[:6]}...)"
            for value, what in self.values.items()
            if value in text_ and not what.startswith(skip)
        ]


def _execute(url: str, statements: list[str]) -> None:
    with database.engine_for(url).begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_no_secret_reaches_the_logs_error_answers_or_audit_records(
    matrix: Matrix, capsys: pytest.CaptureFixture[str]
) -> None:
    found = Secrets()
    for name, token in matrix.made.tokens.items():
        found.add(f"API token ({name})", token)
    for agent in matrix.agents.values():
        found.add("session cookie", agent.client.cookies.get("oq_session"))
        found.add("CSRF secret", agent.client.cookies.get("oq_csrf"))
        found.add("CSRF token", agent.csrf)
        found.add("CSRF token before sign-in", agent.csrf_before_sign_in)
    found.add("password", PASSWORD)
    exchanges: list[Exchange] = []

    def send(key: str, caller_name: str, **how: Any) -> Exchange:
        rule = RULES[key]
        caller = next(c for c in matrix.callers if c.name == caller_name)
        place = rule.scope(caller, matrix.made)[0]
        headers = dict(how.pop("headers", {}))
        if key.split(" ")[0] in UNSAFE and " /api/" in key:
            key_value = f"idem-{secrets.token_urlsafe(16)}"
            found.add("Idempotency-Key", key_value)
            headers["Idempotency-Key"] = key_value
        exchange = matrix.send(key, rule, caller, place, headers=headers, **how)
        exchanges.append(exchange)
        return exchange

    # every route, every kind of caller (its own organisation)
    for key in RULES:
        for caller in matrix.callers:
            if caller.name in CALLERS:
                send(key, caller.name)
    # malformed bodies from an API token (4xx, nothing stored)
    token_caller = next(c for c in matrix.callers if c.name == "practice-token")
    for key, rule in RULES.items():
        if key.split(" ")[0] in UNSAFE and " /api/" in key and (rule.json or rule.content):
            broken = replace(
                rule,
                json=None,
                content=lambda place, made: b'{"measurementSets": [',
                headers=lambda place, made: {"Content-Type": "application/json"},
            )
            place = rule.scope(token_caller, matrix.made)[0]
            idem = f"idem-{secrets.token_urlsafe(16)}"
            found.add("Idempotency-Key", idem)
            exchange = matrix.send(
                key, broken, token_caller, place, headers={"Idempotency-Key": idem}
            )
            assert 400 <= exchange.response.status_code < 500, (key, exchange.response.text)
            exchanges.append(exchange)
    # passwords at sign-in: a wrong one and the right one
    browser = TestClient(matrix.app)
    wrong = f"Wrong-{secrets.token_urlsafe(12)}"
    found.add("password (wrong)", wrong)
    official = user_id(PRACTICE, Role.SECURITY_OFFICIAL)
    for password in (wrong, PASSWORD):
        browser.post(
            "/signin",
            data={
                "user_id": official,
                "password": password,
                "statement_of_truth": "yes",
                "csrf_token": csrf_from(browser.get("/signin").text),
            },
            follow_redirects=False,
        )
    found.add("session cookie", browser.cookies.get("oq_session"))
    found.add("CSRF secret", browser.cookies.get("oq_csrf"))
    signed_in_csrf = csrf_from(browser.get("/account").text)
    found.add("CSRF token", signed_in_csrf)

    # server errors: the database refuses every audit record
    _execute(matrix.url, FAULT[matrix.kind])
    try:
        failing = TestClient(matrix.app)
        answers = [
            failing.post(
                "/signin",
                data={
                    "user_id": official,
                    "password": PASSWORD,
                    "statement_of_truth": "yes",
                    "csrf_token": csrf_from(failing.get("/signin").text),
                },
            ),
            browser.post(
                f"/api/access/organisations/practice/{MEMBER_OF[PRACTICE]}/tokens",
                json={"label": "during the fault"},
                headers={"X-CSRF-Token": signed_in_csrf},
            ),
            browser.post(
                "/account/roles",
                data={
                    "organisation_type": "practice",
                    "identifier": "454599323",
                    "role": "staff_user",
                    "csrf_token": signed_in_csrf,
                },
            ),
        ]
        idem = f"idem-{secrets.token_urlsafe(16)}"
        found.add("Idempotency-Key", idem)
        answers.append(
            TestClient(matrix.app).put(
                "/api/eligibility/opt-in",
                json={
                    "data": [{"tin": MEMBER_OF[PRACTICE], "decision": "voluntary"}],
                    "year": 2022,
                    "confirm": "CONFIRM",
                },
                headers={
                    "Authorization": f"Bearer {matrix.made.tokens['practice-token']}",
                    "Idempotency-Key": idem,
                },
            )
        )
    finally:
        _execute(matrix.url, UNFAULT[matrix.kind])
    statuses = [a.status_code for a in answers]
    assert statuses.count(500) >= 3, statuses
    for answer in answers:
        if answer.status_code == 500:
            assert "OQ-SERVER-001" in answer.text
            assert "Traceback" not in answer.text

    logs = capsys.readouterr()
    written = logs.err + logs.out
    lines = [line for line in written.splitlines() if line.startswith("{")]
    assert len(lines) > len(exchanges), "the JSON request log lines were captured"
    assert any(json.loads(line).get("message") == "unhandled error" for line in lines)
    problems = [f"in the logs: {s}" for s in found.found_in(written)]
    if "oqp_" in written:
        problems.append("in the logs: something shaped like an API token (oqp_...)")
    for exchange in exchanges:
        response = exchange.response
        if response.status_code < 400:
            continue
        # a person's own page carries its CSRF token in its forms (sign-out): not a leak
        skip = ("CSRF token",) if "text/html" in response.headers.get("content-type", "") else ()
        for secret in found.found_in(response.text, skip=skip):
            problems.append(f"in the {response.status_code} answer to {exchange.key}: {secret}")
    for answer in answers:
        skip = ("CSRF token",) if "text/html" in answer.headers.get("content-type", "") else ()
        problems += [f"in a 500 answer: {s}" for s in found.found_in(answer.text, skip=skip)]
    with database.session_factory(matrix.url)() as session:
        records = session.scalars(select(AuditRecord)).all()
        assert len(records) > 50
        for record in records:
            row = json.dumps(
                {c.name: getattr(record, c.key) for c in AuditRecord.__mapper__.columns},
                default=str,
            )
            problems += [f"in audit record {record.action}: {s}" for s in found.found_in(row)]
    assert not problems, "\n".join(sorted(set(problems)))
