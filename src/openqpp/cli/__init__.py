"""The `openqpp` command line: one module per domain."""

from __future__ import annotations

import typer

from openqpp import __version__
from openqpp.cli import (
    access,
    audit,
    data,
    db,
    elections,
    eligibility,
    policy,
    scoring,
    serve,
    submissions,
)
from openqpp.settings import get_settings

app = typer.Typer(
    name="openqpp",
    help="MIPS Eligibility & Reporting: eligibility, elections, submissions and scores.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openqpp {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """openqpp command line."""
    get_settings.cache_clear()  # each invocation reads the environment afresh


app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(policy.app, name="policy")
app.add_typer(access.app, name="access")
app.add_typer(audit.app, name="audit")
app.add_typer(eligibility.app, name="eligibility")
app.add_typer(elections.app, name="elections")
app.add_typer(eligibility.claims_app, name="claims")
app.add_typer(submissions.app, name="submissions")
app.command("score")(scoring.score)
app.add_typer(scoring.app, name="scoring")


def main() -> None:
    app()
