"""Connection pool settings (OPENQPP_DB_POOL_*) reach the engine (a SQLite file takes the sizes);
the server's thread pool has as many threads as the pool has connections."""

from __future__ import annotations

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from openqpp.db.session import make_engine
from openqpp.services import database
from openqpp.settings import Settings, get_settings

PG = "postgresql+psycopg://openqpp@db.invalid:5432/openqpp"  # never connected to


def test_the_pool_defaults_suit_one_web_process() -> None:
    options = database.engine_options(PG, Settings())
    assert options == {
        "pool_size": 4,
        "max_overflow": 10,
        "pool_timeout": 30.0,
        "pool_recycle": 1800,
        "pool_pre_ping": True,
    }


def test_pool_settings_come_from_the_environment_and_reach_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENQPP_DB_POOL_SIZE", "12")
    monkeypatch.setenv("OPENQPP_DB_MAX_OVERFLOW", "3")
    monkeypatch.setenv("OPENQPP_DB_POOL_TIMEOUT", "7.5")
    monkeypatch.setenv("OPENQPP_DB_POOL_RECYCLE", "-1")
    monkeypatch.setenv("OPENQPP_DB_POOL_PRE_PING", "false")
    get_settings.cache_clear()
    database.engine_for.cache_clear()
    try:
        engine = database.engine_for(PG)
        pool = engine.pool
        assert pool.size() == 12  # type: ignore[attr-defined]
        assert pool._max_overflow == 3  # type: ignore[attr-defined]
        assert pool._timeout == 7.5  # type: ignore[attr-defined]
        assert pool._recycle == -1
        assert pool._pre_ping is False
        engine.dispose()
    finally:
        get_settings.cache_clear()
        database.engine_for.cache_clear()


def test_a_sqlite_file_takes_the_pool_sizes_and_memory_keeps_its_single_connection() -> None:
    settings = Settings(db_pool_size=50, db_max_overflow=2, db_pool_timeout=4)
    options = database.engine_options("sqlite:///x.db", settings)
    assert options == {"pool_size": 50, "max_overflow": 2, "pool_timeout": 4}
    engine = make_engine("sqlite:///x.db", **options)
    assert engine.pool.size() == 50  # type: ignore[attr-defined]
    engine.dispose()
    assert database.engine_options("sqlite://", settings) == {}
    assert database.engine_options("sqlite:///:memory:", settings) == {}


def test_the_server_runs_as_many_threads_as_the_pool_has_connections() -> None:
    from openqpp.web.app import create_app

    app = create_app(Settings(database_url="sqlite://", db_pool_size=7))
    with TestClient(app) as client:  # the lifespan runs
        tokens = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter())
        assert tokens.total_tokens == 7


@pytest.mark.parametrize("bad", [{"db_pool_size": 0}, {"db_max_overflow": -1}])
def test_impossible_pool_settings_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="greater than"):
        Settings(**bad)  # type: ignore[arg-type]
