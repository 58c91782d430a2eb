"""`openqpp eligibility determine|runs|diff` and `openqpp claims synth`."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.policy import load_policy
from openqpp.services import database
from openqpp.services import eligibility as eligibility_service
from openqpp.settings import get_settings

STATUSES = ("eligible", "opt_in_eligible", "exempt")

app = typer.Typer(help="MIPS eligibility determinations from claims.", no_args_is_help=True)
claims_app = typer.Typer(help="Claims inputs for determinations.", no_args_is_help=True)


@app.command("determine")
@with_user_errors
def determine(
    claims: Path = typer.Option(..., "--claims", help="Directory with the batch-contract tables."),
    year: int = typer.Option(..., "--year", help="Performance year."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default) or spark."),
    out: Path = typer.Option(
        None, "--out", help="Results Parquet (default: eligibility_<year>_run<N>.parquet)."
    ),
) -> None:
    """Determine eligibility for every entity in the claims and load it as a new run."""
    started = time.perf_counter()
    summary = run_determination(claims, year, engine=engine, out=out)
    table = Table(title=f"Determination run {year}:{summary.run_number} (id {summary.run_id})")
    table.add_column("level")
    for status in STATUSES:
        table.add_column(status, justify="right")
    for level, counts in sorted(summary.status_counts.items()):
        table.add_row(level, *(f"{counts.get(s, 0):,}" for s in STATUSES))
    console.print(table)
    console.print(
        f"{sum(summary.counts.values()):,} results written to {summary.results_file} and loaded "
        f"in {time.perf_counter() - started:.1f} s."
    )
    if summary.unverified_parameters:
        console.print(
            f"[yellow]Results rely on {len(summary.unverified_parameters)} unverified policy "
            "value(s)[/]: " + ", ".join(summary.unverified_parameters)
        )


def run_determination(
    claims: Path, year: int, *, engine: str = "duckdb", out: Path | str | None = None
) -> eligibility_service.RunSummary:
    """Validate and aggregate the claims, decide every entity and load the run (with progress)."""
    from openqpp.batch.volumes import compute

    settings = get_settings()
    policy = load_policy(year)
    database.require_current(settings.database_url)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        stage = progress.add_task("validate and aggregate claims", total=None)

        def batch_stage(name: str) -> None:
            progress.update(stage, description=f"claims: {name}")

        batch = compute(claims, policy, engine=engine, progress=batch_stage)  # type: ignore[arg-type]
        progress.update(stage, total=1, completed=1, description="claims aggregated")
        refs = eligibility_service.ReferenceTables(**batch.references)
        tasks: dict[str, TaskID] = {}

        def service_stage(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=max(total, 1))
            progress.update(tasks[name], completed=done, total=max(total, 1))

        with database.session_factory(settings.database_url).begin() as session:
            return eligibility_service.record_run(
                session,
                policy=policy,
                volumes=batch.volumes,
                refs=refs,
                engine=engine,
                source=str(claims.resolve()),
                input_fingerprint=eligibility_service.fingerprint(
                    p for p in claims.rglob("*") if p.is_file()
                ),
                results_file=out or "eligibility_{year}_run{run}.parquet",
                progress=service_stage,
            )


@app.command("runs")
@with_user_errors
def runs() -> None:
    """List the determination runs loaded, newest last."""
    settings = get_settings()
    with database.session_factory(settings.database_url)() as session:
        rows = eligibility_service.list_runs(session)
    table = Table(title="Determination runs")
    for name in ("id", "year:run", "engine", "entities", "loaded (UTC)", "source"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r.run_id),
            f"{r.performance_year}:{r.run_number}",
            r.engine,
            f"{sum(r.counts.values()):,}",
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.source,
        )
    console.print(table)


@app.command("diff")
@with_user_errors
def diff(
    run_a: str = typer.Argument(..., help="Run id, or YEAR:RUN."),
    run_b: str = typer.Argument(..., help="Run id, or YEAR:RUN."),
    limit: int = typer.Option(200, help="Show at most this many changes."),
) -> None:
    """List the entities whose status or exceeded criteria changed between two runs."""
    settings = get_settings()
    with database.session_factory(settings.database_url)() as session:
        label_a, label_b, changes = eligibility_service.diff_runs(session, run_a, run_b)
    table = Table(title=f"Changes from run {label_a} to run {label_b}")
    for name in ("level", "entity", label_a, label_b, "exceeded before", "exceeded after"):
        table.add_column(name)
    for c in changes[:limit]:
        table.add_row(
            c.level,
            c.entity_key,
            c.before or "[dim]absent[/]",
            c.after or "[dim]absent[/]",
            c.exceeded_before,
            c.exceeded_after,
        )
    console.print(table)
    console.print(
        f"{len(changes):,} entities changed"
        + (f" (first {limit} shown)." if len(changes) > limit else ".")
    )


@claims_app.command("synth")
@with_user_errors
def synth(
    clinicians: int = typer.Option(..., "--clinicians", help="Number of clinicians."),
    lines: int = typer.Option(..., "--lines", help="Number of claim lines."),
    year: int = typer.Option(..., "--year", help="Performance year."),
    out: Path = typer.Option(..., "--out", help="Directory to write the input tables to."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same data)."),
) -> None:
    """Generate realistic synthetic claims inputs (deterministic for a seed)."""
    from openqpp.batch.synth import synthesize

    started = time.perf_counter()
    result = synthesize(out, clinicians=clinicians, lines=lines, year=year, seed=seed)
    console.print(
        f"Wrote {lines:,} claim lines for {clinicians:,} clinicians to {out} in "
        f"{time.perf_counter() - started:.1f} s."
    )
    if result is not None:
        console.print(str(result))
