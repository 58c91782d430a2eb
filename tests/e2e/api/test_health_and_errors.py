"""The HTTP skeleton: health, request ids, and errors that are always JSON on the API."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from openqpp.services import database
from openqpp.settings import Settings
from openqpp.web import create_app


@pytest.fixture
def client(database_url: str) -> TestClient:
    database.upgrade(database_url)
    return TestClient(create_app(Settings(database_url=database_url, log_json=True)))


def test_healthz_reports_the_database_and_revision(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["revision"] == database.head_revision()


def test_healthz_is_unavailable_when_the_database_is_not_migrated(sqlite_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=sqlite_url)))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "not migrated"


def test_every_response_carries_a_request_id_and_a_safe_offered_one_is_kept(
    client: TestClient,
) -> None:
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    injected = client.get("/healthz", headers={"X-Request-ID": "x\r\nSet-Cookie: a=b"})
    assert injected.headers["X-Request-ID"] != "x\r\nSet-Cookie: a=b"


def test_unknown_api_path_answers_json_not_html(client: TestClient) -> None:
    response = client.get("/api/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == "NotFound"
    assert "/api/nothing-here" in error["message"]
    assert error["requestId"] == response.headers["X-Request-ID"]


def test_unknown_page_answers_an_html_page_for_people(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Page not found" in response.text


def test_wrong_method_on_the_api_is_a_json_405(client: TestClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "MethodNotAllowed"


def test_unexpected_failure_is_a_json_500_without_a_traceback(database_url: str) -> None:
    database.upgrade(database_url)
    app = create_app(Settings(database_url=database_url))

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = TestClient(app, raise_server_exceptions=False).get("/api/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "OQ-SERVER-001"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def test_requests_are_logged_as_json_lines(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client.get("/healthz", headers={"X-Request-ID": "log-probe"})
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [entry for entry in lines if entry.get("request_id") == "log-probe"]
    assert access, lines
    assert access[0]["path"] == "/healthz"
    assert access[0]["status"] == 200
    assert "duration_ms" in access[0]
    logging.getLogger("openqpp").handlers.clear()


def test_openapi_document_is_published(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert "/healthz" in response.json()["paths"]
