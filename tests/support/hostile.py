"""Hostile callers of the elections world over HTTP (in process): the app at a pinned clock
inside the 2022 election window with the rate limit out of the way, API tokens made through the
real access service, signed-in sessions, and the row counts of every table a refused request
must leave as it was."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.settings import Settings
from openqpp.web import create_app
from tests.support.access_http import sign_in
from tests.support.elections_world import KINDS, PASSWORD, Templates, World

CLOCK_2022 = "2023-03-19T20:00:00-04:00"
"""Inside the 2022 election window: valid elections and submissions can be accepted."""
REGISTRY = "AAN-QCDR"
"""Miami Medical's registry (a QCDR authorised by Miami Medical for 2019 and 2022)."""
STORED = (
    "elections",
    "apm_election_letters",
    "public_reporting_opt_outs",
    "submissions",
    "measurement_sets",
    "measurements",
    "submission_receipts",
    "uploads",
    "upload_files",
    "api_tokens",
    "client_authorisations",
    "role_grants",
    "organisations",
    "users",
    "notifications",
    "email_outbox",
    "idempotency_records",
    "audit_records",
)
"""Every table a refused request must leave as it was (sessions and sign-in throttles aside:
signing in writes them by design)."""
_COUNTS = text(
    "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in STORED)  # noqa: S608
)


def app_for(url: str, **settings: Any) -> FastAPI:
    options: dict[str, Any] = {
        "database_url": url,
        "log_level": "critical",
        "clock": CLOCK_2022,
        "rate_limit_per_second": 1_000_000.0,
        "rate_limit_burst": 1_000_000,
        **settings,
    }
    return create_app(Settings(**options))


def stored(world: World) -> dict[str, int]:
    """Rows in each table of `STORED`."""
    with world.factory() as session:
        return dict(zip(STORED, session.execute(_COUNTS).one(), strict=True))


def token(world: World, user_id: str, kind: OrganisationType, identifier: str) -> Any:
    """A new API token made by ``user_id`` through the access service (its ``.token`` and
    ``.info``)."""
    return world.api_token(user_id, kind, identifier, label="hostile")


def bearer(created: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {created.token}"}


@dataclass
class Site:
    """The app on one copy of the elections world, and its callers."""

    world: World
    app: FastAPI
    practice_token: dict[str, str]
    """Maria Garcia's token for Miami Medical (acts as a Staff User there)."""
    registry_token: dict[str, str]
    """Alex Chen's token for the AAN registry."""
    sessions: dict[str, tuple[TestClient, str]] = field(default_factory=dict)

    def signed_in(self, user_id: str) -> tuple[TestClient, str]:
        """A client signed in as ``user_id`` through the real sign-in page, and its CSRF
        token."""
        if user_id not in self.sessions:
            client = TestClient(self.app)
            self.sessions[user_id] = (client, sign_in(client, user_id, PASSWORD))
        return self.sessions[user_id]

    def anonymous(self) -> TestClient:
        return TestClient(self.app)


def site_for(url: str, kind: str) -> Site:
    world = World(url, kind)
    return Site(
        world=world,
        app=app_for(url),
        practice_token=bearer(
            token(world, "maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL)
        ),
        registry_token=bearer(token(world, "alex.chen", OrganisationType.REGISTRY, REGISTRY)),
    )


@pytest.fixture(scope="module", params=KINDS)
def site(
    request: pytest.FixtureRequest,
    world_templates: Templates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """One copy of the elections world for a test module, on each database kind under test."""
    for url in world_templates.clone(request.param, tmp_path_factory.mktemp("hostile")):
        yield site_for(url, request.param)


def raw_request(
    app: Any,
    method: str,
    raw_path: bytes,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes | Iterable[bytes] = b"",
    query: bytes = b"",
) -> httpx.Response:
    """One request straight into the ASGI app: the path and headers exactly as given (no
    client-side normalisation of ``..``, no refusal of CR/LF: a raw socket can send what a
    client library would not), the body in the chunks given (produced only as the app reads
    them, so a test can measure what the app holds)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("203.0.113.9", 50000),
        "server": ("testserver", 80),
    }
    chunks = iter([body] if isinstance(body, bytes) else body)
    pending = next(chunks, b"")
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pending
        if pending is None:
            return {"type": "http.disconnect"}
        chunk, pending = pending, next(chunks, None)
        return {"type": "http.request", "body": chunk, "more_body": pending is not None}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return httpx.Response(
        start["status"],
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]],
        content=content,
        request=httpx.Request(method, "http://testserver" + raw_path.decode("latin-1")),
    )
