"""`openqpp data install|status`: the measures data pack and the web assets."""

from __future__ import annotations

import typer
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.services import data_pack
from openqpp.settings import get_settings

app = typer.Typer(
    help="The CMS measures data pack and other pinned npm packs.", no_args_is_help=True
)


@app.command("install")
@with_user_errors
def install(
    force: bool = typer.Option(False, "--force", help="Download and verify again."),
    only: str = typer.Option(
        None, "--only", help="Only packs for this target: data, static or tools."
    ),
) -> None:
    """Install the pinned npm packs (qpp-measures-data, design system, htmx, axe-core)."""
    installed = data_pack.install(
        get_settings(), only=only, force=force, progress=lambda m: console.print(f"• {m}")
    )
    console.print(f"[green]✓[/] {len(installed)} pack(s) installed; the others were up to date.")


@app.command("status")
@with_user_errors
def status() -> None:
    """List the measures data years available and the root each comes from."""
    roots, available, packs = data_pack.status(get_settings())
    table = Table(title="Measures data roots (searched in this order)")
    table.add_column("root")
    table.add_column("source")
    table.add_column("years")
    for root in roots:
        years = ", ".join(str(y) for y in root.years) if root.years else "-"
        table.add_row(str(root.root), root.source if root.exists else "[red]missing[/]", years)
    console.print(table)
    by_year = Table(title="Performance years available")
    by_year.add_column("year", justify="right")
    by_year.add_column("from root")
    for year in sorted(available):
        by_year.add_row(str(year), str(available[year]))
    console.print(by_year)
    pack_table = Table(title="Pinned npm packs")
    pack_table.add_column("pack")
    pack_table.add_column("installed")
    pack_table.add_column("where")
    pack_table.add_column("for")
    for pack in packs:
        pack_table.add_row(
            pack.spec,
            "[green]yes[/]" if pack.installed else "[red]no[/]",
            str(pack.target),
            pack.purpose,
        )
    console.print(pack_table)
    if not available:
        console.print(
            "[yellow]No measures data found.[/] Run `openqpp data install`, or set "
            "OPENQPP_MEASURES_DATA to directories in the qpp-measures-data layout."
        )
