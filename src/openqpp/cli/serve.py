"""`openqpp serve`: run the web app with uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from openqpp.cli.common import console, with_user_errors
from openqpp.services import database, demo, elections, eligibility
from openqpp.settings import get_settings

DEMO_YEARS = (2019, 2022)  # year-literal: the performance years the CMS guides show


def _demo_determinations(data_dir: Path) -> None:
    """Determine the guides' demo practices for the guides' years, once."""
    from openqpp.batch.demo import write_demo_claims
    from openqpp.cli.eligibility import run_determination
    from openqpp.policy import load_policy

    settings = get_settings()
    with database.session_factory(settings.database_url)() as session:
        have = {r.performance_year for r in eligibility.list_runs(session)}
    for year in DEMO_YEARS:
        if year in have:
            continue
        claims = write_demo_claims(data_dir / "demo" / f"claims-{year}", load_policy(year))
        summary = run_determination(
            claims, year, out=data_dir / "demo" / f"eligibility_{year}_run{{run}}.parquet"
        )
        console.print(f"Demo determination {year}:{summary.run_number} loaded.")


def _demo_windows() -> None:
    """Which demo year's election window is open at the server's clock (OPENQPP_CLOCK pins it;
    the demo years' real windows are in the past)."""
    settings = get_settings()
    now = settings.now()
    clock = (
        f"clock pinned by OPENQPP_CLOCK at {now.isoformat()}"
        if settings.clock_pinned
        else f"real clock, {now:%Y-%m-%d %H:%M} UTC"
    )
    typer.echo(f"Election windows ({clock}):")
    for year in DEMO_YEARS:
        deadline = elections.deadline(year, now)
        state = deadline.state.value.replace("_", " ")
        typer.echo(f"  PY {year} election window is {state}: {deadline.words}.")
    if not any(elections.deadline(year, now).is_open for year in DEMO_YEARS):
        typer.echo(
            "  To try elections, restart with a clock inside a window, e.g. "
            "OPENQPP_CLOCK=2023-03-19T20:00:00-04:00 openqpp serve --demo"
        )


@with_user_errors
def serve(
    host: str = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port to listen on (default 8000)."),
    workers: int = typer.Option(1, help="Worker processes."),
    demo_data: bool = typer.Option(
        False, "--demo", help="Migrate the database and load the demo data first (demo mode)."
    ),
) -> None:
    """Serve the web app and the APIs."""
    import uvicorn

    if demo_data:
        os.environ["OPENQPP_DEMO"] = "true"
        get_settings.cache_clear()
    settings = get_settings()
    if demo_data:
        database.upgrade(settings.database_url)
        with database.session_factory(settings.database_url).begin() as session:
            added = demo.load_demo(session)
            credentials = demo.load_demo_access(session)
        console.print(f"Demo data ready ({added} organisation(s) added).")
        _demo_determinations(settings.data_dir)
        _demo_windows()
        # Demo mode only: printed to the console (never logged), new passwords at every start.
        typer.echo("Demo users (passwords are new at every start of `openqpp serve --demo`):")
        for c in credentials:
            typer.echo(f"  user ID {c.user_id:<14} password {c.password}  {c.name}: {c.roles}")
    host = host or settings.host
    port = port or settings.port
    console.print(
        f"openqpp serving on [bold]http://{host}:{port}[/] (database {settings.database_url})"
    )
    uvicorn.run(
        "openqpp.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # httptools with a bound on the request head (uvicorn's own keeps a head of any size)
        http="openqpp.web.server_protocol:BoundedHeadHttpToolsProtocol",
    )
