"""PostgreSQL pooled connections are checked before use without a round trip each time
(`db/session._check_before_use`): one the server closed is replaced before a request sees it,
one returned moments ago is used as it is, one idle past PING_AFTER_IDLE_SECONDS is pinged, and
one that fails its ping is replaced. The restart under load is tests/faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from tests.conftest import _postgres_url

from openqpp.db import session as db_session
from openqpp.db.session import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine() -> Iterator[Engine]:
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not under test (OPENQPP_TEST_DATABASE_URL is not set)")
    made = make_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    yield made
    made.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


class _Pings:
    """Counts the dialect's pings (each a round trip) on ``engine``."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False):
        self.count = 0
        ping = engine.dialect.do_ping

        def counted(dbapi_connection: Any) -> bool:
            self.count += 1
            if fail:
                raise ConnectionError("no answer")
            return ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)


def test_a_connection_the_server_closed_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _Pings(engine, monkeypatch)
    first = _backend(engine)
    admin = create_engine(str(engine.url.render_as_string(False)), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        pid = {"pid": first}
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), pid).scalar_one()
        deadline = time.monotonic() + 10
        while connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), pid
        ).scalar_one():
            assert time.monotonic() < deadline, "the backend was not terminated"
            time.sleep(0.05)
    admin.dispose()
    second = _backend(engine)  # no error: the closed connection never reached the caller
    assert second != first
    assert pings.count == 0  # found by its socket, not by a round trip


def test_a_connection_returned_moments_ago_is_used_without_a_round_trip(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _Pings(engine, monkeypatch)
    backends = {_backend(engine) for _ in range(20)}
    assert len(backends) == 1
    assert pings.count == 0


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_if_it_fails(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(engine)
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_SECONDS", 0.0)
    pings = _Pings(engine, monkeypatch)
    assert _backend(engine) == first  # pinged, answered, kept
    assert pings.count == 1
    failing = _Pings(engine, monkeypatch, fail=True)
    assert _backend(engine) != first  # the ping failed: a new connection, no error
    assert failing.count == 1
