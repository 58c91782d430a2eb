"""Sessions over HTTP: nothing a browser had before sign-in (a session cookie planted by an
attacker, a real session of someone else, the anonymous CSRF secret and token) survives sign-in;
sign-out, a password reset and the end of a session's lifetime end it on the server, for pages
and APIs alike; a role that expires stops working in the very next request of the same
session."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.support.access_http import csrf_from, sign_in
from tests.support.security_world import (
    PASSWORD,
    PRACTICE,
    SecurityWorld,
    security_settings,
    user_id,
)
from typer.testing import CliRunner

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.cli import app as cli
from openqpp.core.access import OrganisationType, Role
from openqpp.db.base import utcnow
from openqpp.db.models import AuditRecord, RoleGrant, WebSession
from openqpp.services import access, database
from openqpp.services.access.principals import digest
from openqpp.web import create_app

STAFF = user_id(PRACTICE, Role.STAFF_USER)
CLINICIAN = user_id(PRACTICE, Role.CLINICIAN)
OFFICIAL = user_id(PRACTICE, Role.SECURITY_OFFICIAL)
PRACTICE_PAGE = f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}"


@pytest.fixture(scope="module")
def app(security_world: SecurityWorld) -> FastAPI:
    return create_app(security_settings(security_world.url))


def _signed_in(client: TestClient) -> bool:
    """Whether the client's session is alive, asked of a page and of an API."""
    page = client.get("/account", follow_redirects=False)
    api = client.get("/api/access/me")
    assert (page.status_code == 200) == (api.status_code == 200), (page.status_code, api.text)
    return page.status_code == 200


def _with_session(app: FastAPI, cookie: str) -> TestClient:
    return TestClient(app, cookies={"oq_session": cookie})


def _sign_in_form(client: TestClient, uid: str, token: str) -> Any:
    return client.post(
        "/signin",
        data={
            "user_id": uid,
            "password": PASSWORD,
            "statement_of_truth": "yes",
            "csrf_token": token,
        },
        follow_redirects=False,
    )


def test_a_session_cookie_planted_before_sign_in_is_replaced_and_never_signed_in(
    app: FastAPI,
) -> None:
    planted = secrets.token_urlsafe(32)
    victim = _with_session(app, planted)
    assert not _signed_in(victim)
    response = _sign_in_form(victim, STAFF, csrf_from(victim.get("/signin").text))
    assert response.status_code == 303
    issued = response.cookies.get("oq_session")
    assert issued
    assert issued != planted
    assert _signed_in(victim)
    assert not _signed_in(_with_session(app, planted))


def test_someone_elses_session_planted_in_a_browser_ends_when_it_signs_in(
    app: FastAPI, security_world: SecurityWorld
) -> None:
    attacker = TestClient(app)
    sign_in(attacker, CLINICIAN, PASSWORD)
    planted = attacker.cookies.get("oq_session")
    assert planted
    victim = _with_session(app, planted)  # e.g. set through a sibling domain's cookie
    response = _sign_in_form(victim, OFFICIAL, csrf_from(victim.get("/signin").text))
    assert response.status_code == 303
    assert response.cookies.get("oq_session") not in (None, planted)
    assert not _signed_in(_with_session(app, planted))
    assert not _signed_in(attacker)
    with database.session_factory(security_world.url)() as session:
        ended = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "sign_out", AuditRecord.actor == CLINICIAN
            )
        ).all()
    assert ended, "ending the planted session is audited"


def test_the_csrf_secret_and_token_from_before_sign_in_do_not_work_after_it(
    app: FastAPI,
) -> None:
    planted_secret = secrets.token_urlsafe(32)
    browser = TestClient(app, cookies={"oq_csrf": planted_secret})
    anonymous_token = csrf_from(browser.get("/signin").text)
    response = _sign_in_form(browser, STAFF, anonymous_token)
    assert response.status_code == 303
    renewed = response.cookies.get("oq_csrf")
    assert renewed
    assert renewed != planted_secret
    form = {"organisation_type": "practice", "identifier": MIAMI_MEDICAL, "role": "clinician"}
    stale = browser.post("/account/roles", data={**form, "csrf_token": anonymous_token})
    assert stale.status_code == 403
    assert "OQ-CSRF-001" in stale.text
    fresh = csrf_from(browser.get("/account").text)
    assert fresh != anonymous_token
    accepted = browser.post(
        "/account/roles", data={**form, "csrf_token": fresh}, follow_redirects=False
    )
    assert accepted.status_code in (303, 409), accepted.text[:500]


def test_sign_out_ends_the_session_on_the_server_for_pages_and_apis(
    app: FastAPI, security_world: SecurityWorld
) -> None:
    browser = TestClient(app)
    token = sign_in(browser, STAFF, PASSWORD)
    cookie = browser.cookies.get("oq_session")
    assert cookie
    out = browser.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert "oq_session=" in out.headers["set-cookie"]  # cleared in the browser too
    replay = _with_session(app, cookie)
    assert not _signed_in(replay)
    assert (
        replay.get(PRACTICE_PAGE, follow_redirects=False)
        .headers["location"]
        .startswith("/signin?next=")
    )
    write = replay.post(
        "/api/access/organisations/practice/123456789/tokens",
        json={"label": "after sign-out"},
        headers={"X-CSRF-Token": token},
    )
    assert write.status_code in (401, 403)
    with database.session_factory(security_world.url)() as session:
        row = session.scalars(
            select(WebSession).where(WebSession.token_hash == digest(cookie))
        ).one()
        assert row.ended_at is not None


def test_a_password_reset_ends_every_session_of_that_user_and_only_theirs(
    app: FastAPI, security_world: SecurityWorld
) -> None:
    laptop, phone, colleague = TestClient(app), TestClient(app), TestClient(app)
    sign_in(laptop, STAFF, PASSWORD)
    sign_in(phone, STAFF, PASSWORD)
    sign_in(colleague, OFFICIAL, PASSWORD)
    factory = database.session_factory(security_world.url)
    with factory() as session:
        staff = access.find_user(session, STAFF)
        assert staff is not None
        open_sessions = len(
            session.scalars(
                select(WebSession).where(
                    WebSession.user_fk == staff.id, WebSession.ended_at.is_(None)
                )
            ).all()
        )
    assert open_sessions >= 2
    result = CliRunner().invoke(
        cli, ["access", "user", "reset-password", STAFF, "--url", security_world.url]
    )
    assert result.exit_code == 0, result.output
    match = re.search(r"\(shown once\): (\S+)", result.output)
    assert match
    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert _signed_in(colleague)
    again = TestClient(app)
    response = _sign_in_form(again, STAFF, csrf_from(again.get("/signin").text))
    assert response.status_code == 401  # the old password is gone
    works = TestClient(app)
    ok = works.post(
        "/signin",
        data={
            "user_id": STAFF,
            "password": match.group(1),
            "statement_of_truth": "yes",
            "csrf_token": csrf_from(works.get("/signin").text),
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with factory.begin() as session:
        (record,) = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "user.password_set", AuditRecord.object_id == STAFF
            )
        ).all()
        assert record.after == {"sessions_ended": open_sessions}
        access.set_password(session, user_id=STAFF, password=PASSWORD)  # for the other tests


def test_a_session_past_its_lifetime_is_dead(app: FastAPI, security_world: SecurityWorld) -> None:
    browser = TestClient(app)
    sign_in(browser, OFFICIAL, PASSWORD)
    cookie = browser.cookies.get("oq_session")
    assert cookie
    assert _signed_in(browser)
    with database.session_factory(security_world.url).begin() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.token_hash == digest(cookie))
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert not _signed_in(browser)


def test_a_role_that_expires_stops_working_in_the_same_session(
    app: FastAPI, security_world: SecurityWorld
) -> None:
    newcomer = "sec.expiring"
    factory = database.session_factory(security_world.url)
    with factory.begin() as session:
        access.create_user(
            session, user_id=newcomer, name="Expiring Role", email="x@example.org",
            password=PASSWORD,
        )  # fmt: skip
        access.operator_grant(
            session,
            user_id=newcomer,
            organisation_type=OrganisationType.PRACTICE,
            identifier=MIAMI_MEDICAL,
            role=Role.STAFF_USER,
            expires_at=utcnow() + dt.timedelta(days=1),
        )
    browser = TestClient(app)
    sign_in(browser, newcomer, PASSWORD)
    assert browser.get(PRACTICE_PAGE).status_code == 200
    with factory.begin() as session:  # the expiry date passes while the session is open
        session.execute(
            update(RoleGrant)
            .where(RoleGrant.user_fk == access.find_user(session, newcomer).id)  # type: ignore[union-attr]
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    refused = browser.get(PRACTICE_PAGE)
    assert refused.status_code == 403
    assert "OQ-ELECT-005" in refused.text  # the elections pages' "not authorised"
    assert browser.get("/api/access/me").json()["roles"] == []
