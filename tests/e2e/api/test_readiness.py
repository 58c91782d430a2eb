"""An instance serves only once its database is at this version's schema: before that every
route but /healthz answers 503 OQ-DB-001 with Retry-After (so a proxy passes the request to
another instance); /healthz names the instance when OPENQPP_INSTANCE_NAME is set."""

from __future__ import annotations

from fastapi.testclient import TestClient

from openqpp.services import database
from openqpp.settings import Settings
from openqpp.web import create_app


def test_an_unmigrated_instance_refuses_every_route_but_healthz_with_503(sqlite_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=sqlite_url)))
    api = client.get("/api/eligibility/npi/1234567893")
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "10"
    error = api.json()["error"]
    assert error["code"] == "OQ-DB-001"
    assert "schema is at revision none (empty)" in error["message"]
    assert "openqpp db upgrade" in error["message"]
    page = client.get("/signin", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert "text/html" in page.headers["content-type"]
    assert "OQ-DB-001" in page.text
    assert client.get("/healthz").status_code == 503
    assert client.get("/static/css/openqpp.css").status_code == 200


def test_an_instance_serves_once_its_database_is_migrated(sqlite_url: str) -> None:
    client = TestClient(create_app(Settings(database_url=sqlite_url)))
    assert client.get("/signin").status_code == 503
    database.upgrade(sqlite_url)
    assert client.get("/signin").status_code == 200
    assert client.get("/api/eligibility/stats").status_code != 503


def test_healthz_names_the_instance_when_it_has_a_name(sqlite_url: str) -> None:
    database.upgrade(sqlite_url)
    named = TestClient(create_app(Settings(database_url=sqlite_url, instance_name="web-1:8001")))
    assert named.get("/healthz").json()["instance"] == "web-1:8001"
    unnamed = TestClient(create_app(Settings(database_url=sqlite_url)))
    assert "instance" not in unnamed.get("/healthz").json()
