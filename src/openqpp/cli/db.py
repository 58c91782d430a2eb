"""`openqpp db upgrade|check|backup|restore`."""

from __future__ import annotations

from pathlib import Path

import typer

from openqpp.cli.common import console, err_console, with_user_errors
from openqpp.services import backup as backups
from openqpp.services import database
from openqpp.settings import get_settings

app = typer.Typer(
    help="Database schema: migrate and check; back up and restore.", no_args_is_help=True
)


@app.command("upgrade")
@with_user_errors
def upgrade(
    url: str = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL)."),
) -> None:
    """Migrate the database to the newest schema revision."""
    target = url or get_settings().database_url

    def waiting() -> None:
        console.print("Another `openqpp db upgrade` is migrating this database; waiting for it.")

    before, after = database.upgrade(target, on_wait=waiting)
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


@app.command("backup")
@with_user_errors
def backup(
    file: Path = typer.Argument(..., help="The backup file to write."),
    url: str = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL)."),
    force: bool = typer.Option(False, "--force", help="Replace FILE if it exists."),
) -> None:
    """Write a consistent backup while the server runs (SQLite: online backup API;
    PostgreSQL: pg_dump custom format)."""
    target = url or get_settings().database_url
    result = backups.backup(target, file, force=force)
    console.print(
        f"Backed up the {result.kind} database (revision [bold]{result.revision or 'none'}[/]) "
        f"to {result.path} ({result.size:,} bytes)."
    )


@app.command("restore")
@with_user_errors
def restore(
    file: Path = typer.Argument(..., help="A file written by `openqpp db backup`."),
    url: str = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL)."),
    force: bool = typer.Option(
        False, "--force", help="Replace everything in a database that is not empty."
    ),
) -> None:
    """Restore a backup into an empty database (stop the servers first), then check that its
    schema is at this version's newest migration."""
    target = url or get_settings().database_url
    result = backups.restore(target, file, force=force)
    if result.current:
        console.print(
            f"[green]✓[/] Restored {file} into the {result.kind} database; schema at the newest "
            f"revision [bold]{result.head}[/]."
        )
        return
    if result.known_revision:
        err_console.print(
            f"Restored {file}, but its schema is at revision {result.revision or 'none'}, not "
            f"{result.head}: run `openqpp db upgrade` (same database) before starting servers."
        )
    else:
        err_console.print(
            f"Restored {file}, but its schema revision {result.revision!r} is unknown to this "
            "version of openqpp (the backup comes from a newer one): install that version."
        )
    raise typer.Exit(1)
