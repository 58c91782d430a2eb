"""`GET /api/eligibility/npi/{npi}` without a query string is answered by the direct path
(web/eligibility/direct.py), ahead of FastAPI's router: it answers exactly as the route does
(status, headers, body) for every kind of caller and refusal, and it takes only the requests it
is meant for. An API token is read outside a transaction, its last use still recorded."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from tests.support.access_http import sign_in
from tests.support.elections_world import DEBARA, GREEN, LAKESIDE, PASSWORD, World

from openqpp.batch.demo import MIAMI_MEDICAL, demo_npi
from openqpp.core.access import OrganisationType
from openqpp.settings import Settings
from openqpp.web import create_app
from openqpp.web.access.security import AccessMiddleware
from openqpp.web.eligibility.direct import DirectNpiLookup

CLOCK = "2023-03-19T20:00:00-04:00"
UNKNOWN = demo_npi("199999999")  # a valid NPI (check digit) that is in no run


def _app(world: World) -> FastAPI:
    return create_app(Settings(database_url=world.url, log_level="warning", clock=CLOCK))


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:  # type: ignore[type-arg]
    response = client.get(path, headers={**headers, "X-Request-ID": "same-id-for-both"})
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize(
    ("caller", "npi", "accept"),
    [
        ("anonymous", DEBARA, None),
        ("anonymous", GREEN, "application/vnd.qpp.cms.gov.v6+json"),
        ("anonymous", GREEN, "application/vnd.qpp.cms.gov.v99+json"),
        ("anonymous", UNKNOWN, None),
        ("anonymous", "12345", None),
        ("anonymous", "%00%3Cscript%3E", None),
        ("registry token", DEBARA, None),
        ("practice token", DEBARA, None),
        ("other practice token", DEBARA, None),
        ("signed-in session", DEBARA, None),
        ("invalid token", DEBARA, None),
        ("not a bearer token", DEBARA, None),
    ],
)
def test_the_direct_path_answers_exactly_as_the_route(
    world: World, caller: str, npi: str, accept: str | None
) -> None:
    client = TestClient(_app(world))
    headers: dict[str, str] = {"Accept": accept} if accept else {}
    if caller == "registry token":
        headers.update(world.bearer("alex.chen", OrganisationType.REGISTRY, "AAN-QCDR"))
    elif caller == "practice token":
        headers.update(world.bearer("maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL))
    elif caller == "other practice token":
        headers.update(world.bearer("dana.lake", OrganisationType.PRACTICE, LAKESIDE))
    elif caller == "signed-in session":
        sign_in(client, "maria.garcia", PASSWORD)
    elif caller == "invalid token":
        headers["Authorization"] = "Bearer not-a-token"
    elif caller == "not a bearer token":
        headers["Authorization"] = "Basic bWFyaWE6c2VjcmV0"
    client.get("/healthz")
    direct = _answer(client, f"/api/eligibility/npi/{npi}", headers)
    # An unknown query parameter changes nothing in the answer but sends the request through
    # FastAPI's router and the route (the direct path takes no query string).
    routed = _answer(client, f"/api/eligibility/npi/{npi}?via=router", headers)
    assert direct == routed
    assert direct[0] in (200, 400, 401, 404)


def test_the_route_tins_in_full_only_for_callers_who_may_see_them(world: World) -> None:
    """The direct path keeps the caller: a registry with the practice as its client sees the
    TIN in full; an anonymous caller sees it masked (the route's rule, tests/security)."""
    client = TestClient(_app(world))
    registry = world.bearer("alex.chen", OrganisationType.REGISTRY, "AAN-QCDR")
    shown = client.get(f"/api/eligibility/npi/{DEBARA}", headers=registry)
    masked = client.get(f"/api/eligibility/npi/{DEBARA}")
    assert [o["TIN"] for o in shown.json()["data"]["organizations"]] == [MIAMI_MEDICAL]
    assert [o["TIN"] for o in masked.json()["data"]["organizations"]] == ["XXXXXXXXXX"]


class _Downstream:
    """The application behind the direct path, recording what reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(app: FastAPI, method: str, path: str, query: bytes = b"") -> tuple[list[str], int]:
    import anyio

    downstream = _Downstream()
    direct = DirectNpiLookup(downstream)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "app": app,
        "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(direct, scope, receive, send)
    return downstream.reached, sent[0]["status"]


def test_the_direct_path_takes_only_a_plain_get_of_one_npi_once_ready(world: World) -> None:
    app = _app(world)
    # Installed inside the access middleware (which resolves a signed-in session first).
    installed = [m.cls for m in app.user_middleware]
    assert installed.index(AccessMiddleware) < installed.index(DirectNpiLookup)
    path = f"/api/eligibility/npi/{DEBARA}"
    # Until the application has checked its database schema, the route (and its readiness
    # check) answers.
    assert _call(app, "GET", path) == ([path], 299)
    TestClient(app).get(path)  # the first request checks the schema
    assert app.state.ready
    assert _call(app, "GET", path) == ([], 200)
    assert _call(app, "GET", f"/api/eligibility/npi/{UNKNOWN}") == ([], 404)
    passed_on = [
        ("HEAD", path, b""),
        ("POST", path, b""),
        ("GET", path, b"year=2022"),
        ("GET", path, b"runNum=1"),
        ("GET", f"{path}/", b""),
        ("GET", f"{path}/x", b""),
        ("GET", "/api/eligibility/npi/", b""),
        ("GET", f"/api/eligibility/npis/{DEBARA}", b""),
        ("GET", f"/api/eligibility/npi{DEBARA}", b""),
        ("GET", f"/x/api/eligibility/npi/{DEBARA}", b""),
    ]
    for method, other, query in passed_on:
        assert _call(app, method, other, query) == ([other], 299), (method, other, query)


def test_an_api_call_with_a_token_records_its_last_use_at_most_once_a_minute(
    world: World,
) -> None:
    """The token is read outside a transaction; its last use is still written (and committed)
    by the call that finds it due, and not by the calls within the next minute."""
    from sqlalchemy import select

    from openqpp.db.models import ApiToken

    client = TestClient(_app(world))
    headers = world.bearer("alex.chen", OrganisationType.REGISTRY, "AAN-QCDR")

    def last_used() -> object:
        with world.factory() as session:
            return session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc()))

    assert last_used() is None
    assert client.get(f"/api/eligibility/npi/{DEBARA}", headers=headers).is_success
    first = last_used()
    assert first is not None
    assert client.get(f"/api/eligibility/npi/{DEBARA}?year=2022", headers=headers).is_success
    assert last_used() == first
