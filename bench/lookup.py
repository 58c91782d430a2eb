"""NPI lookup latency on a database holding a national-size determination run.

Generates synthetic claims (default 1.5 million clinicians), determines and loads the run into
SQLite (and PostgreSQL with --postgres URL), then times random NPI lookups through the service
the API uses, and through the HTTP API in process. Prints load time, lookups per second and
p50/p99 latency. Figures are reported, never asserted.

    .venv/bin/python bench/lookup.py --clinicians 1500000 --lines 20000000
    .venv/bin/python bench/lookup.py --postgres postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, select, text

from openqpp.batch.synth import synthesize
from openqpp.batch.volumes import compute
from openqpp.db.models import EligibilityResultRow
from openqpp.policy import load_policy
from openqpp.services import database, eligibility, eligibility_lookup


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fresh_postgres(url: str) -> str:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class LoadedRun:
    aggregated: float
    """Seconds aggregating the claims (DuckDB)."""
    recorded: float
    """Seconds deciding and recording the run."""
    summary: eligibility.RunSummary


def load(url: str, claims: Path, year: int, *, fingerprint: str = "bench") -> LoadedRun:
    """Migrate, aggregate the claims (DuckDB) and record the determination run (bench/load.py
    prepares its database with this too)."""
    database.upgrade(url)
    policy = load_policy(year)
    started = time.perf_counter()
    batch = compute(claims, policy)
    refs = eligibility.ReferenceTables(**batch.references)
    aggregated = time.perf_counter() - started
    started = time.perf_counter()
    with database.session_factory(url).begin() as session:
        summary = eligibility.record_run(
            session,
            policy=policy,
            volumes=batch.volumes,
            refs=refs,
            engine="duckdb",
            source=str(claims),
            input_fingerprint=fingerprint,
        )
    return LoadedRun(aggregated, time.perf_counter() - started, summary)


def time_lookups(url: str, count: int, seed: int) -> list[float]:
    factory = database.session_factory(url)
    with factory() as session:
        npis = session.scalars(
            select(EligibilityResultRow.npi)
            .where(EligibilityResultRow.level == "individual")
            .limit(200_000)
        ).all()
    rng = random.Random(seed)
    sample = [rng.choice(npis) for _ in range(count)]
    timings = []
    with factory() as session:
        for npi in sample:
            started = time.perf_counter()
            eligibility_lookup.lookup_npi(session, npi)
            timings.append((time.perf_counter() - started) * 1000)
            session.expunge_all()
    return timings


def time_http(url: str, count: int, seed: int) -> list[float]:
    from fastapi.testclient import TestClient

    from openqpp.settings import Settings
    from openqpp.web import create_app

    client = TestClient(create_app(Settings(database_url=url, log_level="warning")))
    with database.session_factory(url)() as session:
        npis = session.scalars(
            select(EligibilityResultRow.npi)
            .where(EligibilityResultRow.level == "individual")
            .limit(50_000)
        ).all()
    rng = random.Random(seed)
    timings = []
    for _ in range(count):
        npi = rng.choice(npis)
        started = time.perf_counter()
        response = client.get(f"/api/eligibility/npi/{npi}")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return timings


def report(label: str, timings: list[float]) -> None:
    total = sum(timings) / 1000
    print(
        f"  {label:<28} {len(timings):>7,} lookups  {len(timings) / total:>9,.0f}/s  "
        f"p50 {statistics.median(timings):6.2f} ms  p99 {percentile(timings, 0.99):6.2f} ms  "
        f"max {max(timings):7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clinicians", type=int, default=1_500_000)
    parser.add_argument("--lines", type=int, default=20_000_000)
    parser.add_argument("--year", type=int, default=2022)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lookups", type=int, default=5_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (database recreated)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="openqpp-lookup-"))
    claims = workdir / f"claims-{args.clinicians}-{args.lines}-{args.seed}"
    if not (claims / "clinicians.parquet").exists():
        started = time.perf_counter()
        synthesize(
            claims, clinicians=args.clinicians, lines=args.lines, year=args.year, seed=args.seed
        )
        print(f"generated {args.lines:,} lines in {time.perf_counter() - started:.1f} s")
    targets = [("sqlite", f"sqlite:///{workdir / 'lookup.db'}")]
    if args.postgres:
        targets.append(("postgresql", fresh_postgres(args.postgres)))
    for name, url in targets:
        if name == "sqlite":
            (workdir / "lookup.db").unlink(missing_ok=True)
        loaded = load(url, claims, args.year)
        with database.session_factory(url)() as session:
            rows = session.scalar(
                select(EligibilityResultRow.id).order_by(EligibilityResultRow.id.desc()).limit(1)
            )
        print(
            f"{name}: aggregates {loaded.aggregated:.1f} s, decided and loaded {rows:,} results "
            f"in {loaded.aggregated + loaded.recorded:.1f} s total"
        )
        report("service lookup_npi", time_lookups(url, args.lookups, args.seed))
        report("HTTP GET /api/eligibility/npi", time_http(url, min(args.lookups, 2_000), args.seed))


if __name__ == "__main__":
    main()
