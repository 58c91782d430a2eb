"""Fixtures shared by the whole suite: databases (SQLite always, PostgreSQL when asked), settings,
and the measures data roots."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, make_url, text

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "OPENQPP_TEST_DATABASE_URL"

# pytest-xdist's workers start with COLUMNS=80, and Rich fixes a console's width from COLUMNS
# when the console is made (openqpp.cli.common, at import): the CLI tests' own wider COLUMNS
# would then not apply and their tables wrap. Without it Rich reads COLUMNS on each print.
os.environ.pop("COLUMNS", None)

# Property and fuzz tests (hypothesis): no deadline anywhere (tests never assert timings; each
# test bounds itself with max_examples, and tests/support/hangs.py trips on a real hang). Under
# CI (.ci/run sets CI=true) also derandomized, with no example database: the same examples on
# every run, so a red build is the change's doing and repeats locally with CI=true; a failure
# prints the blob to reproduce it. Locally, examples stay random and failures are remembered in
# .hypothesis/.
hypothesis_settings.register_profile("openqpp", deadline=None)
hypothesis_settings.register_profile(
    "ci",
    parent=hypothesis_settings.get_profile("openqpp"),
    derandomize=True,
    database=None,
    print_blob=True,
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "openqpp")


def _postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def pytest_sessionstart(session: pytest.Session) -> None:
    """When PostgreSQL is asked for, it must be there: fail the run, never skip it."""
    url = _postgres_url()
    if url is None:
        return
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        raise pytest.UsageError(
            f"{POSTGRES_ENV} is set to {url} but PostgreSQL cannot be reached: {exc}. "
            "Start PostgreSQL or unset the variable."
        ) from exc


def _database_kinds() -> list[str]:
    return ["sqlite", "postgresql"] if _postgres_url() else ["sqlite"]


@pytest.fixture(params=_database_kinds())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind under test: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = make_url(_postgres_url() or "")
    name = f"openqpp_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        from openqpp.services.database import engine_for

        engine_for.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


# The elections world (a built database cloned per test) for the election tests in any folder.
pytest_plugins = ["tests.support.elections_world"]
