"""Benchmark: eligibility aggregates (entity_volumes) at scale, every ratio measured in one run.

    .venv/bin/python bench/eligibility.py --lines 10_000_000
    .venv/bin/python bench/eligibility.py --lines 100_000_000 --skip-spark

Generates synthetic claims with ``openqpp.batch.synth`` (or reuses the copy cached in
``--workdir`` for the same parameters), then measures, each in its own child process so that
the peak memory (RSS high-water mark of the child and its descendants, e.g. Spark's JVM) is
its own:

  (a) scan     a bare DuckDB scan of the same Parquet summing allowed_amount
  (a')scan-all a DuckDB scan touching every column the aggregates read (for context)
  (b) duckdb   ``compute_volumes`` on DuckDB: validation + the determination aggregates
  (c) pandas   a plain pandas implementation of the same aggregates (baseline only); above
               20M lines it runs on a 10M-line sample and its time is scaled, as printed
  (d) spark    ``compute_volumes`` on Spark local mode (JVM start-up reported apart)

and prints lines per second and the ratios b/a, c/b, spark/b. Targets (reported, never
asserted): b/a <= 3, c/b >= 20, 100M lines in under 3 minutes with peak memory under 6 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

PANDAS_FULL_MAX = 20_000_000
PANDAS_SAMPLE = 10_000_000


# ------------------------------------------------------------------ measurements (child side)


def _claim_files(data: Path) -> list[Path]:
    return sorted((data / "claim_lines").glob("*.parquet"))


def measure_generate(args: argparse.Namespace) -> dict[str, Any]:
    from openqpp.batch.synth import synthesize

    started = time.perf_counter()
    result = synthesize(
        args.data, clinicians=args.clinicians, lines=args.lines, year=args.year, seed=args.seed
    )
    seconds = time.perf_counter() - started
    (Path(args.data) / ".complete").write_text(json.dumps(_params(args)), encoding="utf-8")
    return {"seconds": seconds, "lines": args.lines, "note": f"{result.tin_npis:,} TIN/NPIs"}


def _duckdb_connect(args: argparse.Namespace) -> Any:
    import duckdb

    from openqpp.batch.engines.duckdb import default_memory_limit

    return duckdb.connect(
        config={
            "memory_limit": args.memory_limit or default_memory_limit(),
            "threads": os.cpu_count() or 1,
        }
    )


def measure_scan(args: argparse.Namespace) -> dict[str, Any]:
    con = _duckdb_connect(args)
    files = [str(p) for p in _claim_files(Path(args.data))]
    started = time.perf_counter()
    total, lines = con.execute(
        "SELECT sum(allowed_amount), count(*) FROM read_parquet(?)", [files]
    ).fetchall()[0]
    return {"seconds": time.perf_counter() - started, "lines": lines, "note": f"sum {total}"}


def measure_scan_all(args: argparse.Namespace) -> dict[str, Any]:
    con = _duckdb_connect(args)
    files = [str(p) for p in _claim_files(Path(args.data))]
    started = time.perf_counter()
    row = con.execute(
        "SELECT count(*), sum(allowed_amount), max(tin), max(npi), max(beneficiary_id), "
        "max(date_of_service), max(processed_date), max(place_of_service), "
        "bool_or(covered_professional_service), bool_or(patient_facing) FROM read_parquet(?)",
        [files],
    ).fetchall()[0]
    return {"seconds": time.perf_counter() - started, "lines": row[0], "note": "9 columns"}


def measure_duckdb(args: argparse.Namespace) -> dict[str, Any]:
    from openqpp.batch import compute_volumes

    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    result = compute_volumes(
        args.data,
        args.year,
        memory_limit=args.memory_limit,
        out=Path(args.workdir) / "entity_volumes.duckdb.parquet",
        progress=lambda stage: marks.append((stage, time.perf_counter())),
    )
    seconds = time.perf_counter() - started
    validated = next(t for s, t in marks if s.startswith("aggregate")) - started
    return {
        "seconds": seconds,
        "lines": args.lines,
        "rows": result.num_rows,
        "note": f"validation {validated:.1f} s, aggregates {seconds - validated:.1f} s",
        "checksum": _checksum(result),
    }


def measure_spark(args: argparse.Namespace) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    from openqpp.batch import compute_volumes
    from openqpp.batch.engines.spark import session

    started = time.perf_counter()
    with session() as spark:
        spark.sql("SELECT 1").collect()
        ready = time.perf_counter()
        result = compute_volumes(args.data, args.year, engine="spark")
        seconds = time.perf_counter() - ready
    return {
        "seconds": seconds,
        "lines": args.lines,
        "rows": result.num_rows,
        "note": f"+ {ready - started:.1f} s JVM/session start-up (not in the time)",
        "checksum": _checksum(result),
    }


def _checksum(table: Any) -> dict[str, Any]:
    import pyarrow.compute as pc

    return {
        "rows": table.num_rows,
        "allowed_charges": str(pc.sum(table.column("allowed_charges")).as_py()),
        "beneficiaries": pc.sum(table.column("beneficiaries")).as_py(),
        "lines": pc.sum(table.column("lines")).as_py(),
    }


def pandas_volumes(files: list[Path], apm_file: Path, vg_file: Path, year: int) -> Any:
    """The determination aggregates as a plain pandas program (a baseline, not used by openqpp).

    Amounts become integer cents so that sums stay exact."""
    import numpy as np
    import pandas as pd

    from openqpp.policy import load_policy

    policy = load_policy(year)
    segments = policy.eligibility.determination_period.segments
    status = policy.eligibility.special_status
    columns = [
        "tin", "npi", "beneficiary_id", "date_of_service", "processed_date", "allowed_amount",
        "place_of_service", "covered_professional_service", "patient_facing",
    ]  # fmt: skip
    df = pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
    dos = pd.to_datetime(df["date_of_service"])
    processed = pd.to_datetime(df["processed_date"])
    conditions = []
    for s in segments:
        cut = pd.Timestamp(s.end) + pd.Timedelta(days=s.claims_run_out_days)
        conditions.append(
            (dos >= pd.Timestamp(s.start)) & (dos <= pd.Timestamp(s.end)) & (processed <= cut)
        )
    df["segment"] = np.select(conditions, [s.number for s in segments], 0)
    df = df[df["segment"] > 0].copy()
    df["dos"] = pd.to_datetime(df["date_of_service"])
    covered = df["covered_professional_service"].astype(bool)
    cents = (df["allowed_amount"].astype("float64") * 100).round().astype("int64")
    pos = df["place_of_service"]
    df["charges"] = cents.where(covered, 0)
    df["services"] = covered.astype("int64")
    df["facing"] = df["patient_facing"].astype("int64")
    df["hospital"] = (covered & pos.isin(status.hospital_based.places_of_service)).astype("int64")
    df["asc"] = (covered & pos.isin(status.asc_based.places_of_service)).astype("int64")
    df["facility"] = (covered & pos.isin(status.facility_based.places_of_service)).astype("int64")
    df["covered_dos"] = df["dos"].where(covered)
    sums = {
        "charges": ("charges", "sum"), "services": ("services", "sum"),
        "facing": ("facing", "sum"), "lines": ("services", "size"),
        "hospital": ("hospital", "sum"), "asc": ("asc", "sum"), "facility": ("facility", "sum"),
        "first": ("covered_dos", "min"), "last": ("covered_dos", "max"),
    }  # fmt: skip
    individual = df.groupby(["segment", "tin", "npi"], sort=False).agg(**sums).reset_index()
    patients = df.loc[covered, ["segment", "tin", "npi", "beneficiary_id"]].drop_duplicates()

    def rollup(frame: Any, keys: list[str]) -> Any:
        return frame.groupby(keys, sort=False).agg(
            charges=("charges", "sum"), services=("services", "sum"), facing=("facing", "sum"),
            lines=("lines", "sum"), hospital=("hospital", "sum"), asc=("asc", "sum"),
            facility=("facility", "sum"), clinicians=("npi", "nunique"),
            first=("first", "min"), last=("last", "max"),
        )  # fmt: skip

    def with_benes(volumes: Any, benes: Any) -> Any:
        out = volumes.join(benes.rename("beneficiaries"), how="left")
        out["beneficiaries"] = out["beneficiaries"].fillna(0).astype("int64")
        return out.reset_index()

    ind = individual.set_index(["segment", "tin", "npi"])
    ind["clinicians"] = 1
    levels = {
        "individual": with_benes(ind, patients.groupby(["segment", "tin", "npi"]).size()),
        "group": with_benes(
            rollup(individual, ["segment", "tin"]),
            patients.groupby(["segment", "tin"])["beneficiary_id"].nunique(),
        ),
    }
    apm = pd.read_parquet(apm_file)
    snap = pd.to_datetime(apm["snapshot_date"]).dt.year == year
    participants = apm.loc[snap, ["apm_entity_id", "tin", "npi"]].drop_duplicates()
    levels["apm_entity"] = with_benes(
        rollup(individual.merge(participants, on=["tin", "npi"]), ["segment", "apm_entity_id"]),
        patients.merge(participants, on=["tin", "npi"])
        .groupby(["segment", "apm_entity_id"])["beneficiary_id"]
        .nunique(),
    )
    members = pd.read_parquet(vg_file)[["virtual_group_id", "tin"]].drop_duplicates()
    levels["virtual_group"] = with_benes(
        rollup(individual.merge(members, on="tin"), ["segment", "virtual_group_id"]),
        patients.merge(members, on="tin")
        .groupby(["segment", "virtual_group_id"])["beneficiary_id"]
        .nunique(),
    )
    return levels


def measure_pandas(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data)
    files = _claim_files(data)
    sampled = args.lines > PANDAS_FULL_MAX
    if sampled:
        import pyarrow.parquet as pq

        chosen, count = [], 0
        for f in files:
            if count >= PANDAS_SAMPLE:
                break
            chosen.append(f)
            count += pq.read_metadata(f).num_rows
        files, lines = chosen, count
    else:
        lines = args.lines
    started = time.perf_counter()
    levels = pandas_volumes(
        files, data / "apm_participation.parquet", data / "virtual_groups.parquet", args.year
    )
    seconds = time.perf_counter() - started
    rows = sum(len(frame) for frame in levels.values())
    checksum = {
        "rows": rows,
        "allowed_charges": str(
            Decimal(sum(int(f["charges"].sum()) for f in levels.values())).scaleb(-2)
        ),
        "beneficiaries": int(sum(int(f["beneficiaries"].sum()) for f in levels.values())),
        "lines": int(sum(int(f["lines"].sum()) for f in levels.values())),
    }
    out: dict[str, Any] = {"seconds": seconds, "lines": lines, "rows": rows, "checksum": checksum}
    if sampled:
        out["measured_seconds"] = seconds
        out["seconds"] = seconds * args.lines / lines
        out["lines"] = args.lines
        out["note"] = f"measured on a {lines:,}-line sample in {seconds:.1f} s, time scaled"
    return out


MEASURES = {
    "generate": measure_generate,
    "scan": measure_scan,
    "scan-all": measure_scan_all,
    "duckdb": measure_duckdb,
    "pandas": measure_pandas,
    "spark": measure_spark,
}


# ------------------------------------------------------------------ orchestration (parent side)


def _params(args: argparse.Namespace) -> dict[str, int]:
    return {
        "lines": args.lines,
        "clinicians": args.clinicians,
        "year": args.year,
        "seed": args.seed,
    }


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in a child process, polling the RSS of its whole process tree."""
    import psutil

    command = [
        sys.executable, __file__, "--measure", name, "--data", str(args.data),
        "--lines", str(args.lines), "--clinicians", str(args.clinicians),
        "--year", str(args.year), "--seed", str(args.seed), "--workdir", str(args.workdir),
    ]  # fmt: skip
    if args.memory_limit:
        command += ["--memory-limit", args.memory_limit]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    output = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"measurement {name} failed (exit {child.returncode})")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["peak_rss"] = peak
    result["wall"] = time.perf_counter() - started
    return result


def _ratio(results: dict[str, dict[str, Any]]) -> Any:
    def ratio(top: str, bottom: str) -> str:
        if top not in results or bottom not in results:
            return "     n/a"
        return f"{results[top]['seconds'] / results[bottom]['seconds']:8.1f}"

    return ratio


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--clinicians", type=lambda s: int(s.replace("_", "")), default=None)
    parser.add_argument("--year", type=int, default=2022)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/openqpp-bench"))
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit (e.g. 4GB)")
    parser.add_argument("--only", default="", help="comma-separated measurements to run")
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clinicians is None:
        args.clinicians = max(1, args.lines // 200)

    if args.measure:  # child process: one measurement, JSON on the last line of stdout
        print(json.dumps(MEASURES[args.measure](args)))
        return 0

    args.workdir.mkdir(parents=True, exist_ok=True)
    p = _params(args)
    args.data = args.workdir / f"claims-y{p['year']}-l{p['lines']}-c{p['clinicians']}-s{p['seed']}"
    marker = args.data / ".complete"
    results: dict[str, dict[str, Any]] = {}
    print(f"openqpp eligibility benchmark: {args.lines:,} lines, {args.clinicians:,} clinicians, "
          f"PY{args.year}, seed {args.seed}, {os.cpu_count()} cores")  # fmt: skip
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == p:
        print(f"reusing generated claims in {args.data}")
    else:
        results["generate"] = run_child("generate", args)
    names = ["scan", "scan-all", "duckdb"]
    names += [] if args.skip_pandas else ["pandas"]
    names += [] if args.skip_spark else ["spark"]
    if args.only:
        names = [n for n in args.only.split(",") if n in MEASURES and n != "generate"]
    for name in names:
        print(f"  measuring {name} ...", flush=True)
        results[name] = run_child(name, args)

    print()
    print(f"{'measurement':<12}{'seconds':>10}{'lines/s':>16}{'peak RSS':>12}  note")
    for name, r in results.items():
        rate = r["lines"] / r["seconds"] if r["seconds"] else float("inf")
        print(
            f"{name:<12}{r['seconds']:>10.2f}{rate:>16,.0f}{_gb(r['peak_rss']):>12}  "
            f"{r.get('note', '')}"
        )
    print()
    ratio = _ratio(results)
    print(f"b/a     (duckdb aggregates / bare scan)   = {ratio('duckdb', 'scan')}   target <= 3")
    print(f"b/a'    (duckdb aggregates / full scan)   = {ratio('duckdb', 'scan-all')}")
    print(f"c/b     (pandas / duckdb)                 = {ratio('pandas', 'duckdb')}   target >= 20")
    print(f"spark/b (spark local / duckdb)            = {ratio('spark', 'duckdb')}")
    if "duckdb" in results:
        b = results["duckdb"]
        print(
            f"duckdb: {args.lines:,} lines in {b['seconds']:.1f} s, peak memory "
            f"{_gb(b['peak_rss'])} (targets for 100M lines: < 180 s, < 6 GB)"
        )
        for other in ("spark", "pandas"):
            if other in results and "measured_seconds" not in results[other]:
                same = results[other].get("checksum") == b.get("checksum")
                print(f"{other} totals equal duckdb's: {'yes' if same else 'NO'}")
    suffix = "-" + args.only.replace(",", "-") if args.only else ""
    out = args.workdir / f"results-{args.data.name}{suffix}.json"
    print(
        f"load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine skews times)"
    )
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
