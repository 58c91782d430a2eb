"""Sign-in, sessions, CSRF, back-off and API tokens over HTTP: tokens never in clear in logs or
the database, brute force answered with 429 and audited, CSRF-less posts refused, refusals that
do not reveal whether a practice exists."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from tests.support import access_world as w
from tests.support.access_http import csrf_from, sign_in

from openqpp.core.access import Action, Grant, NotConnected, OrganisationType, Role
from openqpp.db.models import AuditRecord, WebSession
from openqpp.services import access, audit, database
from openqpp.services.access.organisations import find
from openqpp.services.access.principals import ref, user_grants
from openqpp.settings import Settings
from openqpp.web import create_app

PRACTICE = w.ORGANISATIONS[OrganisationType.PRACTICE][0]
REGISTRY = w.ORGANISATIONS[OrganisationType.REGISTRY][0]


class Env:
    def __init__(self, url: str) -> None:
        self.url = url
        database.upgrade(url)
        with database.session_factory(url).begin() as session:
            self.world = w.build(session)
        self.app = create_app(Settings(database_url=url, log_json=True))

    def client(self, **kwargs: Any) -> TestClient:
        return TestClient(self.app, **kwargs)

    def user(self, kind: OrganisationType, role: Role) -> str:
        return self.world.users[(kind, role)]

    def audit(self, action: str) -> list[AuditRecord]:
        with database.session_factory(self.url)() as session:
            return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


@pytest.fixture
def env(database_url: str) -> Env:
    return Env(database_url)


def _signin_form(client: TestClient, **fields: str) -> Any:
    token = csrf_from(client.get("/signin").text)
    return client.post("/signin", data={"csrf_token": token, **fields}, follow_redirects=False)


# ---------------------------------------------------------------- API tokens


def test_a_token_is_shown_once_and_never_stored_or_logged_in_clear(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    client = env.client()
    csrf = sign_in(client, env.user(OrganisationType.REGISTRY, Role.SECURITY_OFFICIAL), w.PASSWORD)
    created = client.post(
        f"/api/access/organisations/registry/{REGISTRY}/tokens",
        json={"label": "nightly upload"},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    token = created.json()["token"]
    assert token.startswith("oqp_")
    assert len(token) > 40
    # the token works, is scoped to its organisation, and records its last use
    bearer = {"Authorization": f"Bearer {token}"}
    me = env.client().get("/api/access/me", headers=bearer)
    assert me.status_code == 200
    assert me.json()["roles"] == [
        {
            "role": "staff_user",
            "organisationType": "registry",
            "identifier": REGISTRY,
            "name": "American Academy of Neurology",
        }
    ]
    listed = client.get(f"/api/access/organisations/registry/{REGISTRY}/tokens").json()["tokens"]
    assert listed[0]["label"] == "nightly upload"
    assert listed[0]["lastUsedAt"] is not None
    assert "token" not in listed[0]
    # the list page does not show it again
    page = client.get(f"/organisations/registry/{REGISTRY}/tokens")
    assert token not in page.text
    revoked = client.post(
        f"/api/access/organisations/registry/{REGISTRY}/tokens/{created.json()['id']}/revoke",
        headers={"X-CSRF-Token": csrf},
    )
    assert revoked.status_code == 200
    assert env.client().get("/api/access/me", headers=bearer).status_code == 401

    captured = capsys.readouterr()
    assert "request" in captured.err  # logs were captured
    assert token not in captured.err
    assert token not in captured.out
    assert token[4:24] not in captured.err

    engine = database.engine_for(env.url)
    metadata = MetaData()
    metadata.reflect(engine)
    seen = 0
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for value in row:
                    text = json.dumps(value, default=str) if not isinstance(value, str) else value
                    seen += 1
                    assert token not in text, f"token in clear in {table.name}"
                    assert token[4:24] not in text, f"part of the token in {table.name}"
    assert seen > 100
    actions = [r.action for r in env.audit("api_token.created")] + [
        r.action for r in env.audit("api_token.revoked")
    ]
    assert actions == ["api_token.created", "api_token.revoked"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer oqp_not-a-real-token-at-all-000000", "Basic dXNlcjpwYXNz", "oqp_x"],
)
def test_api_without_a_valid_token_is_a_401_json_envelope(env: Env, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = env.client().get("/api/access/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["type"] == "Unauthorized"
    assert error["code"] == "OQ-AUTH-001"
    assert "Bearer" in error["message"]


def _token_for(env: Env, kind: OrganisationType) -> str:
    with database.session_factory(env.url).begin() as session:
        so = w.principal(session, env.user(kind, Role.SECURITY_OFFICIAL))
        return access.create_token(
            session,
            principal=so,
            organisation_type=kind,
            identifier=env.world.identifier(kind),
            label="test",
            context=audit.RequestContext(),
        ).token


def test_a_token_for_one_practice_cannot_tell_whether_another_practice_exists(env: Env) -> None:
    bearer = {"Authorization": f"Bearer {_token_for(env, OrganisationType.PRACTICE)}"}
    client = env.client()

    def ask(tin: str, action: str = "view_submissions") -> Any:
        return client.get(
            "/api/access/authorize",
            params={"action": action, "organisation_type": "practice", "identifier": tin},
            headers=bearer,
        )

    assert ask(PRACTICE).status_code == 200
    existing, missing = ask(w.OTHER_PRACTICE[0]), ask(w.MISSING_PRACTICE)
    assert existing.status_code == missing.status_code == 403
    a, b = existing.json()["error"], missing.json()["error"]
    assert a["code"] == b["code"] == "OQ-ACCESS-001"
    assert a["message"].replace(w.OTHER_PRACTICE[0][-4:], "####") == b["message"].replace(
        w.MISSING_PRACTICE[-4:], "####"
    )
    assert w.OTHER_PRACTICE[1] not in a["message"]
    # the same for the token list route of another practice
    for tin in (w.OTHER_PRACTICE[0], w.MISSING_PRACTICE):
        r = client.get(f"/api/access/organisations/practice/{tin}/tokens", headers=bearer)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "OQ-ACCESS-001"


def test_a_token_acts_as_staff_of_its_organisation(env: Env) -> None:
    bearer = {"Authorization": f"Bearer {_token_for(env, OrganisationType.REGISTRY)}"}
    client = env.client()
    params = {"organisation_type": "practice", "identifier": PRACTICE, "performance_year": 2019}
    submit = client.get(
        "/api/access/authorize", params={**params, "action": "submit_data"}, headers=bearer
    )
    assert submit.status_code == 200, submit.text
    assert submit.json()["viaClientAuthorisation"] is True
    assert submit.json()["role"] == "staff_user"
    scores = client.get(
        "/api/access/authorize",
        params={**params, "action": "view_preliminary_scores"},
        headers=bearer,
    )
    assert scores.json()["scope"] == "own_submissions"
    other_year = client.get(
        "/api/access/authorize",
        params={**params, "action": "submit_data", "performance_year": 2020},
        headers=bearer,
    )
    assert other_year.status_code == 403
    cost = client.get(
        "/api/access/authorize", params={**params, "action": "view_cost_feedback"}, headers=bearer
    )
    assert cost.status_code == 403
    assert cost.json()["error"]["code"] == "OQ-ACCESS-002"
    assert "cost" in cost.json()["error"]["message"]
    # a token never manages tokens, even though it needs no CSRF header
    made = client.post(
        f"/api/access/organisations/registry/{REGISTRY}/tokens",
        json={"label": "from a token"},
        headers=bearer,
    )
    assert made.status_code == 403
    assert made.json()["error"]["code"] == "OQ-ACCESS-002"


def test_unknown_action_or_organisation_type_is_a_400_with_a_fix(env: Env) -> None:
    bearer = {"Authorization": f"Bearer {_token_for(env, OrganisationType.PRACTICE)}"}
    client = env.client()
    bad_action = client.get(
        "/api/access/authorize",
        params={"action": "launch", "organisation_type": "practice", "identifier": PRACTICE},
        headers=bearer,
    )
    assert bad_action.status_code == 400
    assert "view_eligibility" in bad_action.json()["error"]["message"]
    bad_kind = client.get("/api/access/organisations/hospital/1/tokens", headers=bearer)
    assert bad_kind.status_code == 400
    assert bad_kind.json()["error"]["code"] == "OQ-ACCESS-010"
    bad_tin = client.get("/api/access/organisations/practice/12-34/tokens", headers=bearer)
    assert bad_tin.status_code == 400
    assert bad_tin.json()["error"]["code"] == "OQ-TIN-001"


# ---------------------------------------------------------------- sign-in


def test_sign_in_needs_the_statement_of_truth_and_records_the_agreement(env: Env) -> None:
    client = env.client()
    uid = env.user(OrganisationType.PRACTICE, Role.STAFF_USER)
    refused = _signin_form(client, user_id=uid, password=w.PASSWORD)
    assert refused.status_code == 400
    assert "Complete these items to sign in:" in refused.text
    assert 'href="#sot-agree"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "oq_session" not in refused.headers.get("set-cookie", "")
    assert env.audit("sign_in") == []

    before = dt.datetime.now(dt.UTC)
    ok = _signin_form(client, user_id=uid, password=w.PASSWORD, statement_of_truth="yes")
    assert ok.status_code == 303
    assert ok.headers["location"] == "/account"
    with database.session_factory(env.url)() as session:
        web_session = session.scalars(select(WebSession)).one()
        assert web_session.statement_of_truth_agreed_at >= before
        assert web_session.statement_of_truth_version
    (record,) = env.audit("sign_in")
    assert record.actor == uid
    assert record.after is not None
    assert "statement_of_truth_agreed_at" in record.after
    assert record.request_id
    assert record.client_address == "testclient"
    assert client.get("/account").status_code == 200


def test_session_cookie_is_httponly_samesite_and_secure_over_tls(env: Env) -> None:
    uid = env.user(OrganisationType.PRACTICE, Role.STAFF_USER)
    plain = _signin_form(env.client(), user_id=uid, password=w.PASSWORD, statement_of_truth="yes")
    cookie = plain.headers["set-cookie"]
    assert "oq_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    tls = env.client(base_url="https://testserver")
    secure = _signin_form(tls, user_id=uid, password=w.PASSWORD, statement_of_truth="yes")
    assert "Secure" in secure.headers["set-cookie"]
    assert "HttpOnly" in secure.headers["set-cookie"]


def test_sign_out_ends_the_session_for_good(env: Env) -> None:
    client = env.client()
    sign_in(client, env.user(OrganisationType.PRACTICE, Role.STAFF_USER), w.PASSWORD)
    cookie = client.cookies.get("oq_session")
    token = csrf_from(client.get("/account").text)
    out = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    replay = env.client(cookies={"oq_session": cookie})
    after = replay.get("/account", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/signin?next=/account")
    assert len(env.audit("sign_out")) == 1


def test_brute_force_sign_in_is_locked_with_429_and_retry_after_and_audited(env: Env) -> None:
    client = env.client()
    uid = env.user(OrganisationType.PRACTICE, Role.STAFF_USER)
    for attempt in range(1, 5):
        wrong = _signin_form(client, user_id=uid, password="wrong", statement_of_truth="yes")
        assert wrong.status_code == 401, attempt
        assert "OQ-AUTH-002" in wrong.text
    locked = _signin_form(client, user_id=uid, password="wrong", statement_of_truth="yes")
    assert locked.status_code == 429
    assert 25 <= int(locked.headers["retry-after"]) <= 30
    assert "locked until" in locked.text
    assert "OQ-AUTH-003" in locked.text
    # while locked even the right password is refused, without being checked
    right = _signin_form(client, user_id=uid, password=w.PASSWORD, statement_of_truth="yes")
    assert right.status_code == 429
    assert "oq_session" not in right.headers.get("set-cookie", "")
    assert len(env.audit("sign_in.failed")) == 5
    assert len(env.audit("sign_in.refused_locked")) == 1
    # the API client sees the same as JSON
    api = client.post(
        "/signin",
        data={
            "csrf_token": csrf_from(client.get("/signin").text),
            "user_id": uid,
            "password": "x",
            "statement_of_truth": "yes",
        },
        headers={"Accept": "application/json"},
    )
    assert api.status_code == 429


def test_lock_doubles_then_lapses_and_unknown_user_ids_are_treated_alike(env: Env) -> None:
    context = audit.RequestContext(client_address="203.0.113.9")
    factory = database.session_factory(env.url)
    start = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)

    def attempt(uid: str, password: str, at: dt.datetime) -> access.SignInOutcome:
        with factory.begin() as session:
            return access.sign_in(
                session,
                user_id=uid,
                password=password,
                agreed_to_statement_of_truth=True,
                context=context,
                now=at,
            )

    for uid in (env.user(OrganisationType.REGISTRY, Role.STAFF_USER), "nobody.here"):
        outcomes = [attempt(uid, "wrong", start + dt.timedelta(seconds=i)) for i in range(5)]
        codes = [o.error.code if o.error else None for o in outcomes]
        assert codes == ["OQ-AUTH-002"] * 4 + ["OQ-AUTH-003"]
        first_lock = outcomes[-1].error
        assert first_lock is not None
        assert first_lock.headers == {"Retry-After": "30"}
        # after the lock lapses one more failure locks for twice as long
        later = start + dt.timedelta(seconds=40)
        again = attempt(uid, "wrong", later)
        assert again.error is not None
        assert again.error.headers == {"Retry-After": "60"}
    ok = attempt(
        env.user(OrganisationType.REGISTRY, Role.STAFF_USER),
        w.PASSWORD,
        start + dt.timedelta(seconds=200),
    )
    assert ok.error is None
    assert ok.session_token


# ---------------------------------------------------------------- CSRF


def test_posts_without_a_csrf_token_are_refused_with_a_code(env: Env) -> None:
    client = env.client()
    uid = env.user(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL)
    no_token = client.post(
        "/signin",
        data={"user_id": uid, "password": w.PASSWORD, "statement_of_truth": "yes"},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    assert "OQ-CSRF-001" in no_token.text
    assert env.audit("sign_in") == []
    as_json = client.post("/signin", data={"user_id": uid}, headers={"Accept": "application/json"})
    assert as_json.status_code == 403
    assert as_json.json()["error"]["code"] == "OQ-CSRF-001"

    csrf = sign_in(client, uid, w.PASSWORD)
    forged = client.post(
        f"/organisations/practice/{PRACTICE}/tokens",
        data={"label": "forged", "csrf_token": "A" * 43},
    )
    assert forged.status_code == 403
    assert "OQ-CSRF-001" in forged.text
    api = client.post(f"/api/access/organisations/practice/{PRACTICE}/tokens", json={"label": "x"})
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "OQ-CSRF-001"
    signout = client.post("/signout", follow_redirects=False)
    assert signout.status_code == 403
    # a token from another browser's session does not work here
    other = env.client()
    other_csrf = sign_in(other, env.user(OrganisationType.PRACTICE, Role.STAFF_USER), w.PASSWORD)
    assert other_csrf != csrf
    crossed = client.post(
        f"/organisations/practice/{PRACTICE}/tokens",
        data={"label": "crossed", "csrf_token": other_csrf},
    )
    assert crossed.status_code == 403
    good = client.post(
        f"/organisations/practice/{PRACTICE}/tokens", data={"label": "good", "csrf_token": csrf}
    )
    assert good.status_code == 201
    assert "shown only once" in good.text
    assert good.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------- roles


def test_role_request_approval_expiry_and_self_approval(env: Env) -> None:
    factory = database.session_factory(env.url)
    with factory.begin() as session:
        newcomer = access.create_user(
            session,
            user_id="new.person",
            name="New Person",
            email="n@example.org",
            password=w.PASSWORD,
        )
    client = env.client()
    csrf = sign_in(client, "new.person", w.PASSWORD)
    form = client.get("/account/roles/new")
    assert form.status_code == 200
    sent = client.post(
        "/account/roles",
        data={
            "csrf_token": csrf,
            "organisation_type": "practice",
            "identifier": PRACTICE,
            "role": "staff_user",
            "reason": "new biller",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    grant_id = int(sent.headers["location"].split("requested=")[1])
    again = client.post(
        "/account/roles",
        data={
            "csrf_token": csrf,
            "organisation_type": "practice",
            "identifier": PRACTICE,
            "role": "staff_user",
        },
    )
    assert again.status_code == 409
    assert "already" in again.text
    clinician_at_registry = client.post(
        "/account/roles",
        data={
            "csrf_token": csrf,
            "organisation_type": "registry",
            "identifier": REGISTRY,
            "role": "clinician",
        },
    )
    assert clinician_at_registry.status_code == 400
    assert "OQ-ACCESS-004" in clinician_at_registry.text

    # a staff user of the practice may not decide it; a Security Official may
    staff = env.client()
    staff_csrf = sign_in(staff, env.user(OrganisationType.PRACTICE, Role.STAFF_USER), w.PASSWORD)
    refused = staff.post(
        f"/api/access/role-requests/{grant_id}/decision",
        json={"decision": "approve"},
        headers={"X-CSRF-Token": staff_csrf},
    )
    assert refused.status_code == 403
    outsider = env.client()
    outsider_csrf = sign_in(
        outsider, env.user(OrganisationType.APM_ENTITY, Role.SECURITY_OFFICIAL), w.PASSWORD
    )
    for target in (grant_id, 99999):
        hidden = outsider.post(
            f"/api/access/role-requests/{target}/decision",
            json={"decision": "approve"},
            headers={"X-CSRF-Token": outsider_csrf},
        )
        assert hidden.status_code == 403
        assert hidden.json()["error"]["message"] == (
            f"You do not have access to role request #{target}. Only Security Officials of the "
            "organisation the request is for can decide it; check the request number."
        )

    so = env.client()
    so_csrf = sign_in(so, env.user(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL), w.PASSWORD)
    assert "New Person" in so.get("/account").text
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    approved = so.post(
        f"/access/role-requests/{grant_id}/decision",
        data={
            "csrf_token": so_csrf,
            "decision": "approve",
            "expires_on": tomorrow,
            "next": "/account",
        },
        follow_redirects=False,
    )
    assert approved.status_code == 303
    twice = so.post(
        f"/api/access/role-requests/{grant_id}/decision",
        json={"decision": "reject"},
        headers={"X-CSRF-Token": so_csrf},
    )
    assert twice.status_code == 409
    (record,) = [r for r in env.audit("role.approved") if r.object_id == str(grant_id)]
    assert record.before == {"status": "pending"}
    assert record.after is not None
    assert record.after["status"] == "approved"
    assert record.role == "security_official"
    assert record.tin == PRACTICE

    page = client.get("/account")
    assert "Miami Medical" in page.text
    with factory() as session:
        now = dt.datetime.now(dt.UTC)
        held, _ = user_grants(session, user_pk=newcomer.id, now=now)
        assert [g.role for g in held] == [Role.STAFF_USER]
        expired, _ = user_grants(session, user_pk=newcomer.id, now=now + dt.timedelta(days=3))
        assert expired == ()
    assert newcomer.user_id == "new.person"

    # a Security Official cannot approve their own request
    with factory.begin() as session:
        so_principal = w.principal(
            session, env.user(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL)
        )
        own = access.request_role(
            session,
            principal=so_principal,
            organisation_type="practice",
            identifier=PRACTICE,
            role="staff_user",
            reason=None,
            context=audit.RequestContext(),
        )
    selfish = so.post(
        f"/api/access/role-requests/{own.id}/decision",
        json={"decision": "approve"},
        headers={"X-CSRF-Token": so_csrf},
    )
    assert selfish.status_code == 403
    assert "your own" in selfish.json()["error"]["message"]


def test_the_practice_sees_every_intermediary_acting_for_it(env: Env) -> None:
    client = env.client()
    csrf = sign_in(client, env.user(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL), w.PASSWORD)
    added = client.post(
        f"/organisations/practice/{PRACTICE}/clients",
        data={
            "csrf_token": csrf,
            "registry": w.OTHER_REGISTRY[0],
            "performance_year": "2019",
            "npi": w.CLIENT_NPI,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(f"/organisations/practice/{PRACTICE}/clients")
    assert page.status_code == 200
    assert "American Academy of Neurology" in page.text  # recorded by the operator
    assert "test agreement" in page.text
    assert w.OTHER_REGISTRY[1] in page.text  # granted just now, for one clinician
    assert f"clinician NPI {w.CLIENT_NPI}" in page.text
    registry = env.client()
    sign_in(registry, env.user(OrganisationType.REGISTRY, Role.STAFF_USER), w.PASSWORD)
    clients = registry.get(f"/api/access/organisations/registry/{REGISTRY}/client-authorisations")
    assert [a["practice"]["tin"] for a in clients.json()["clientAuthorisations"]] == [PRACTICE]
    # the other registry's authorisation covers one clinician only
    with database.session_factory(env.url)() as session:
        other_registry = find(session, OrganisationType.REGISTRY, w.OTHER_REGISTRY[0])
        assert other_registry is not None
        other = access.Principal(
            kind="token",
            actor="token:x",
            name="other registry",
            grants=(Grant(Role.STAFF_USER, ref(other_registry)),),
        )
        common: dict[str, Any] = {
            "principal": other,
            "action": Action.SUBMIT_DATA,
            "organisation_type": OrganisationType.PRACTICE,
            "identifier": PRACTICE,
            "performance_year": 2019,
        }
        assert access.authorize(session, npi=w.CLIENT_NPI, **common).via_client is not None
        with pytest.raises(NotConnected):
            access.authorize(session, **common)


def test_bad_ids_and_decisions_are_client_errors_not_server_errors(env: Env) -> None:
    client = env.client()
    csrf = sign_in(client, env.user(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL), w.PASSWORD)
    headers = {"X-CSRF-Token": csrf}
    huge = client.post(
        f"/api/access/organisations/practice/{PRACTICE}/tokens/{2**70}/revoke", headers=headers
    )
    assert huge.status_code == 422
    assert huge.json()["error"]["code"] == "OQ-REQ-001"
    missing = client.post(
        f"/api/access/organisations/practice/{PRACTICE}/tokens/424242/revoke", headers=headers
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "OQ-ACCESS-005"
    odd = client.post(
        "/access/role-requests/1/decision", data={"csrf_token": csrf, "decision": "maybe"}
    )
    assert odd.status_code == 400
    assert "Approve or Reject" in odd.text
    bad_date = client.post(
        f"/organisations/practice/{PRACTICE}/tokens",
        data={"csrf_token": csrf, "label": "x", "expires_on": "next tuesday"},
    )
    assert bad_date.status_code == 400
    assert "YYYY-MM-DD" in bad_date.text
    no_label = client.post(
        f"/api/access/organisations/practice/{PRACTICE}/tokens", json={}, headers=headers
    )
    assert no_label.status_code == 422


def test_passwords_are_never_logged(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    client = env.client()
    uid = env.user(OrganisationType.PRACTICE, Role.STAFF_USER)
    _signin_form(client, user_id=uid, password="a wrong password 123", statement_of_truth="yes")
    sign_in(client, uid, w.PASSWORD)
    logs = capsys.readouterr().err
    assert "/signin" in logs
    assert w.PASSWORD not in logs
    assert "a wrong password 123" not in logs
    records = env.audit("sign_in.failed") + env.audit("sign_in")
    assert records
    assert all(w.PASSWORD not in json.dumps(r.after) for r in records)
