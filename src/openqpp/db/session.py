"""Engines and sessions. SQLite gets WAL, foreign keys and a busy timeout on every connection."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

SQLITE_BUSY_TIMEOUT_MS = 30_000

PING_AFTER_IDLE_SECONDS: Final = 10.0
"""A pooled PostgreSQL connection unused for longer than this is pinged (one round trip) before
use; one returned more recently is only checked for a closed socket (no round trip)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite connections are configured for concurrent use.

    Statement errors name the SQL but not its bound values (``hide_parameters``): a 500's log
    line must not carry the TINs, NPIs, token hashes or e-mail addresses a statement was given.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    pre_ping = kwargs.pop("pool_pre_ping", True)
    by_socket = pre_ping and make_url(url).get_driver_name() == "psycopg"
    engine = create_engine(url, pool_pre_ping=pre_ping and not by_socket, **kwargs)
    if by_socket:
        _check_before_use(engine)
    return engine


def _check_before_use(engine: Engine) -> None:
    """Replace a pooled connection the database has dropped before a request uses it, without
    SQLAlchemy's pre-ping round trip on every checkout (~8% of an NPI lookup's server CPU and
    more of PostgreSQL's, bench/README.md).

    A database that restarts, crashes or terminates a backend closes the connection's socket,
    which then reads as closed while the connection sits in the pool: that is checked on each
    checkout (a poll, no round trip). A connection idle longer than
    :data:`PING_AFTER_IDLE_SECONDS` is pinged as well, for what a socket cannot show (a firewall
    or NAT that forgot an idle connection). Raising ``DisconnectionError`` in the checkout event
    makes the pool discard the connection and take or open another (SQLAlchemy's documented
    pessimistic disconnect handling)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        returned_at = record.info.pop("returned_at", None)
        if returned_at is None:
            return  # opened for this checkout
        if _closed_by_server(dbapi_connection):
            raise DisconnectionError("the database closed this pooled connection")
        if time.monotonic() - returned_at > PING_AFTER_IDLE_SECONDS:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError("a pooled connection failed its ping") from exc


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Whether the server has spoken on an idle psycopg connection: its socket is readable.
    Idle in the pool, a connection is sent something only when the server ends it (a
    "terminating connection" error, then the end of the stream); the rare notice that is not an
    ending costs a new connection, never an error."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except Exception:  # closed already: no socket
        return True


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits together, or rolls back whole on any error."""
    with factory() as session, session.begin():
        yield session
