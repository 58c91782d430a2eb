"""PostgreSQL restarted under load (`pg_ctl stop -m fast` then start, and `pg_ctl restart -m
immediate`) while threads send lookups and elections to a running server with two workers:
requests during the outage fail cleanly (503, the JSON error envelope with an OQ-DB code, no
traceback), /healthz says the database is unreachable, requests succeed again once the
database is back without restarting the server, and no election is lost or recorded twice. A
restart while the server is idle costs no request at all: the pooled connections the database
closed are replaced before use (db/session._check_before_use).

The database is a cluster of the test's own (initdb in a temporary directory, a free port),
never the machine's shared PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import fault_world
from tests.support.faults import SERVER_ENV, Cluster, Server, postgres_bin, read_ledger, wait_until

from openqpp.services import database

pytestmark = pytest.mark.postgres

ELECTORS = 2
READERS = 2
LOOKUP_ENTITIES = 10
BACK_OFF_SECONDS = 0.05


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): install Debian's "
            "postgresql package to run the database restart test"
        )
    root = Path(tempfile.mkdtemp(prefix="openqpp-pg-"))
    private = Cluster(binaries, root)
    try:
        private.init()
        private.start()
        yield private
    finally:
        if private.running():
            with contextlib.suppress(RuntimeError):
                private.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Call:
    kind: str
    started: float
    ended: float
    status: int | None
    content_type: str
    body: str
    entity: int | None = None
    key: str | None = None
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Load:
    """Threads sending elections (one entity, a new Idempotency-Key each) and lookups of ten
    entities' opt-in status, until stopped; every call is recorded."""

    def __init__(self, server: Server, token: str) -> None:
        self.url = f"{server.url}/api/eligibility/opt-in"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.entities = count()
        self.lookups = count()
        self.threads = [
            threading.Thread(target=self._run, args=(self._elect,), daemon=True)
            for _ in range(ELECTORS)
        ] + [
            threading.Thread(target=self._run, args=(self._look_up,), daemon=True)
            for _ in range(READERS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), "a load thread is still waiting after 120 s"

    def _run(self, call: Callable[[httpx.Client], None]) -> None:
        with httpx.Client(timeout=60, headers=self.headers) as client:
            while not self.stopping.is_set():
                call(client)

    def _record(self, kind: str, send: Callable[[], httpx.Response], **extra: Any) -> None:
        started = time.monotonic()
        try:
            response = send()
        except httpx.HTTPError as exc:
            call = Call(kind, started, time.monotonic(), None, "", "", error=repr(exc), **extra)
        else:
            call = Call(
                kind,
                started,
                time.monotonic(),
                response.status_code,
                response.headers.get("content-type", ""),
                response.text,
                **extra,
            )
        with self.lock:
            self.calls.append(call)
        if call.status != 200:
            self.stopping.wait(BACK_OFF_SECONDS)  # as a client would, told to retry later

    def _elect(self, client: httpx.Client) -> None:
        with self.lock:
            entity = next(self.entities)
        if entity >= fault_world.CLINICIANS:
            self.stopping.wait(0.1)
            return
        key = str(uuid.uuid4())
        self._record("elect", partial_put(client, self.url, entity, key), entity=entity, key=key)

    def _look_up(self, client: httpx.Client) -> None:
        with self.lock:
            first = next(self.lookups) * LOOKUP_ENTITIES % fault_world.CLINICIANS
        wanted = ",".join(
            f"{fault_world.PRACTICE}|{fault_world.npi((first + i) % fault_world.CLINICIANS)}"
            for i in range(LOOKUP_ENTITIES)
        )
        self._record(
            "lookup",
            lambda: client.get(
                self.url, params={"year": fault_world.YEAR}, headers={"Qpp-Opt-In-Entities": wanted}
            ),
        )

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def wait_for(self, what: str, wanted: int, match: Callable[[Call], bool]) -> None:
        wait_until(
            lambda: sum(1 for c in self.snapshot() if match(c)) >= wanted,
            timeout=60,
            what=f"{wanted} {what}",
            interval=0.05,
        )


def partial_put(
    client: httpx.Client, url: str, entity: int, key: str
) -> Callable[[], httpx.Response]:
    body = {
        "data": [
            {"tin": fault_world.PRACTICE, "npi": fault_world.npi(entity), "decision": "opt_in"}
        ],
        "year": fault_world.YEAR,
        "confirm": "CONFIRM",
    }
    return lambda: client.put(url, json=body, headers={"Idempotency-Key": key})


def _sent(kind: str, *, after: float) -> Callable[[Call], bool]:
    return lambda call: call.kind == kind and call.started > after


def _clean_failure(call: Call) -> str | None:
    """What is wrong with a failed call's answer (None: a clean 503 with an OQ-DB code)."""
    if call.error is not None:
        return f"{call.kind}: no HTTP answer ({call.error})"
    if call.status != 503:
        return f"{call.kind}: {call.status} {call.body[:300]}"
    if not call.content_type.startswith("application/json"):
        return f"{call.kind}: 503 as {call.content_type}: {call.body[:300]}"
    if "Traceback" in call.body or 'File "' in call.body:
        return f"{call.kind}: a traceback in the answer: {call.body[:300]}"
    error = call.json().get("error", {})
    if not str(error.get("code", "")).startswith("OQ-DB-") or not error.get("message"):
        return f"{call.kind}: 503 without an OQ-DB code and message: {call.body[:300]}"
    return None


@contextlib.contextmanager
def _served_world(
    cluster: Cluster, tmp_path: Path, name: str
) -> Iterator[tuple[str, Server, Load]]:
    """The fault world in a new database of ``cluster``, served by a started two-worker server,
    and the load against it (not started); stopped and forgotten afterwards."""
    url = cluster.create_database(name)
    token = fault_world.build(url, tmp_path / "world")
    database.engine_for.cache_clear()
    server = Server(tmp_path, url, env=dict(SERVER_ENV))
    load = Load(server, token)
    try:
        server.start()
        yield url, server, load
    finally:
        load.stopping.set()
        server.stop()
        database.engine_for.cache_clear()


def test_requests_fail_cleanly_while_postgresql_restarts_and_recover_without_losing_elections(
    cluster: Cluster, tmp_path: Path
) -> None:
    with _served_world(cluster, tmp_path, "openqpp_faults") as (url, server, load):
        pid = server.process.pid if server.process else None
        load.start()
        load.wait_for("elections answered", 10, lambda c: c.kind == "elect" and c.status == 200)

        # Stopped (fast: connections terminated, transactions rolled back) for a while.
        cluster.stop("fast")
        stopped = time.monotonic()
        load.wait_for("elections sent during the outage", 5, _sent("elect", after=stopped))
        load.wait_for("lookups sent during the outage", 5, _sent("lookup", after=stopped))
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        starting = time.monotonic()
        cluster.start()
        back = time.monotonic()
        load.wait_for(
            "elections answered after the start",
            10,
            lambda c: c.kind == "elect" and c.status == 200 and c.started > back,
        )

        # Crashed (immediate: no shutdown checkpoint, recovery at start) and started again.
        crashing = time.monotonic()
        cluster.restart("immediate")
        recovered = time.monotonic()
        load.wait_for(
            "elections answered after the crash",
            10,
            lambda c: c.kind == "elect" and c.status == 200 and c.started > recovered,
        )
        load.stop()
        calls = load.snapshot()

        assert health.status_code == 503, health.text
        assert health.json()["database"] == "unreachable"
        assert server.process is not None
        assert server.process.poll() is None
        assert server.process.pid == pid, "the server was restarted"
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200

        failed = [c for c in calls if c.status != 200]
        problems = [p for c in failed if (p := _clean_failure(c)) is not None]
        assert not problems, "\n".join(problems[:10])
        outage = [c for c in calls if c.started > stopped and c.ended < starting]
        assert len(outage) >= 10
        assert all(c.status == 503 for c in outage), "a request succeeded with the database down"
        codes = {c.json()["error"]["code"] for c in failed}
        assert "OQ-DB-002" in codes, codes
        after_start = [c for c in calls if back < c.started and c.ended < crashing]
        after_crash = [c for c in calls if c.started > recovered]
        assert after_start
        assert after_crash
        still = [c for c in after_start + after_crash if c.status != 200]
        assert not still, f"{len(still)} requests failed with the database up: {still[0]}"

        # Every election answered 200 exists exactly once; a failed one, repeated with its key,
        # is recorded now or replayed (it had landed before the connection dropped): once.
        elections = [c for c in calls if c.kind == "elect"]
        answered: dict[int, int] = {
            c.entity: c.json()["data"][0]["electionId"]
            for c in elections
            if c.status == 200 and c.entity is not None
        }
        with httpx.Client(timeout=60, headers=load.headers) as client:
            for c in elections:
                if c.status == 200:
                    continue
                assert c.entity is not None
                assert c.key is not None
                retry = partial_put(client, load.url, c.entity, c.key)()
                assert retry.status_code == 200, retry.text
                answered[c.entity] = retry.json()["data"][0]["electionId"]
        ledger = read_ledger(url)
        assert not ledger.audit_problems(), ledger.audit_problems()[:10]
        recorded = {e: ledger.elections.get(fault_world.entity_key(e), []) for e in answered}
        assert recorded == {e: [election] for e, election in answered.items()}
        assert len(ledger.elections) == len(answered)


def test_a_restart_while_the_server_is_idle_fails_no_request(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Each worker's pool holds connections the restart closed; no request may meet one."""
    lookup = f"{fault_world.PRACTICE}|{fault_world.npi(0)}"
    with (
        _served_world(cluster, tmp_path, "openqpp_idle") as (_, _, load),  # its threads unused
        ThreadPoolExecutor(16) as pool,
        httpx.Client(timeout=60, headers=load.headers) as client,
    ):

        def look_up(_: int) -> httpx.Response:
            return client.get(
                load.url,
                params={"year": fault_world.YEAR},
                headers={"Qpp-Opt-In-Entities": lookup},
            )

        # Several requests at once, so each worker's pool keeps several connections.
        assert {r.status_code for r in pool.map(look_up, range(64))} == {200}
        cluster.restart("fast")
        after = list(pool.map(look_up, range(64)))
        elected = partial_put(client, load.url, 1, str(uuid.uuid4()))()
    failed = [r for r in after if r.status_code != 200]
    assert not failed, f"{len(failed)} of 64 lookups failed: {failed[0].text[:300]}"
    assert elected.status_code == 200, elected.text
