"""Fault injection for the tests in tests/faults: a real `openqpp serve` with two worker
processes in its own process group, killed with SIGKILL (every process of the group, so the
worker handling a request dies mid-request) and started again on the same port; and probes
that tell from the database alone when a request is inside its write transaction, so the kill
lands in the middle of it rather than by luck."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from tests.support import fault_world
from tests.support.access_http import csrf_from
from tests.support.live import REPO, free_port
from tests.support.registry_uploads import qpp_json

START_TIMEOUT = 60.0
WORKERS = 2
SERVER_ENV = {
    "OPENQPP_CLOCK": fault_world.CLOCK,
    "OPENQPP_RATE_LIMIT_PER_SECOND": "10000",
    "OPENQPP_RATE_LIMIT_BURST": "10000",
}
"""The fault world's election window open; the API's per-process rate limit out of the way."""


@dataclass
class Server:
    """`openqpp serve --workers 2` on one port, to ``start``, ``kill`` and ``stop`` repeatedly."""

    tmp: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp / f"server-{self.starts}.log"

    def log_text(self) -> str:
        return "\n".join(
            (self.tmp / f"server-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts + 1)
            if (self.tmp / f"server-{n}.log").exists()
        )

    def start(self) -> None:
        """Start the server and wait (bounded) until /healthz answers 200."""
        assert self.process is None, "the server is running"
        self.starts += 1
        env = {
            **os.environ,
            "OPENQPP_DATABASE_URL": self.database_url,
            "OPENQPP_LOG_JSON": "true",
            "OPENQPP_LOG_LEVEL": "warning",
            **self.env,
        }
        args = [sys.executable, "-m", "openqpp.cli", "serve", "--port", str(self.port)]
        args += ["--workers", str(WORKERS)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                args,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"the server exited while starting:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"the server did not answer /healthz within {START_TIMEOUT:.0f} s:\n{self.log_text()}"
        )

    def kill(self) -> None:
        """SIGKILL every process of the server (supervisor and workers) and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None
        _wait_for_group_exit(self.port)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the group), SIGKILL after 15 s."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        self.kill()


def _wait_for_group_exit(port: int, timeout: float = 10.0) -> None:
    """Wait until nothing accepts connections on ``port`` (the killed workers are gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
        except httpx.HTTPError:
            return
        time.sleep(0.05)
    raise AssertionError(f"something still answers on port {port} after the kill")


# ---------------------------------------------------------------- where a request is


class WriteProbe:
    """Tells from the database alone whether another connection is inside a write transaction:
    on PostgreSQL one that has written to given tables (its RowExclusiveLock on them is kept
    until commit or rollback), on SQLite any that holds the write lock (a ``BEGIN IMMEDIATE``
    that cannot start at once; taken and released at once when it can). Never writes."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.sqlite = database_url.startswith("sqlite")
        self.engine: Engine | None = None
        self.connection: sqlite3.Connection | None = None
        if self.sqlite:
            path = make_url(database_url).database or ""
            self.connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        else:
            self.engine = create_engine(database_url, isolation_level="AUTOCOMMIT")

    def writing(self, *tables: str) -> bool:
        """True while another connection's transaction has written to every one of ``tables``
        (to any table when none are named; SQLite: while another connection holds the write
        lock, as tables cannot be told apart there)."""
        if self.connection is not None:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            self.connection.execute("ROLLBACK")
            return False
        assert self.engine is not None
        with self.engine.connect() as connection:
            holders = connection.execute(
                text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE l.mode = 'RowExclusiveLock' AND l.granted AND c.relkind = 'r' "
                    "AND l.pid <> pg_backend_pid() AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND (cardinality(CAST(:t AS text[])) = 0 "
                    "OR c.relname = ANY(CAST(:t AS text[]))) "
                    "GROUP BY l.pid HAVING count(DISTINCT c.relname) >= :n"
                ),
                {"t": list(tables), "n": len(tables)},
            ).all()
        return bool(holders)

    def scalar(self, sql: str) -> Any:
        """One value read outside any write transaction (what has been committed)."""
        if self.connection is not None:
            return self.connection.execute(sql).fetchone()[0]
        assert self.engine is not None
        with self.engine.connect() as connection:
            return connection.execute(text(sql)).scalar()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.engine is not None:
            self.engine.dispose()


def wait_until(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.002
) -> float:
    """Poll ``condition`` until it holds; returns the seconds waited, fails after ``timeout``."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- a private PostgreSQL


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian layout), if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


@dataclass
class Cluster:
    """A PostgreSQL cluster of its own in a temporary directory, on a free loopback port, so a
    test may stop and restart it without touching the machine's shared server. As root it runs
    as the ``postgres`` user (initdb refuses root)."""

    bin: Path
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}"
                f"{result.stderr}\n{log[-3000:]}"
            )

    def init(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync",
            "-E", "UTF8", "--locale=C",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=60 -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again (the start options are kept; the log must be named again, or
        the server would write to this process's pipe and keep it open)."""
        data, log = str(self.data), str(self.log)
        self._run("pg_ctl", "-D", data, "-l", log, "-m", mode, "-w", "restart")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


# ---------------------------------------------------------------- killing mid-request


@dataclass(frozen=True)
class KillPoint:
    """Where in a request's write transaction the server is killed: as soon as a transaction
    has written to every one of ``tables`` (PostgreSQL; SQLite cannot tell tables apart and
    looks for its write lock), then ``fraction`` of a normal write transaction's measured
    duration later. ``certain``: the transaction cannot have committed by then (it is killed
    early in a long transaction), so nothing of that request may land."""

    name: str
    tables: tuple[str, ...] = ()
    fraction: float = 0.0
    certain: bool = False


def kill_mid_transaction(
    server: Server,
    probe: WriteProbe,
    point: KillPoint,
    *,
    write_seconds: float,
    in_flight: Callable[[], bool],
    ready: Callable[[], bool] = lambda: True,
    timeout: float = 60.0,
) -> None:
    """Wait (bounded) until ``ready()`` and a request is inside its write transaction at
    ``point``, wait ``point.fraction * write_seconds``, and SIGKILL the server. Fails if the
    requests all finished before the point was reached."""

    def reached() -> bool:
        if not in_flight():
            raise AssertionError(
                f"the requests finished before kill point {point.name!r} was reached"
            )
        return ready() and probe.writing(*point.tables)

    interval = 0.005 if probe.sqlite else 0.002
    wait_until(reached, timeout=timeout, what=f"kill point {point.name!r}", interval=interval)
    if point.fraction:
        time.sleep(point.fraction * write_seconds)
    server.kill()


def measure_write(
    probe: WriteProbe, send: Callable[[], httpx.Response]
) -> tuple[httpx.Response, float]:
    """Send one request normally; returns its response and how long its write transaction
    was seen open (from the probe's first to its last sight of it)."""
    outcomes, in_flight, join = send_concurrently([send], threads=1)
    first_seen = last_seen = None
    while in_flight():
        if probe.writing():
            last_seen = time.monotonic()
            first_seen = first_seen or last_seen
        time.sleep(0.002)
    join()
    sent = outcomes[0]
    assert sent.response is not None, f"the normal request failed: {sent.error!r}"
    assert first_seen is not None, "the normal request's write transaction was never seen"
    assert last_seen is not None
    return sent.response, last_seen - first_seen


@dataclass
class Sent:
    """What a client got for one request: a response, or the transport error (server killed)."""

    response: httpx.Response | None = None
    error: BaseException | None = None
    seconds: float = 0.0


def send_concurrently(
    requests: Sequence[Callable[[], httpx.Response]], *, threads: int
) -> tuple[list[Sent], Callable[[], bool], Callable[[], None]]:
    """Send ``requests`` from ``threads`` threads (each takes the next one when done).

    Returns the outcomes (filled in as they come), ``in_flight()`` (any still being sent or
    waiting) and ``join()``."""
    outcomes = [Sent() for _ in requests]
    queue = iter(range(len(requests)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            started = time.monotonic()
            try:
                outcomes[index].response = requests[index]()
            except httpx.HTTPError as exc:
                outcomes[index].error = exc
            outcomes[index].seconds = time.monotonic() - started

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()

    def in_flight() -> bool:
        return any(worker.is_alive() for worker in workers)

    def join() -> None:
        for worker in workers:
            worker.join(timeout=120)
            assert not worker.is_alive(), "a client thread is still waiting after 120 s"

    return outcomes, in_flight, join


# ---------------------------------------------------------------- what the database holds


@dataclass
class Ledger:
    """The elections, data and audit records of the fault world's practice, as committed."""

    elections: dict[str, list[int]]
    """entity key -> the ids of its election rows (never more than one)."""
    election_audits: Counter[str]
    """election id -> its ``election.confirmed`` audit records."""
    submissions: Counter[str]
    """entity key -> its submission rows."""
    receipts: Counter[str]
    """entity key -> its submission receipts."""
    submission_audits: Counter[str]
    """submission id -> its ``submission.*`` audit records."""
    submission_ids: dict[str, str]
    uploads: dict[str, str]
    """upload id -> status."""
    upload_audits: Counter[str]
    """upload id -> its ``upload.confirmed`` audit records."""
    held: Counter[str]
    """upload id -> files whose data is still held (not yet stored or dropped)."""
    idempotency: dict[str, dict[str, Any]]
    """Idempotency-Key -> the stored response body."""

    def election_id(self, key: str) -> int | None:
        ids = self.elections.get(key, [])
        return ids[0] if ids else None

    def audit_problems(self) -> list[str]:
        """Where the audit log and the elections and data do not match one to one."""
        problems = [
            f"{key} has {len(ids)} elections" for key, ids in self.elections.items() if len(ids) > 1
        ]
        ids = {str(i) for rows in self.elections.values() for i in rows}
        for election in sorted(ids):
            if self.election_audits[election] != 1:
                problems.append(
                    f"election {election} has {self.election_audits[election]} audit records"
                )
        problems += [
            f"audit record for election {e}, which does not exist"
            for e in sorted(set(self.election_audits) - ids)
        ]
        submissions = set(self.submission_ids.values())
        for submission in sorted(submissions):
            if self.submission_audits[submission] != 1:
                problems.append(
                    f"submission {submission} has {self.submission_audits[submission]} audit "
                    "records"
                )
        problems += [
            f"audit record for submission {s}, which does not exist"
            for s in sorted(set(self.submission_audits) - submissions)
        ]
        for upload, status in self.uploads.items():
            expected = 1 if status == "confirmed" else 0
            if self.upload_audits[upload] != expected:
                problems.append(
                    f"upload {upload} ({status}) has {self.upload_audits[upload]} "
                    "upload.confirmed audit records"
                )
        return problems


def read_ledger(url: str) -> Ledger:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:

            def rows(sql: str) -> list[Any]:
                return list(connection.execute(text(sql), {"tin": fault_world.PRACTICE}))

            elections: dict[str, list[int]] = {}
            for key, election_id in rows(
                "SELECT entity_key, id FROM elections WHERE tin = :tin ORDER BY id"
            ):
                elections.setdefault(key, []).append(int(election_id))
            audits = rows(
                "SELECT action, object_id FROM audit_records WHERE action IN "
                "('election.confirmed', 'upload.confirmed') OR action LIKE 'submission.%'"
            )
            submission_ids = dict(rows("SELECT entity_key, id FROM submissions WHERE tin = :tin"))
            return Ledger(
                elections=elections,
                election_audits=Counter(o for a, o in audits if a == "election.confirmed"),
                submissions=Counter(
                    k for (k,) in rows("SELECT entity_key FROM submissions WHERE tin = :tin")
                ),
                receipts=Counter(
                    k
                    for (k,) in rows(
                        "SELECT s.entity_key FROM submission_receipts r "
                        "JOIN submissions s ON s.id = r.submission_id WHERE s.tin = :tin"
                    )
                ),
                submission_audits=Counter(o for a, o in audits if a.startswith("submission.")),
                submission_ids=submission_ids,
                uploads=dict(rows("SELECT id, status FROM uploads")),
                upload_audits=Counter(o for a, o in audits if a == "upload.confirmed"),
                held=Counter(
                    u
                    for (u,) in rows(
                        "SELECT upload_id FROM upload_files WHERE submission_json IS NOT NULL"
                    )
                ),
                idempotency={
                    key: body if isinstance(body, dict) else json.loads(body)
                    for key, body in rows("SELECT key, body FROM idempotency_records")
                },
            )
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the registry's pages


class RegistryPages:
    """The registry's security official signed in to the pages (httpx, cookies kept)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=60)
        token = csrf_from(self.client.get("/signin").text)
        signed_in = self.client.post(
            "/signin",
            data={
                "user_id": fault_world.USER,
                "password": fault_world.PASSWORD,
                "statement_of_truth": "yes",
                "csrf_token": token,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        self.path = f"/organisations/registry/{fault_world.REGISTRY}"
        self.csrf = csrf_from(self.client.get(f"{self.path}/uploads").text)

    def stage(self, indices: Iterable[int]) -> str:
        """Upload one QPP JSON file per clinician; returns the upload's page path. Like
        :meth:`confirm`, on a client of its own, so many can be sent at once."""
        files = [
            (
                "files",
                (
                    f"clinician-{i}.json",
                    qpp_json(fault_world.PRACTICE, npi=fault_world.npi(i), year=fault_world.YEAR),
                    "application/json",
                ),
            )
            for i in indices
        ]
        with httpx.Client(base_url=self.base_url, cookies=self.client.cookies, timeout=60) as c:
            response = c.post(
                f"{self.path}/uploads",
                data={"csrf_token": self.csrf, "year": str(fault_world.YEAR)},
                files=files,
            )
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    def stage_all(self, groups: Sequence[Iterable[int]]) -> list[str]:
        """:meth:`stage` each group, two at a time (the server's two workers)."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(self.stage, groups))

    def confirm(self, upload: str, indices: Iterable[int], kind: str = "opt_in") -> httpx.Response:
        """ "I'm Sure, Confirm Selections" with CONFIRM typed, on a client of its own (the
        same session cookie), so many can be sent at once from threads."""
        data = {"csrf_token": self.csrf, "typed": "CONFIRM"}
        for i in indices:
            data[f"choice-{fault_world.PRACTICE}-{fault_world.npi(i)}"] = kind
        with httpx.Client(base_url=self.base_url, cookies=self.client.cookies, timeout=60) as c:
            return c.post(f"{upload}/confirm", data=data)

    def close(self) -> None:
        self.client.close()


def upload_id(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
