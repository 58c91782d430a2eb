"""`openqpp db upgrade|check`."""

from __future__ import annotations

import typer

from openqpp.cli.common import console, err_console, with_user_errors
from openqpp.services import database
from openqpp.settings import get_settings

app = typer.Typer(help="Database schema: migrate and check.", no_args_is_help=True)


@app.command("upgrade")
@with_user_errors
def upgrade(
    url: str = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL)."),
) -> None:
    """Migrate the database to the newest schema revision."""
    target = url or get_settings().database_url
    before, after = database.upgrade(target)
    if before == after:
        console.print(f"Database already at revision [bold]{after}[/].")
    else:
        console.print(f"Database migrated from [bold]{before or 'empty'}[/] to [bold]{after}[/].")


@app.command("check")
@with_user_errors
def check(
    url: str = typer.Option(
        None, "--url", help="An EMPTY database to check on (default: a scratch SQLite file)."
    ),
) -> None:
    """Fail when the models and the migrations disagree (or migrations have several heads)."""
    problems = database.check(url)
    if problems:
        for problem in problems:
            err_console.print(f"[red]✗[/] {problem}", markup=True)
        err_console.print(
            "Write a migration for the model change: see docs/development.md "
            "('Changing the schema')."
        )
        raise typer.Exit(1)
    console.print(f"[green]✓[/] models and migrations agree (head {database.head_revision()}).")
