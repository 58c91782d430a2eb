"""A database that cannot be reached any more (its volume gone, a server down, every pooled
connection busy) answers 503 OQ-DB-002 with Retry-After, as the JSON error envelope on the API
and the error page for people: never a 500, a traceback or HTML on the API. Other database
errors (a broken constraint: a bug) stay server errors. The same with PostgreSQL restarting
under load: test_database_restart.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from openqpp.batch.demo import CLINICIANS
from openqpp.services import database, database_unavailable
from openqpp.settings import Settings
from openqpp.web import create_app

NPI = CLINICIANS[0].npi


@pytest.fixture
def moved(tmp_path: Path) -> tuple[TestClient, Path, str]:
    """A server whose SQLite database worked, then its folder went away."""
    folder = tmp_path / "volume"
    folder.mkdir()
    url = f"sqlite:///{folder / 'openqpp.db'}"
    database.upgrade(url)
    client = TestClient(create_app(Settings(database_url=url, log_level="warning")))
    assert client.get(f"/api/eligibility/npi/{NPI}").status_code == 404  # served: no run yet
    folder.rename(tmp_path / "unmounted")
    database.engine_for(url).dispose()  # pooled connections would still hold the old file
    return client, folder, url


def test_an_api_call_on_an_unreachable_database_answers_503_with_its_code(
    moved: tuple[TestClient, Path, str],
) -> None:
    client, _, _ = moved
    response = client.get(f"/api/eligibility/npi/{NPI}", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["Retry-After"] == str(database_unavailable.RETRY_AFTER_SECONDS)
    error = response.json()["error"]
    assert error["code"] == "OQ-DB-002"
    assert error["type"] == "ServiceUnavailable"
    assert "the database is unavailable" in error["message"]
    assert "Idempotency-Key" in error["message"]
    assert error["requestId"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text


def test_a_page_on_an_unreachable_database_is_the_503_error_page_with_its_code(
    moved: tuple[TestClient, Path, str],
) -> None:
    client, _, _ = moved
    response = client.get(f"/participation-lookup?npi={NPI}", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "OQ-DB-002" in response.text
    assert "Traceback" not in response.text


def test_healthz_says_the_database_is_unreachable_and_all_recovers_when_it_is_back(
    moved: tuple[TestClient, Path, str], tmp_path: Path
) -> None:
    client, folder, _ = moved
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["database"] == "unreachable"
    (tmp_path / "unmounted").rename(folder)
    assert client.get("/healthz").status_code == 200
    assert client.get(f"/api/eligibility/npi/{NPI}").status_code == 404


def test_only_errors_that_mean_the_database_is_unavailable_become_503() -> None:
    refused = create_engine("postgresql+psycopg://openqpp@127.0.0.1:9/none")
    with pytest.raises(OperationalError) as caught:
        refused.connect()
    refused.dispose()
    unreachable = database_unavailable.from_exception(caught.value)
    assert unreachable is not None
    assert (unreachable.code, unreachable.http_status) == ("OQ-DB-002", 503)
    busy = database_unavailable.from_exception(PoolTimeout("QueuePool limit reached"))
    assert busy is not None
    assert "every connection to the database is busy" in busy.message
    broken = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert database_unavailable.from_exception(broken) is None
    assert database_unavailable.from_exception(ValueError("not a database error")) is None
