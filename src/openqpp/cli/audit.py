"""`openqpp audit search`: the audit log by TIN, NPI or actor."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.core.common import Npi, Tin
from openqpp.services import audit, database
from openqpp.settings import get_settings

app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


@app.command("search")
@with_user_errors
def search(
    tin: str = typer.Option(None, "--tin", help="Records acted on behalf of this practice TIN."),
    npi: str = typer.Option(None, "--npi", help="Records about this clinician NPI."),
    actor: str = typer.Option(None, "--actor", help="Records made by this user ID or token."),
    limit: int = typer.Option(100, "--limit", help="At most this many records, newest first."),
    url: str = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL)."),
) -> None:
    """Search the audit log (newest first)."""
    with database.session_factory(url or get_settings().database_url)() as session:
        entries = audit.search(
            session,
            tin=str(Tin(tin)) if tin else None,
            npi=str(Npi(npi)) if npi else None,
            actor=actor,
            limit=limit,
        )
    table = Table(title="Audit records", show_lines=True)
    for column in (
        "time (UTC)",
        "actor",
        "role",
        "on behalf of",
        "action",
        "object",
        "change",
        "request",
    ):
        table.add_column(column, overflow="fold")
    for e in entries:
        change = ""
        if e.before:
            change += "before " + json.dumps(e.before, sort_keys=True) + "\n"
        if e.after:
            change += "after " + json.dumps(e.after, sort_keys=True)
        table.add_row(
            e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.role or "",
            e.on_behalf_of or "",
            e.action,
            e.object,
            change,
            f"{e.request_id or ''} {e.client_address or ''}".strip(),
        )
    console.print(table)
    console.print(f"{len(entries)} record(s).")
