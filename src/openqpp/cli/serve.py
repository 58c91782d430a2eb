"""`openqpp serve`: run the web app with uvicorn."""

from __future__ import annotations

import os

import typer

from openqpp.cli.common import console, with_user_errors
from openqpp.services import database, demo
from openqpp.settings import get_settings


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
        console.print(f"Demo data ready ({added} organisation(s) added).")
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
    )
