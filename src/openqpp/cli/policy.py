"""`openqpp policy show YEAR` and `openqpp policy diff YEAR_A YEAR_B`."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.services import policy as policy_service

app = typer.Typer(help="The per-year MIPS rules, with their references.", no_args_is_help=True)


def _status(status: str) -> str:
    return "[green]verified[/]" if status == "verified" else "[yellow]unverified[/]"


@app.command("show")
@with_user_errors
def show(
    year: int = typer.Argument(..., help="Performance year, e.g. 2019."),
    match: str = typer.Option(
        None, "--match", "-m", help="Only parameters whose path contains this."
    ),
) -> None:
    """Print every rule for a performance year with its value and reference."""
    rows = [r for r in policy_service.show(year) if not match or match in r.path]
    table = Table(title=f"MIPS policy, performance year {year}", show_lines=True)
    table.add_column("parameter", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("status")
    table.add_column("reference", overflow="fold")
    for row in rows:
        reference = escape(row.reference) + (
            f"\n[dim]note: {escape(row.note)}[/]" if row.note else ""
        )
        table.add_row(row.path, escape(row.value), _status(row.status), reference)
    console.print(table)
    unverified = policy_service.unverified(year)
    total = len(policy_service.show(year))
    if unverified:
        console.print(
            f"[yellow]{len(unverified)} of {total} value(s) for {year} are unverified[/]: "
            "they come from secondary sources or inference; results that use them say so."
        )


@app.command("diff")
@with_user_errors
def diff(
    year_a: int = typer.Argument(..., help="First performance year."),
    year_b: int = typer.Argument(..., help="Second performance year."),
) -> None:
    """Print the rules whose values differ between two performance years."""
    rows = policy_service.diff(year_a, year_b)
    table = Table(title=f"MIPS policy: {year_a} → {year_b}", show_lines=True)
    table.add_column("parameter", overflow="fold")
    table.add_column(str(year_a), overflow="fold")
    table.add_column(str(year_b), overflow="fold")
    table.add_column("references", overflow="fold")
    for row in rows:
        refs = f"{year_a}: {escape(row.reference_a)}"
        if row.reference_b != row.reference_a:
            refs += f"\n{year_b}: {escape(row.reference_b)}"
        flag_a = "" if row.status_a == "verified" else " [yellow](unverified)[/]"
        flag_b = "" if row.status_b == "verified" else " [yellow](unverified)[/]"
        table.add_row(row.path, escape(row.value_a) + flag_a, escape(row.value_b) + flag_b, refs)
    console.print(table)
    console.print(f"{len(rows)} parameter(s) differ between {year_a} and {year_b}.")
