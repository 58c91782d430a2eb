"""Load on the real server: `openqpp serve --workers N` against SQLite and PostgreSQL.

Prepares a database holding a national-size determination run (default 1.5 million clinicians
at 300,000 TINs from the synthetic claims generator), with a registry and a few practices set up
through the access services (organisations, users, Security Officials who sign in and create API
tokens, client authorisations), starts `openqpp serve` on a loopback port with its clock pinned
inside the year's election window, and drives a bounded mix of requests from other processes
(aiohttp on uvloop, ``--clients`` processes, ``--concurrency`` requests in flight) for a fixed
time:

* ``npi``: ``GET /api/eligibility/npi/{npi}`` (public, random NPIs of the run);
* ``roster``: ``POST /api/eligibility/roster`` (CSV of ``--roster-rows`` TIN/NPI and TIN rows);
* ``elect``: ``PUT /api/eligibility/opt-in`` with an API token, ``--election-batch`` opt-in
  eligible entities per request, each entity elected once, an ``Idempotency-Key`` per request,
  typed CONFIRM. A share of the requests is repeated with the same key (``elect-replay``: must
  answer the same elections, ``Idempotency-Replayed: true``) and a share is sent twice at once
  with different keys (``elect-race``: exactly one must win, the other is refused with 409);
* ``score``: ``POST /api/submissions/submissions/score-preview`` (a QPP JSON submission).

Then prints, per database: each endpoint's requests, requests per second, p50/p99 latency and
errors by status (timeouts included); the targets beside the figures (met / not met); the CPU
the server, PostgreSQL, the clients and everything else used during the run (the clients must
not be the bottleneck); the in-process service time of an NPI lookup as a baseline; and the
integrity of the elections, checked against the database after the server stopped: every
election the server answered 200 for exists exactly once with the id it answered, none exists
that the client was not told about (except for requests that timed out: reported), each has
its one audit record, repeats recorded nothing twice, and each race had one winner.

The prepared database is cached (``--cache-dir``): claims under ``claims-*``, and a template
database per kind (a SQLite file; a PostgreSQL database ``<name>_tpl_<hash>``). Every run works
on a fresh copy of the template (a file copy; ``CREATE DATABASE ... TEMPLATE``), because
elections are final and each run makes thousands. A second run with the same arguments does not
regenerate or reload anything. Figures are printed, never asserted.

    .venv/bin/python bench/load.py --postgres postgresql://postgres@127.0.0.1:5432/openqpp_load
    .venv/bin/python bench/load.py --sqlite --seconds 60
    .venv/bin/python bench/load.py --clinicians 20000 --tins 4000 --lines 800000 --seconds 10 \\
        --sqlite --postgres postgresql://postgres@127.0.0.1:5432/openqpp_load
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
from sqlalchemy import create_engine, func, make_url, select, text

from openqpp.batch.synth import synthesize
from openqpp.core.access import OrganisationType
from openqpp.core.submissions.model import EntityType
from openqpp.db.models import (
    AuditRecord,
    Election,
    EligibilityResultRow,
    Organisation,
    OrganisationKind,
)
from openqpp.measures import MeasuresCatalogue
from openqpp.policy import load_policy
from openqpp.services import (
    access,
    audit,
    database,
    eligibility_lookup,
    scoring_cms,
)
from openqpp.services.elections import window_for
from openqpp.settings import get_settings

try:  # run as `python bench/load.py` (bench/ on sys.path) or imported as bench.load (tests)
    from bench.lookup import load
    from bench.scoring import make_submissions
except ImportError:  # pragma: no cover - depends on how the script is started
    from lookup import load  # type: ignore[no-redef]
    from scoring import make_submissions  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / ".data" / "bench" / "load"
REGISTRY_ID = "LOAD-QR"
KINDS = ("npi", "roster", "elect", "score")
DEFAULT_MIX = "npi=80,roster=4,elect=12,score=4"
ENDPOINTS = {
    "npi": "GET  /api/eligibility/npi/{npi}",
    "roster": "POST /api/eligibility/roster",
    "elect": "PUT  /api/eligibility/opt-in",
    "elect-replay": "PUT  opt-in, repeated (same key)",
    "elect-race": "PUT  opt-in, sent twice at once",
    "score": "POST /api/submissions/.../score-preview",
}
EXPECTED = {"npi": {200}, "roster": {200}, "elect": {200}, "elect-replay": {200}}
"""Statuses that are not errors (a race's loser is checked by the integrity report)."""
TIMEOUT = -1
STAGGER = 0.02
"""Seconds between the clients' first requests (each opens a connection)."""
TRANSPORT_ERROR = -2


def say(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    clinicians: int = 1_500_000
    tins: int = 300_000
    lines: int = 60_000_000
    near_threshold: float | None = 0.04
    year: int = 2022
    seed: int = 7
    pool: int = 40_000
    """Opt-in eligible entities registered as clients (enough for the run's elections)."""
    practice_tokens: int = 4
    """Practices that elect with their own API token (the rest through the registry)."""
    seconds: float = 60.0
    warmup: float = 10.0
    workers: int = 2
    concurrency: int = 32
    clients: int = 1
    mix: tuple[tuple[str, float], ...] = tuple(
        (k, float(v)) for k, v in (p.split("=") for p in DEFAULT_MIX.split(","))
    )
    election_batch: int = 1
    roster_rows: int = 50
    replay_share: float = 0.05
    race_share: float = 0.02
    timeout: float = 30.0
    baseline_lookups: int = 1000
    cache_dir: Path = DEFAULT_CACHE
    log_level: str = "info"

    def claims_key(self) -> str:
        near = "default" if self.near_threshold is None else f"{self.near_threshold:g}"
        return f"claims-{self.clinicians}-{self.tins}-{self.lines}-{near}-{self.year}-{self.seed}"

    def template_key(self) -> str:
        """Everything the prepared database depends on, the schema revision included."""
        raw = (
            f"{self.claims_key()}|pool={self.pool}|practices={self.practice_tokens}|"
            f"schema={database.head_revision()}"
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def parse_mix(raw: str) -> tuple[tuple[str, float], ...]:
    """``npi=80,roster=4,elect=12,score=4`` -> weights (kinds left out get 0)."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, _, value = part.partition("=")
        if name not in KINDS:
            raise SystemExit(f"--mix: unknown kind {name!r}; use {', '.join(KINDS)}")
        weights[name] = float(value)
    if not any(weights.values()):
        raise SystemExit("--mix: give at least one kind a weight above 0")
    return tuple((k, weights.get(k, 0.0)) for k in KINDS)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------- databases


@dataclass(frozen=True)
class Target:
    """A database kind to measure: SQLite (a file) or PostgreSQL (the URL's database)."""

    kind: str
    postgres_url: str | None = None

    @property
    def label(self) -> str:
        return "PostgreSQL" if self.kind == "postgresql" else "SQLite"


def _pg_admin(url: str) -> Any:
    return create_engine(
        make_url(url).set(database="postgres", drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )


def _pg_url(url: str, name: str) -> str:
    return (
        make_url(url)
        .set(database=name, drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
    )


def _pg_exists(url: str, name: str) -> bool:
    admin = _pg_admin(url)
    try:
        with admin.connect() as connection:
            return bool(
                connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar()
            )
    finally:
        admin.dispose()


def _pg_execute(url: str, *statements: str) -> None:
    admin = _pg_admin(url)
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


def drop_postgres(target: Target, options: Options) -> None:
    """Drop the run database and the cached template of ``target`` (PostgreSQL)."""
    assert target.postgres_url is not None
    name = make_url(target.postgres_url).database or "openqpp_load"
    template = f"{name}_tpl_{options.template_key()}"
    _pg_execute(
        target.postgres_url,
        *(
            f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'
            for n in (name, template, f"{template}_part")
        ),
    )


def warm(url: str) -> None:
    """Read the copy once, as a server that has been answering for a while has it cached: a
    SQLite file copy is in the page cache already; PostgreSQL's new files are read with
    pg_prewarm (into the operating system's cache) and analysed for the planner."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            connection.execute(
                text(
                    "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
                )
            )
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _forget(url: str) -> None:
    """Close every pooled connection this process holds to ``url``."""
    database.engine_for(url).dispose()


@dataclass
class Prepared:
    url: str
    credentials: dict[str, Any]
    timings: dict[str, float]
    reused: bool


def ensure_claims(options: Options) -> tuple[Path, dict[str, float]]:
    """The synthetic claims (generated once per population and kept in the cache)."""
    folder = options.cache_dir / options.claims_key()
    done = folder / "complete"
    if done.exists():
        return folder, {}
    started = time.perf_counter()
    say(f"generating {options.lines:,} claim lines for {options.clinicians:,} clinicians ...")
    result = synthesize(
        folder,
        clinicians=options.clinicians,
        lines=options.lines,
        year=options.year,
        seed=options.seed,
        tins=options.tins,
        near_threshold=options.near_threshold,
    )
    done.write_text(json.dumps(dataclasses.asdict(result), default=str))
    elapsed = time.perf_counter() - started
    say(f"  {result.tins:,} TINs, {result.tin_npis:,} TIN/NPIs in {elapsed:.1f} s")
    return folder, {"generate claims": elapsed}


def load_run(url: str, claims: Path, year: int) -> dict[str, float]:
    """Migrate, aggregate the claims (DuckDB) and record the determination run."""
    loaded = load(url, claims, year, fingerprint="bench-load")
    summary = loaded.summary
    counts = ", ".join(f"{n:,} {level}" for level, n in sorted(summary.counts.items()))
    say(f"  run {year}:{summary.run_number}: {counts}")
    return {
        "aggregate claims (DuckDB)": loaded.aggregated,
        "decide and load the run": loaded.recorded,
    }


def setup_access(url: str, options: Options) -> dict[str, Any]:
    """A registry and ``practice_tokens`` practices, set up as an operator and their Security
    Officials would: organisations, users, roles, client authorisations (operator, from a
    signed agreement), and API tokens the Security Officials create after signing in."""
    factory = database.session_factory(url)
    with factory() as session:
        run = eligibility_lookup.latest_run(session, options.year)
        rows = session.execute(
            select(EligibilityResultRow.tin, EligibilityResultRow.npi).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.status == "opt_in_eligible",
                EligibilityResultRow.level.in_(("individual", "group")),
            )
        ).all()
    by_tin: dict[str, int] = Counter(tin for tin, _ in rows if tin)
    tins = sorted(by_tin)
    random.Random(options.seed).shuffle(tins)
    chosen: list[str] = []
    entities = 0
    for tin in tins:
        if entities >= options.pool:
            break
        chosen.append(tin)
        entities += by_tin[tin]
    if not chosen:
        raise SystemExit("the determination has no opt-in eligible entity: raise --near-threshold")
    practices = sorted(chosen, key=lambda t: (-by_tin[t], t))[: options.practice_tokens]
    say(
        f"  {entities:,} opt-in eligible entities at {len(chosen):,} TINs become clients "
        f"({len(practices)} practices elect with their own token)"
    )
    users = [("load.registry.so", OrganisationType.REGISTRY, REGISTRY_ID)]
    users += [(f"load.so.{tin}", OrganisationType.PRACTICE, tin) for tin in practices]
    passwords = {user_id: access.generate_password() for user_id, _, _ in users}
    with factory.begin() as session:
        access.create(
            session,
            kind=OrganisationType.REGISTRY,
            identifier=REGISTRY_ID,
            name="Load Test Registry",
            registry_type="qualified_registry",
        )
        for tin in chosen:
            access.create(
                session, kind=OrganisationType.PRACTICE, identifier=tin, name=f"Practice {tin}"
            )
        for tin in chosen:
            if tin not in practices:
                access.operator_authorise(
                    session,
                    practice_tin=tin,
                    registry_vendor_id=REGISTRY_ID,
                    performance_year=options.year,
                    evidence="bench/load.py agreement",
                )
        for user_id, kind, identifier in users:
            access.create_user(
                session,
                user_id=user_id,
                name=f"Security Official {identifier}",
                email=f"{user_id}@example.org",
                password=passwords[user_id],
            )
            access.operator_grant(
                session,
                user_id=user_id,
                organisation_type=kind,
                identifier=identifier,
                role="security_official",
            )
    tokens: dict[str, str] = {}
    context = audit.RequestContext(request_id="bench-load-setup", client_address="127.0.0.1")
    for user_id, kind, identifier in users:
        with factory.begin() as session:
            outcome = access.sign_in(
                session,
                user_id=user_id,
                password=passwords[user_id],
                agreed_to_statement_of_truth=True,
                context=context,
            )
            if outcome.principal is None:
                raise SystemExit(f"{user_id} could not sign in: {outcome.error}")
            created = access.create_token(
                session,
                principal=outcome.principal,
                organisation_type=kind,
                identifier=identifier,
                label="bench/load.py",
                context=context,
            )
        tokens[identifier] = created.token
    return {
        "registry": REGISTRY_ID,
        "registry_token": tokens.pop(REGISTRY_ID),
        "practice_tokens": tokens,
    }


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def prepare(target: Target, options: Options) -> Prepared:
    """A fresh copy of the cached template database (built first when missing)."""
    key = options.template_key()
    folder = options.cache_dir / f"template-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    if target.kind == "sqlite":
        template = folder / "template.db"
        credentials_file = folder / "sqlite-credentials.json"
        ready = template.exists() and credentials_file.exists()
    else:
        assert target.postgres_url is not None
        run_name = make_url(target.postgres_url).database or "openqpp_load"
        template_name = f"{run_name}_tpl_{key}"
        credentials_file = folder / f"{template_name}-credentials.json"
        ready = credentials_file.exists() and _pg_exists(target.postgres_url, template_name)
    if not ready:
        claims, generated = ensure_claims(options)
        timings |= generated
        say(f"{target.label}: preparing the template database (once per population) ...")
        if target.kind == "sqlite":
            building = folder / "template.db.part"
            for stale in folder.glob("template.db.part*"):
                stale.unlink()
            url = _sqlite_url(building)
        else:
            building_name = f"{template_name}_part"
            _pg_execute(
                target.postgres_url,
                f'DROP DATABASE IF EXISTS "{building_name}" WITH (FORCE)',
                f'CREATE DATABASE "{building_name}"',
            )
            url = _pg_url(target.postgres_url, building_name)
        timings |= load_run(url, claims, options.year)
        started = time.perf_counter()
        credentials = setup_access(url, options)
        timings["organisations, users, tokens, clients"] = time.perf_counter() - started
        _forget(url)
        if target.kind == "sqlite":
            with sqlite3.connect(building) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            building.replace(template)
            for leftover in folder.glob("template.db.part*"):
                leftover.unlink()
        else:
            _pg_execute(
                target.postgres_url,
                f'ALTER DATABASE "{building_name}" RENAME TO "{template_name}"',
            )
        credentials_file.write_text(json.dumps(credentials))
    credentials = json.loads(credentials_file.read_text())
    started = time.perf_counter()
    if target.kind == "sqlite":
        run_file = folder / "run.db"
        for old in folder.glob("run.db*"):
            old.unlink()
        shutil.copyfile(template, run_file)
        url = _sqlite_url(run_file)
    else:
        _pg_execute(
            target.postgres_url,
            f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)',
            f'CREATE DATABASE "{run_name}" TEMPLATE "{template_name}" STRATEGY FILE_COPY',
        )
        url = _pg_url(target.postgres_url, run_name)
    # Written out now: the copy's gigabytes of dirty pages were still being flushed to disk
    # during the measured time, and requests waited for the disk behind them.
    os.sync()
    timings["copy the template"] = time.perf_counter() - started
    started = time.perf_counter()
    warm(url)
    timings["warm the cache"] = time.perf_counter() - started
    return Prepared(url, credentials, timings, reused=ready)


# ---------------------------------------------------------------- the workload


@dataclass
class Workload:
    year: int
    npis: list[str]
    rosters: list[str]
    scores: list[str]
    elections: dict[str, list[tuple[str, str | None]]]
    """API token -> the opt-in eligible entities (TIN, NPI or None) it may elect for."""
    registry_token: str


def build_workload(url: str, credentials: dict[str, Any], options: Options) -> Workload:
    rng = random.Random(options.seed)
    factory = database.session_factory(url)
    with factory() as session:
        run = eligibility_lookup.latest_run(session, options.year)
        individuals = session.scalar(
            select(func.count())
            .select_from(EligibilityResultRow)
            .where(
                EligibilityResultRow.run_id == run.id, EligibilityResultRow.level == "individual"
            )
        )
        step = max(1, (individuals or 0) // 50_000)
        sample = session.execute(
            select(EligibilityResultRow.tin, EligibilityResultRow.npi).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.level == "individual",
                EligibilityResultRow.id % step == options.seed % step,
            )
        ).all()
        clients = session.execute(
            select(EligibilityResultRow.tin, EligibilityResultRow.npi)
            .join(
                Organisation,
                Organisation.identifier == EligibilityResultRow.tin,
            )
            .where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.status == "opt_in_eligible",
                EligibilityResultRow.level.in_(("individual", "group")),
                Organisation.kind == OrganisationKind.PRACTICE,
            )
            .order_by(EligibilityResultRow.id)
        ).all()
        # Only entities that may still elect: a group listed in a virtual group already holds
        # the opt-in the virtual group's election implies (the years whose policy says so),
        # and one such entity in a batch refused the whole batch (409 OQ-ELECT-002).
        keys = [
            ("individual" if npi else "group", f"{tin}/{npi}" if npi else tin)
            for tin, npi in clients
        ]
        views = eligibility_lookup.scenario_views(session, run, keys)
        clients = [
            (tin, npi)
            for (tin, npi), key in zip(clients, keys, strict=True)
            if key in views and views[key].may_elect
        ]
    practice_tokens: dict[str, str] = credentials["practice_tokens"]
    elections: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for tin, npi in clients:
        token = practice_tokens.get(tin, credentials["registry_token"])
        elections[token].append((tin, npi))
    for entities in elections.values():
        rng.shuffle(entities)
    npis = [npi for _, npi in sample]
    rosters = []
    for _ in range(200):
        rows = ["tin,npi"]
        for tin, npi in rng.sample(sample, min(options.roster_rows, len(sample))):
            rows.append(f"{tin},{npi}" if rng.random() < 0.8 else f"{tin},")
        rosters.append("\n".join(rows) + "\n")
    entities = [e for group in elections.values() for e in group] or list(sample)
    scores = score_bodies(options.year, entities, rng, options.seed)
    _forget(url)
    return Workload(
        options.year, npis, rosters, scores, dict(elections), credentials["registry_token"]
    )


def score_bodies(
    year: int, entities: Sequence[tuple[str, str | None]], rng: random.Random, seed: int
) -> list[str]:
    """QPP JSON submissions (bench/scoring.py's generator) for clients of the registry, kept
    only when the Submissions API's validation accepts them (the generator feeds the scoring
    engine directly and sometimes reports two PI measures that satisfy one requirement)."""
    policy = load_policy(year)
    measures = MeasuresCatalogue(get_settings().measures_roots).year(year)
    bodies: list[str] = []
    for submission, _context in make_submissions(year, measures, policy, 256, seed):
        tin, npi = rng.choice(entities)
        entity_type = EntityType.INDIVIDUAL if npi else EntityType.GROUP
        submission = dataclasses.replace(submission, entity_type=entity_type, tin=tin, npi=npi)
        body = json.dumps(submission.to_qpp_json())
        try:
            scoring_cms.read_submission(body.encode(), content_type="application/json")
        except scoring_cms.ScoreRequestError:
            continue
        bodies.append(body)
        if len(bodies) == 64:
            break
    if not bodies:
        raise SystemExit(f"no valid submission could be generated for {year}")
    return bodies


# ---------------------------------------------------------------- the server


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def election_clock(year: int) -> str:
    """An instant inside the year's election window (OPENQPP_CLOCK for the server)."""
    window = window_for(year)
    return (window.opens + (window.closes - window.opens) / 2).isoformat()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serve(url: str, options: Options, log: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "OPENQPP_DATABASE_URL": url,
        "OPENQPP_CLOCK": election_clock(options.year),
        "OPENQPP_LOG_LEVEL": options.log_level,
    }
    args = [sys.executable, "-m", "openqpp.cli", "serve", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", str(options.workers)]
    with log.open("wb") as sink:
        process = subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become healthy:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield Server(base, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- the load driver


@dataclass
class ClientSpec:
    base_url: str
    index: int
    workload: Workload
    mix: tuple[tuple[str, float], ...]
    start_at: float
    """Wall-clock time (time.time()) at which every client starts."""
    warmup: float
    seconds: float
    concurrency: int
    batch: int
    replay_share: float
    race_share: float
    timeout: float
    seed: int


@dataclass
class ClientResult:
    samples: list[tuple[str, float, float, int]] = field(default_factory=list)
    """(kind, start offset in seconds from start_at, latency ms, status or TIMEOUT/...)."""
    elections: list[dict[str, Any]] = field(default_factory=list)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    pool_exhausted_at: float | None = None


def _entity_key(tin: str, npi: str | None) -> str:
    return f"{tin}/{npi}" if npi else tin


@dataclass(frozen=True)
class Answer:
    """What the client keeps of a response (read in full before the latency is taken)."""

    status: int
    headers: Mapping[str, str]
    """Case-insensitive, as HTTP header names are."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Driver:
    def __init__(self, spec: ClientSpec, client: aiohttp.ClientSession) -> None:
        self.spec = spec
        self.client = client
        self.result = ClientResult()
        self.rng = random.Random(spec.seed * 1000 + spec.index)
        self.kinds = [k for k, w in spec.mix if w > 0]
        self.weights = [w for _, w in spec.mix if w > 0]
        self.queues = {t: list(e) for t, e in spec.workload.elections.items() if e}
        self.races = 0
        self.repeated = False

    def now(self) -> float:
        return time.time() - self.spec.start_at

    async def send(
        self, kind: str, method: str, path: str, **kwargs: Any
    ) -> tuple[int, Answer | None, float]:
        started = self.now()
        tick = time.perf_counter()
        answer: Answer | None = None
        try:
            async with self.client.request(method, path, **kwargs) as response:
                body = await response.read()
                answer = Answer(response.status, response.headers.copy(), body)
            status = answer.status
        except TimeoutError:
            status = TIMEOUT
        except aiohttp.ClientError:
            status = TRANSPORT_ERROR
        self.result.samples.append((kind, started, (time.perf_counter() - tick) * 1000, status))
        return status, answer, started

    def _take(self) -> tuple[str, list[tuple[str, str | None]]] | None:
        tokens = [t for t, q in self.queues.items() if q]
        if not tokens:
            return None
        token = self.rng.choices(tokens, [len(self.queues[t]) for t in tokens])[0]
        queue = self.queues[token]
        entities = [queue.pop() for _ in range(min(self.spec.batch, len(queue)))]
        return token, entities

    async def elect(self) -> bool:
        taken = self._take()
        if taken is None:
            if self.result.pool_exhausted_at is None:
                self.result.pool_exhausted_at = self.now()
            return False
        token, entities = taken
        body = {
            "data": [
                {"tin": tin, **({"npi": npi} if npi else {}), "decision": self._decision()}
                for tin, npi in entities
            ],
            "year": self.spec.workload.year,
            "confirm": self.rng.choice(("CONFIRM", "confirm", "Confirm")),
        }
        headers = {"Authorization": f"Bearer {token}"}
        keys = [_entity_key(t, n) for t, n in entities]
        # The first election request of each client races (and the first answered one is
        # repeated) whenever those shares are above 0, so a short run checks both paths.
        race_now = self.spec.race_share > 0 and (
            self.races == 0 or self.rng.random() < self.spec.race_share
        )
        if race_now:
            self.races += 1
            race = f"{self.spec.index}-{self.races}"
            answers = await asyncio.gather(
                *(
                    self.send(
                        "elect-race",
                        "PUT",
                        "/api/eligibility/opt-in",
                        json=body,
                        headers=headers | {"Idempotency-Key": str(uuid.uuid4())},
                    )
                    for _ in range(2)
                )
            )
            for status, response, at in answers:
                self._log("elect-race", keys, status, response, at, race=race)
            return True
        key = str(uuid.uuid4())
        headers["Idempotency-Key"] = key
        status, response, at = await self.send(
            "elect", "PUT", "/api/eligibility/opt-in", json=body, headers=headers
        )
        first = self._log("elect", keys, status, response, at)
        repeat = self.spec.replay_share > 0 and (
            not self.repeated or self.rng.random() < self.spec.replay_share
        )
        if status == 200 and repeat:
            self.repeated = True
            status, response, at = await self.send(
                "elect-replay", "PUT", "/api/eligibility/opt-in", json=body, headers=headers
            )
            self._log("elect-replay", keys, status, response, at, replay_of=first)
        return True

    def _decision(self) -> str:
        return "opt_in" if self.rng.random() < 0.8 else "voluntary"

    def _log(
        self,
        kind: str,
        keys: list[str],
        status: int,
        response: Answer | None,
        at: float,
        *,
        race: str | None = None,
        replay_of: str | None = None,
    ) -> str:
        ids: dict[str, int] = {}
        replayed = False
        if response is not None and status == 200:
            for item in response.json().get("data", []):
                ids[_entity_key(item["tin"], item.get("npi"))] = int(item["electionId"])
            replayed = response.headers.get("Idempotency-Replayed") == "true"
        code = None
        if response is not None and status != 200:
            try:
                code = response.json().get("error", {}).get("code")
            except ValueError:
                code = None
        entry_id = f"{self.spec.index}-{len(self.result.elections)}"
        self.result.elections.append(
            {
                "id": entry_id,
                "kind": kind,
                "at": at,
                "entities": keys,
                "status": status,
                "code": code,
                "ids": ids,
                "replayed": replayed,
                "race": race,
                "replay_of": replay_of,
            }
        )
        return entry_id

    async def one(self) -> None:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        work = self.spec.workload
        if kind == "elect":
            if await self.elect():
                return
            if self.kinds == ["elect"]:
                await asyncio.sleep(0.05)
                return
            kind = "npi"
        if kind == "npi":
            await self.send("npi", "GET", f"/api/eligibility/npi/{self.rng.choice(work.npis)}")
        elif kind == "roster":
            await self.send(
                "roster",
                "POST",
                "/api/eligibility/roster",
                data=self.rng.choice(work.rosters),
                headers={"Content-Type": "text/csv"},
            )
        elif kind == "score":
            await self.send(
                "score",
                "POST",
                "/api/submissions/submissions/score-preview",
                data=self.rng.choice(work.scores),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {work.registry_token}",
                },
            )

    async def worker(self, end: float, delay: float = 0.0) -> None:
        await asyncio.sleep(delay)
        while self.now() < end:
            await self.one()


async def _client(spec: ClientSpec) -> ClientResult:
    # aiohttp, not httpx: httpx's pool cost ~2.5 ms of client CPU per request here (aiohttp
    # ~0.15 ms), so on a 2-core machine the client took the CPU the server was measured on.
    connector = aiohttp.TCPConnector(limit=spec.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=spec.timeout)
    async with aiohttp.ClientSession(spec.base_url, connector=connector, timeout=timeout) as client:
        driver = _Driver(spec, client)
        late = time.time() - spec.start_at
        if late > 0.5:
            say(f"  ! client {spec.index} started {late:.1f} s late (a busy machine)")
        await asyncio.sleep(max(0.0, spec.start_at - time.time()))
        cpu, wall = time.process_time(), time.perf_counter()
        end = spec.warmup + spec.seconds
        # Connections open one at a time (20 ms apart, in the warm-up): opened at once, the
        # first server worker to wake accepted nearly all of them (asyncio accepts a backlog in
        # one go) and kept them alive, so one worker ran out of CPU while the other idled.
        await asyncio.gather(
            *(driver.worker(end, delay=i * STAGGER) for i in range(spec.concurrency))
        )
        driver.result.cpu_seconds = time.process_time() - cpu
        driver.result.wall_seconds = time.perf_counter() - wall
    return driver.result


def client_ready(pause: float) -> bool:
    """Run in each client process first (imports done, process started)."""
    time.sleep(pause)
    return True


def client_main(spec: ClientSpec) -> ClientResult:
    """One client process: ``spec.concurrency`` requests in flight until the time is up."""
    try:
        import uvloop

        return uvloop.run(_client(spec))
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(_client(spec))


def split_workload(workload: Workload, parts: int, index: int) -> Workload:
    """The client's share of the election entities (disjoint), everything else shared."""
    return dataclasses.replace(
        workload,
        elections={t: e[index::parts] for t, e in workload.elections.items()},
    )


# ---------------------------------------------------------------- CPU accounting


@dataclass
class CpuSnapshot:
    server: dict[int, float]
    postgres: dict[int, float]
    machine_busy: float
    machine_total: float


def _process_cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
        return float(times.user + times.system)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0


def cpu_snapshot(server_pid: int) -> CpuSnapshot:
    try:
        root = psutil.Process(server_pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    postgres = {
        process.pid: _process_cpu(process)
        for process in psutil.process_iter(["name"])
        if (process.info.get("name") or "").startswith("postgres")
    }
    times = psutil.cpu_times()
    total = sum(times)
    busy = total - times.idle - getattr(times, "iowait", 0.0)
    return CpuSnapshot({p.pid: _process_cpu(p) for p in tree}, postgres, busy, total)


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots by the processes alive at the second (a process
    that started in between counts whole; one that ended is not counted)."""
    return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in after.items())


# ---------------------------------------------------------------- integrity


@dataclass
class Integrity:
    answered: int = 0
    """Entities the server answered 200 for (each once, whichever request won)."""
    recorded: int = 0
    """Elections of the year in the database."""
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    unknown_requests: int = 0
    unknown_recorded: int = 0
    unknown_absent: int = 0
    audit_records: int = 0
    audit_problems: list[str] = field(default_factory=list)
    replays: int = 0
    replay_problems: list[str] = field(default_factory=list)
    races: int = 0
    race_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.unexpected
            or self.audit_problems
            or self.replay_problems
            or self.race_problems
        )


def check_integrity(url: str, year: int, log: Sequence[dict[str, Any]]) -> Integrity:
    """Compare what the clients were told with the elections and audit records stored."""
    report = Integrity()
    told: dict[str, int] = {}
    unknown: set[str] = set()
    for entry in log:
        if entry["status"] in (TIMEOUT, TRANSPORT_ERROR):
            report.unknown_requests += 1
            unknown.update(entry["entities"])
            continue
        if entry["status"] != 200 or entry["kind"] == "elect-replay":
            continue
        for key in entry["entities"]:
            got = entry["ids"].get(key)
            if got is None:
                report.lost.append(f"{key}: answered 200 without its election")
            elif key in told and told[key] != got:
                report.duplicated.append(f"{key}: answered as election {told[key]} and {got}")
            else:
                told[key] = got
    by_id = {entry["id"]: entry for entry in log}
    for entry in log:
        if entry["kind"] != "elect-replay":
            continue
        report.replays += 1
        first = by_id[entry["replay_of"]]
        if entry["status"] in (TIMEOUT, TRANSPORT_ERROR):
            continue
        if entry["status"] != 200 or not entry["replayed"] or entry["ids"] != first["ids"]:
            report.replay_problems.append(
                f"repeat {entry['id']}: {entry['status']} replayed={entry['replayed']} "
                f"ids {entry['ids']} vs first {first['ids']}"
            )
    races: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in log:
        if entry["race"]:
            races[entry["race"]].append(entry)
    for race, pair in races.items():
        report.races += 1
        statuses = sorted(e["status"] for e in pair)
        if any(s in (TIMEOUT, TRANSPORT_ERROR) for s in statuses):
            continue
        if statuses != [200, 409] or not any(e["code"] == "OQ-ELECT-002" for e in pair):
            report.race_problems.append(f"race {race}: statuses {statuses}")
    report.answered = len(told)

    factory = database.session_factory(url)
    with factory() as session:
        rows = session.execute(
            select(Election.id, Election.level, Election.entity_key, Election.kind).where(
                Election.performance_year == year
            )
        ).all()
        audits = session.execute(
            select(AuditRecord.object_id, AuditRecord.after).where(
                AuditRecord.action == "election.confirmed"
            )
        ).all()
    _forget(url)
    report.recorded = len(rows)
    report.audit_records = len(audits)
    stored: dict[str, list[int]] = defaultdict(list)
    kinds: dict[int, tuple[str, str]] = {}
    for election_id, _level, key, kind in rows:
        stored[key].append(election_id)
        kinds[election_id] = (key, kind)
    for key, ids in stored.items():
        if len(ids) > 1:
            report.duplicated.append(f"{key}: {len(ids)} elections {ids}")
    for key, election_id in told.items():
        if stored.get(key) != [election_id]:
            report.lost.append(f"{key}: answered election {election_id}, stored {stored.get(key)}")
    for key in stored:
        if key in told:
            continue
        if key in unknown:
            report.unknown_recorded += 1
        else:
            report.unexpected.append(f"{key}: stored {stored[key]}, never answered 200")
    report.unknown_absent = len(unknown - set(stored) - set(told))
    audited: dict[int, int] = Counter()
    for object_id, after in audits:
        election_id = int(object_id or 0)
        audited[election_id] += 1
        if election_id not in kinds:
            report.audit_problems.append(f"audit record for unknown election {object_id}")
            continue
        key, kind = kinds[election_id]
        if (after or {}).get("entity") != key or (after or {}).get("kind") != kind:
            report.audit_problems.append(f"election {election_id}: audit says {after}")
    for election_id in kinds:
        if audited[election_id] != 1:
            report.audit_problems.append(
                f"election {election_id}: {audited[election_id]} audit records"
            )
    return report


# ---------------------------------------------------------------- one database


@dataclass
class EndpointFigures:
    kind: str
    requests: int
    per_second: float
    p50: float
    p99: float
    errors: dict[str, int]


@dataclass
class DatabaseResult:
    target: Target
    prepared: Prepared
    endpoints: list[EndpointFigures]
    elections_per_second: float
    integrity: Integrity
    cpu: dict[str, float]
    client_cpu_share: float
    baseline_ms: float
    seconds: float
    pool_exhausted_at: float | None
    refusals: dict[str, int] = field(default_factory=dict)
    """Election answers other than 200 (a race's loser aside), by kind, status and code."""

    @property
    def errors(self) -> dict[str, dict[str, int]]:
        return {e.kind: e.errors for e in self.endpoints if e.errors}

    def figures(self, kind: str) -> EndpointFigures | None:
        return next((e for e in self.endpoints if e.kind == kind), None)


def baseline_lookup_ms(url: str, npis: Sequence[str], count: int, seed: int) -> float:
    """The median in-process service time of an NPI lookup (bench/lookup.py's measure)."""
    if not count or not npis:
        return math.nan
    rng = random.Random(seed)
    timings = []
    with database.session_factory(url)() as session:
        for _ in range(count):
            npi = rng.choice(npis)
            started = time.perf_counter()
            eligibility_lookup.lookup_npi(session, npi)
            timings.append((time.perf_counter() - started) * 1000)
            session.expunge_all()
    _forget(url)
    return statistics.median(timings)


def _status_name(status: int) -> str:
    if status == TIMEOUT:
        return "timeout"
    if status == TRANSPORT_ERROR:
        return "connection"
    return str(status)


def summarise(
    samples: Sequence[tuple[str, float, float, int]], start: float, seconds: float
) -> list[EndpointFigures]:
    by_kind: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for kind, at, ms, status in samples:
        if start <= at < start + seconds:
            by_kind[kind].append((ms, status))
    out = []
    for kind in ENDPOINTS:
        rows = by_kind.get(kind)
        if not rows:
            continue
        latencies = [ms for ms, _ in rows]
        errors: Counter[str] = Counter()
        for _, status in rows:
            if kind == "elect-race":
                if status not in (200, 409):
                    errors[_status_name(status)] += 1
            elif status not in EXPECTED.get(kind, {200}):
                errors[_status_name(status)] += 1
        out.append(
            EndpointFigures(
                kind,
                len(rows),
                len(rows) / seconds,
                statistics.median(latencies),
                percentile(latencies, 0.99),
                dict(sorted(errors.items())),
            )
        )
    return out


def measure(target: Target, options: Options) -> DatabaseResult:
    """Prepare the database, serve it, drive the load, stop, and check the elections."""
    prepared = prepare(target, options)
    workload = build_workload(prepared.url, prepared.credentials, options)
    baseline = baseline_lookup_ms(
        prepared.url, workload.npis, options.baseline_lookups, options.seed
    )
    pool = sum(len(e) for e in workload.elections.values())
    log = options.cache_dir / f"server-{target.kind}.log"
    say(
        f"{target.label}: serving with {options.workers} workers; {options.clients} client "
        f"process(es), {options.concurrency} requests in flight, {options.warmup:g} s warm-up "
        f"+ {options.seconds:g} s; {pool:,} entities to elect for; server log {log}"
    )
    with serve(prepared.url, options, log) as server:
        context = multiprocessing.get_context("spawn")
        parts = max(1, options.clients)
        per_client = max(1, options.concurrency // parts)
        with concurrent.futures.ProcessPoolExecutor(parts, mp_context=context) as executor:
            # Start the processes and import this module in each before the clock starts.
            list(executor.map(client_ready, [1.0] * parts))
            start_at = time.time() + 1.0
            specs = [
                ClientSpec(
                    base_url=server.url,
                    index=i,
                    workload=split_workload(workload, parts, i),
                    mix=options.mix,
                    start_at=start_at,
                    warmup=options.warmup,
                    seconds=options.seconds,
                    concurrency=per_client,
                    batch=options.election_batch,
                    replay_share=options.replay_share,
                    race_share=options.race_share,
                    timeout=options.timeout,
                    seed=options.seed,
                )
                for i in range(parts)
            ]
            futures = [executor.submit(client_main, spec) for spec in specs]
            time.sleep(max(0.0, start_at + options.warmup - time.time()))
            before = cpu_snapshot(server.process.pid)
            time.sleep(max(0.0, start_at + options.warmup + options.seconds - time.time()))
            after = cpu_snapshot(server.process.pid)
            results = [f.result() for f in futures]
    samples = [s for r in results for s in r.samples]
    elections_log = [e for r in results for e in r.elections]
    integrity = check_integrity(prepared.url, options.year, elections_log)
    endpoints = summarise(samples, options.warmup, options.seconds)
    window = options.seconds
    elected = sum(
        len(e["ids"])
        for e in elections_log
        if e["status"] == 200
        and e["kind"] in ("elect", "elect-race")
        and options.warmup <= e["at"] < options.warmup + window
    )
    wall = after.machine_total - before.machine_total
    cores = psutil.cpu_count() or 1
    client_cpu = sum(r.cpu_seconds for r in results)
    client_wall = max((r.wall_seconds for r in results), default=1.0)
    cpu = {
        "server": cpu_used(before.server, after.server) / window,
        "postgres": cpu_used(before.postgres, after.postgres) / window,
        "clients": client_cpu / client_wall,
        "machine": (after.machine_busy - before.machine_busy) / max(wall, 1e-9) * cores,
    }
    exhausted = [r.pool_exhausted_at for r in results if r.pool_exhausted_at is not None]
    refusals = Counter(
        f"{e['kind']} {_status_name(e['status'])} {e['code'] or ''}".strip()
        for e in elections_log
        if e["status"] != 200 and not (e["kind"] == "elect-race" and e["status"] == 409)
    )
    return DatabaseResult(
        target=target,
        prepared=prepared,
        endpoints=endpoints,
        elections_per_second=elected / window,
        integrity=integrity,
        cpu=cpu,
        client_cpu_share=client_cpu / client_wall / parts,
        baseline_ms=baseline,
        seconds=window,
        pool_exhausted_at=min(exhausted) if exhausted else None,
        refusals=dict(sorted(refusals.items())),
    )


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Check:
    what: str
    figure: str
    met: bool


def targets(result: DatabaseResult) -> list[Check]:
    """The issue's targets (stated for PostgreSQL on a 2-core machine) against the figures."""
    npi = result.figures("npi")
    integrity = result.integrity
    errors = sum(sum(e.values()) for e in result.errors.values())
    bad = len(integrity.lost) + len(integrity.duplicated) + len(integrity.unexpected)
    return [
        Check("NPI lookups >= 1,000/s", f"{npi.per_second:,.0f}/s" if npi else "-", bool(npi)
              and npi.per_second >= 1000),
        Check("NPI lookup p99 < 50 ms", f"{npi.p99:.1f} ms" if npi else "-", bool(npi)
              and npi.p99 < 50),
        Check("elections >= 200/s", f"{result.elections_per_second:,.0f}/s",
              result.elections_per_second >= 200),
        Check("no election lost or duplicated", f"{bad}", bad == 0 and integrity.ok),
        Check("no errors", f"{errors}", errors == 0),
    ]  # fmt: skip


def report(result: DatabaseResult, options: Options) -> None:
    prepared = result.prepared
    say("")
    name = make_url(prepared.url).database
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in prepared.timings.items())
    state = "template reused" if prepared.reused else "template prepared"
    say(f"{result.target.label} ({name}): {state}; {steps}")
    mix = ",".join(f"{k}={w:g}" for k, w in options.mix)
    say(
        f"  {result.seconds:g} s measured after {options.warmup:g} s warm-up; {options.workers} "
        f"server workers; {options.clients} client process(es), {options.concurrency} requests "
        f"in flight; mix {mix}; {options.election_batch} entit"
        f"{'y' if options.election_batch == 1 else 'ies'} per election request"
    )
    say(f"  {'endpoint':<42} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  errors")
    for e in result.endpoints:
        errors = ", ".join(f"{status}: {n}" for status, n in e.errors.items()) or "-"
        say(
            f"  {ENDPOINTS[e.kind]:<42} {e.requests:>9,} {e.per_second:>8,.1f} "
            f"{e.p50:>8.1f} {e.p99:>8.1f}  {errors}"
        )
    say(f"  elections recorded in the measured time: {result.elections_per_second:,.1f}/s")
    if result.refusals:
        refused = ", ".join(f"{what}: {n}" for what, n in result.refusals.items())
        say(f"  election refusals (whole run): {refused}")
    if result.pool_exhausted_at is not None:
        say(
            f"  (the entities to elect for ran out at {result.pool_exhausted_at:.1f} s: "
            "raise --pool)"
        )
    cpu = result.cpu
    cores = psutil.cpu_count() or 1
    ours = cpu["server"] + cpu["postgres"] + cpu["clients"]
    say(
        f"  CPU in cores (of {cores}): server {cpu['server']:.2f}, PostgreSQL (all databases) "
        f"{cpu['postgres']:.2f}, load clients {cpu['clients']:.2f}; whole machine "
        f"{cpu['machine']:.2f}, so other processes {max(0.0, cpu['machine'] - ours):.2f}"
    )
    requests = sum(e.requests for e in result.endpoints)
    if requests:
        say(
            f"  server CPU per request (all endpoints): "
            f"{cpu['server'] * result.seconds / requests * 1000:.2f} ms"
        )
    verdict = (
        "may be the bottleneck: add --clients"
        if result.client_cpu_share > 0.85
        else "not the bottleneck"
    )
    say(
        f"  each client process used {result.client_cpu_share:.0%} of a core: the client is "
        f"{verdict}"
    )
    npi = result.figures("npi")
    if npi and not math.isnan(result.baseline_ms):
        say(
            f"  baseline: lookup_npi in process (one thread) p50 {result.baseline_ms:.2f} ms; "
            f"HTTP p50 under load is {npi.p50 / result.baseline_ms:.1f}x that"
        )
    i = result.integrity
    say(
        f"  integrity: {i.answered:,} entities answered 200, {i.recorded:,} elections stored; "
        f"lost {len(i.lost)}, duplicated {len(i.duplicated)}, stored without an answer "
        f"{len(i.unexpected)}; requests without an answer (timeouts) {i.unknown_requests} "
        f"({i.unknown_recorded} of their entities stored, {i.unknown_absent} not); audit "
        f"records {i.audit_records:,} ({len(i.audit_problems)} problems); repeats "
        f"{i.replays} ({len(i.replay_problems)} problems); races {i.races} "
        f"({len(i.race_problems)} without exactly one winner)"
    )
    for problem in (
        i.lost
        + i.duplicated
        + i.unexpected
        + i.audit_problems
        + i.replay_problems
        + i.race_problems
    )[:20]:
        say(f"    ! {problem}")
    say("  targets (the issue states them for PostgreSQL on this 2-core machine):")
    for check in targets(result):
        say(f"    {check.what:<34} {check.figure:>12}  {'met' if check.met else 'NOT MET'}")


def main(argv: Sequence[str] | None = None) -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clinicians", type=int, default=defaults.clinicians)
    parser.add_argument("--tins", type=int, default=defaults.tins)
    parser.add_argument(
        "--lines", type=int, default=defaults.lines, help="claim lines (default 40 per clinician)"
    )
    parser.add_argument(
        "--near-threshold",
        type=float,
        default=defaults.near_threshold,
        help="share of TIN/NPIs drawn near the low-volume criteria (the generator's knob)",
    )
    parser.add_argument("--year", type=int, default=defaults.year)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--warmup", type=float, default=defaults.warmup)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument(
        "--clients", type=int, default=defaults.clients, help="load client processes"
    )
    parser.add_argument("--mix", default=DEFAULT_MIX, help=f"weights (default {DEFAULT_MIX})")
    parser.add_argument("--election-batch", type=int, default=defaults.election_batch)
    parser.add_argument("--roster-rows", type=int, default=defaults.roster_rows)
    parser.add_argument(
        "--pool", type=int, default=defaults.pool, help="opt-in eligible entities made clients"
    )
    parser.add_argument("--practice-tokens", type=int, default=defaults.practice_tokens)
    parser.add_argument("--cache-dir", type=Path, default=defaults.cache_dir)
    parser.add_argument("--log-level", default=defaults.log_level, help="the server's")
    parser.add_argument(
        "--prepare-only", action="store_true", help="build the cached databases, measure nothing"
    )
    parser.add_argument("--sqlite", action="store_true", help="measure SQLite")
    parser.add_argument(
        "--postgres", default=None, help="PostgreSQL URL (its database is recreated per run)"
    )
    args = parser.parse_args(argv)
    options = Options(
        clinicians=args.clinicians,
        tins=args.tins,
        lines=args.lines,
        near_threshold=args.near_threshold,
        year=args.year,
        seed=args.seed,
        pool=args.pool,
        practice_tokens=args.practice_tokens,
        seconds=args.seconds,
        warmup=args.warmup,
        workers=args.workers,
        concurrency=args.concurrency,
        clients=args.clients,
        mix=parse_mix(args.mix),
        election_batch=args.election_batch,
        roster_rows=args.roster_rows,
        cache_dir=args.cache_dir.resolve(),
        log_level=args.log_level,
    )
    chosen = []
    if args.sqlite or not args.postgres:
        chosen.append(Target("sqlite"))
    if args.postgres:
        chosen.append(Target("postgresql", args.postgres))
    options.cache_dir.mkdir(parents=True, exist_ok=True)
    say(
        f"population: {options.clinicians:,} clinicians, {options.tins:,} TINs, "
        f"{options.lines:,} claim lines, performance year {options.year}; cache "
        f"{options.cache_dir}"
    )
    results = []
    for target in chosen:
        if args.prepare_only:
            prepared = prepare(target, options)
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in prepared.timings.items())
            say(f"{target.label}: ready ({steps})")
            continue
        result = measure(target, options)
        report(result, options)
        results.append(result)
    return 0 if all(r.integrity.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
