"""`openqpp score FILE [--year Y] [--json]`: the preliminary score tree of a submission file;
`openqpp scoring load-cost FILE --year Y`: load CMS's cost measure results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.tree import Tree

from openqpp.cli.common import console, with_user_errors
from openqpp.cli.submissions import _finding_json, _where
from openqpp.core.scoring.explain import number
from openqpp.core.scoring.tree import ScoreNode
from openqpp.services import database, scoring_costs
from openqpp.services import scoring as service
from openqpp.settings import get_settings

app = typer.Typer(help="Scoring inputs CMS calculates (operator).", no_args_is_help=True)


def _label(node: ScoreNode) -> str:
    title = node.title or node.name
    if node.maximum is None:
        score = "[dim]not scored[/]"
    else:
        score = f"[bold]{number(node.points)}[/] / {number(node.maximum)}"
    if node.weight is not None and node.name != "complex_patient_bonus":
        score += f" [cyan](weight {number(node.weight)}%)[/]"
    label = f"{escape(title)}"
    if node.title and node.title != node.name:
        label += f" [dim]{escape(node.name)}[/]"
    label += f"  {score}  [magenta]{escape(node.rule)}[/]"
    label += f"\n[dim]{escape(node.explanation)}[/]"
    if node.unverified:
        label += f"\n[yellow]unverified policy: {escape(', '.join(node.unverified))}[/]"
    for warning in node.warnings:
        label += f"\n[yellow]warning: {escape(warning)}[/]"
    return label


def _add(branch: Tree, node: ScoreNode) -> None:
    for child in node.children:
        _add(branch.add(_label(child)), child)


def render(root: ScoreNode) -> Tree:
    tree = Tree(_label(root))
    _add(tree, root)
    return tree


@with_user_errors
def score(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A QPP JSON or QRDA III file."
    ),
    year: int | None = typer.Option(
        None, "--year", help="Performance year whose rules to score with (default: the file's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the score tree as JSON."),
) -> None:
    """Score a submission file as a preliminary MIPS score and print the score tree.

    Every number shows the rule that made it and why. Exits 1 with the validation findings
    when the file is invalid."""
    try:
        root = service.score_file(file, year)
    except service.InvalidSubmissionFile as exc:
        result = exc.validation
        if as_json:
            findings = [_finding_json(result.path, result.kind, f) for f in result.findings]
            sys.stdout.write(json.dumps({"errors": findings}, indent=2) + "\n")
        else:
            console.print(
                f"[red]{escape(str(file))} cannot be scored:[/] it has validation errors."
            )
            for finding in result.errors:
                where = _where(finding).replace("\n", " ")
                console.print(
                    f"  [red]{escape(finding.code)}[/] {escape(finding.message)}"
                    + (f" [dim]({escape(where)})[/]" if where else "")
                )
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(service.tree_to_json(root), indent=2) + "\n")
        return
    console.print(render(root))
    adjustment = root.inputs.get("payment_adjustment")
    if isinstance(adjustment, dict):
        console.print(
            f"[bold]Payment adjustment estimate:[/] {escape(str(adjustment.get('percent')))}% "
            "[dim](an estimate; see the assumptions above)[/]"
        )
    unverified = root.all_unverified()
    if unverified:
        console.print(
            f"[yellow]This score relies on {len(unverified)} unverified policy value(s):[/] "
            + escape(", ".join(unverified))
        )


@app.command("load-cost")
@with_user_errors
def load_cost(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CMS's cost results (CSV)."
    ),
    year: int = typer.Option(..., "--year", help="Performance year of the results."),
    url: str | None = typer.Option(
        None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL)."
    ),
) -> None:
    """Load CMS's cost measure results (CSV: tin, npi, measure_id, case_count, case_minimum,
    points) for a performance year.

    ``npi`` is empty for a group; an empty ``case_minimum`` takes the year's
    scoring.cost.case_minimums policy value; ``points`` (1-10) is empty below the case minimum.
    All or nothing: any bad line stores nothing (exit 1, every problem listed). A measure loaded
    again for the same entity replaces the older result."""
    settings = get_settings()
    try:
        with database.session_factory(url or settings.database_url).begin() as session:
            loaded = scoring_costs.load_cost_file(
                session, path=file, year=year, settings=settings, now=settings.now()
            )
    except scoring_costs.CostFileInvalid as exc:
        console.print(f"[red]{escape(exc.message)}[/]")
        for finding in exc.findings:
            where = finding.location
            at = f"line {where.line}" if where and where.line else ""
            column = f" ({where.path})" if where and where.path else ""
            console.print(f"  [red]{escape(at + column)}[/] {escape(finding.message)}")
        console.print(f"[yellow]how to fix:[/] {escape(exc.fix)}")
        raise typer.Exit(1) from None
    console.print(
        f"[green]✓[/] {len(loaded.lines)} cost result(s) for {loaded.entities} entit"
        f"{'y' if loaded.entities == 1 else 'ies'} loaded for {loaded.year} from "
        f"{escape(loaded.source)} ({loaded.created} new, {loaded.replaced} replaced; sha256 "
        f"{loaded.sha256})."
    )
    for line in loaded.lines:
        minimum = "policy" if line.case_minimum_source == "policy" else "file"
        points = "-" if line.points is None else number(line.points)
        console.print(
            f"  {line.entity_key:<20} {line.measure_id:<14} cases {line.case_count:>5} "
            f"(minimum {line.case_minimum}, from {minimum})  points {points}"
        )
    for warning in loaded.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
