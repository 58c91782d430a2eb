"""The access routes over HTTP, for every role and organisation type: the matrix cells of the
actions that have routes (API tokens, role approval, client authorisations, the audit log),
generated from the data file; allowed cells answer 2xx, refused ones 403 with a code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support import access_world as w
from tests.support.access_http import sign_in
from tests.support.databases import KINDS, fresh_database

from openqpp.core.access import Action, Cell, Effect, OrganisationType, Reach, Role
from openqpp.services import access, audit, database
from openqpp.settings import Settings
from openqpp.web import create_app

MATRIX = access.load_matrix()
ROUTE_ACTIONS = (
    Action.MANAGE_API_TOKENS,
    Action.MANAGE_USERS,
    Action.MANAGE_CLIENT_AUTHORISATIONS,
    Action.VIEW_CLIENT_AUTHORISATIONS,
    Action.VIEW_AUDIT_LOG,
)
ROUTE_CELLS = [c for c in MATRIX if c.offered and c.action in ROUTE_ACTIONS]


def cell_id(cell: Cell) -> str:
    return f"{cell.organisation_type.value}-{cell.role.value}-{cell.action.value}"


def expected_allowed(cell: Cell) -> bool:
    # These actions never depend on the submission period.
    assert cell.effect is not Effect.OUTSIDE_SUBMISSION_PERIOD
    return cell.effect is Effect.ALLOW and cell.reach is Reach.OWN


class Env:
    def __init__(self, url: str, world: w.World) -> None:
        self.url = url
        self.world = world
        self.app = create_app(Settings(database_url=url, log_json=True))
        self._clients: dict[str, tuple[TestClient, str]] = {}
        self._counter = 0
        self.practice_token_id = 0

    def client(self, uid: str) -> tuple[TestClient, str]:
        if uid not in self._clients:
            client = TestClient(self.app)
            self._clients[uid] = (client, sign_in(client, uid, w.PASSWORD))
        return self._clients[uid]

    def session(self) -> Any:
        return database.session_factory(self.url).begin()

    def unique(self) -> int:
        self._counter += 1
        return self._counter


@pytest.fixture(scope="module", params=KINDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with fresh_database(request.param, tmp_path_factory.mktemp("routes")) as url:
        database.upgrade(url)
        with database.session_factory(url).begin() as session:
            world = w.build(session)
        environment = Env(url, world)
        with database.session_factory(url).begin() as session:
            so = w.principal(
                session, world.users[(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL)]
            )
            environment.practice_token_id = access.create_token(
                session,
                principal=so,
                organisation_type=OrganisationType.PRACTICE,
                identifier=world.identifier(OrganisationType.PRACTICE),
                label="fixture token",
                context=audit.RequestContext(),
            ).info.id
        yield environment


def _assert_refused(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == "Forbidden"
    assert error["code"] in {"OQ-ACCESS-001", "OQ-ACCESS-002"}
    assert error["message"]


def _path(cell: Cell, world: w.World) -> str:
    kind = cell.organisation_type
    return f"/api/access/organisations/{kind.value}/{world.identifier(kind)}"


@pytest.mark.parametrize("cell", ROUTE_CELLS, ids=cell_id)
def test_route_follows_the_matrix(cell: Cell, env: Env) -> None:
    uid = env.world.users[(cell.organisation_type, cell.role)]
    client, csrf = env.client(uid)
    headers = {"X-CSRF-Token": csrf}
    base = _path(cell, env.world)
    allowed = expected_allowed(cell)
    kind = cell.organisation_type
    identifier = env.world.identifier(kind)

    if cell.action is Action.MANAGE_API_TOKENS:
        listed = client.get(f"{base}/tokens")
        created = client.post(f"{base}/tokens", json={"label": "route test"}, headers=headers)
        page = client.get(f"/organisations/{kind.value}/{identifier}/tokens")
        if allowed:
            assert listed.status_code == 200
            assert created.status_code == 201
            token_id = created.json()["id"]
            assert created.json()["token"].startswith("oqp_")
            assert page.status_code == 200
            assert "route test" in page.text
        else:
            _assert_refused(listed)
            _assert_refused(created)
            assert page.status_code == 403
            token_id = env.practice_token_id  # refused before the id is looked at
        revoked = client.post(f"{base}/tokens/{token_id}/revoke", headers=headers)
        if allowed:
            assert revoked.status_code == 200
            assert revoked.json()["status"] == "revoked"
        else:
            _assert_refused(revoked)

    elif cell.action is Action.MANAGE_USERS:
        n = env.unique()
        with env.session() as session:
            requester = access.create_user(
                session,
                user_id=f"req{n}",
                name=f"Requester {n}",
                email=f"r{n}@example.org",
                password=w.PASSWORD,
            )
            grant = access.request_role(
                session,
                principal=access.Principal(
                    kind="user", actor=requester.user_id, name=requester.name, user_pk=requester.id
                ),
                organisation_type=kind,
                identifier=identifier,
                role="staff_user",
                reason="route test",
                context=audit.RequestContext(),
            )
        response = client.post(
            f"/api/access/role-requests/{grant.id}/decision",
            json={"decision": "approve"},
            headers=headers,
        )
        if allowed:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "approved"
        else:
            _assert_refused(response)

    elif cell.action is Action.MANAGE_CLIENT_AUTHORISATIONS:
        tin = env.world.identifier(OrganisationType.PRACTICE)
        response = client.post(
            f"/api/access/organisations/practice/{tin}/client-authorisations",
            json={"registry": w.OTHER_REGISTRY[0], "performanceYear": 2019 + env.unique()},
            headers=headers,
        )
        if allowed:
            assert kind is OrganisationType.PRACTICE
            assert response.status_code == 201, response.text
            assert response.json()["registry"]["vendorId"] == w.OTHER_REGISTRY[0]
        else:
            _assert_refused(response)

    elif cell.action is Action.VIEW_CLIENT_AUTHORISATIONS:
        response = client.get(f"{base}/client-authorisations")
        page = client.get(f"/organisations/{kind.value}/{identifier}/clients")
        if allowed:
            assert response.status_code == 200
            names = {a["registry"]["vendorId"] for a in response.json()["clientAuthorisations"]}
            assert w.ORGANISATIONS[OrganisationType.REGISTRY][0] in names
            assert page.status_code == 200
        else:
            _assert_refused(response)
            assert page.status_code == 403

    elif cell.action is Action.VIEW_AUDIT_LOG:
        response = client.get(f"{base}/audit")
        page = client.get(f"/organisations/{kind.value}/{identifier}/audit")
        if allowed:
            assert response.status_code == 200
            actions = {r["action"] for r in response.json()["records"]}
            assert "role.granted" in actions
            assert page.status_code == 200
            assert "Audit log" in page.text
        else:
            _assert_refused(response)
            assert page.status_code == 403
            assert "OQ-ACCESS-002" in page.text


def test_audit_page_shows_only_the_organisations_own_records(env: Env) -> None:
    so = env.world.users[(OrganisationType.PRACTICE, Role.SECURITY_OFFICIAL)]
    client, _ = env.client(so)
    mine = env.world.identifier(OrganisationType.PRACTICE)
    records = client.get(f"/api/access/organisations/practice/{mine}/audit").json()["records"]
    assert {"role.granted", "client_authorisation.granted", "api_token.created"} <= {
        r["action"] for r in records
    }
    for record in records:
        assert f"practice {mine}" in (record["onBehalfOf"] or ""), record
