"""`openqpp submissions convert FILE.xml` and `openqpp submissions validate FILE...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.core.errors import Finding
from openqpp.services import submissions_convert as service

app = typer.Typer(
    help="Submission files: convert QRDA III to QPP JSON, validate QPP JSON and QRDA III.",
    no_args_is_help=True,
)


def _write_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@app.command("convert")
@with_user_errors
def convert(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A QRDA III XML file."
    ),
) -> None:
    """Convert a QRDA III file to QPP JSON as CMS's converter does.

    Writes the QPP JSON to stdout and exits 0; or writes the converter's error report
    (errors[].details[].errorCode, message, location) to stdout and exits 1.
    """
    result = service.convert_qrda3(file)
    if result.ok and result.submission is not None:
        _write_json(result.submission.to_qpp_json())
        return
    _write_json(result.error_report())
    raise typer.Exit(1)


def _where(finding: Finding) -> str:
    location = finding.location
    parts: list[str] = []
    if location.line is not None:
        parts.append(f"line {location.line}" + (f":{location.column}" if location.column else ""))
    if location.path:
        parts.append(location.path)
    elif location.xpath:
        parts.append(location.xpath)
    return "\n".join(parts)


def _finding_json(path: Path, kind: str, finding: Finding) -> dict[str, object]:
    return {"file": str(path), "kind": kind, **finding.as_dict()}


@app.command("validate")
@with_user_errors
def validate(
    files: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="QPP JSON or QRDA III files."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check QPP JSON and QRDA III files and print every finding; exit 1 when any is an error."""
    results = service.validate_files(files)
    failed = any(not r.ok for r in results)
    if as_json:
        _write_json([_finding_json(r.path, r.kind, f) for r in results for f in r.findings])
        if failed:
            raise typer.Exit(1)
        return
    table = Table(title="Submission file findings", show_lines=True)
    table.add_column("file", overflow="fold")
    table.add_column("severity")
    table.add_column("code", no_wrap=True)
    table.add_column("measure", overflow="fold")
    table.add_column("where", overflow="fold")
    table.add_column("message", overflow="fold", ratio=3)
    for result in results:
        for finding in result.findings:
            severity = "[red]error[/]" if finding.is_error else "[yellow]warning[/]"
            table.add_row(
                escape(result.path.name),
                severity,
                escape(finding.code),
                escape(finding.measure_id or ""),
                escape(_where(finding)),
                escape(finding.message),
            )
    if any(r.findings for r in results):
        console.print(table)
    for result in results:
        errors = len(result.errors)
        warnings = len(result.findings) - errors
        status = "[red]refused[/]" if errors else "[green]ok[/]"
        console.print(
            f"{escape(str(result.path))} ({result.kind}): {status}, "
            f"{errors} error(s), {warnings} warning(s)"
        )
    if failed:
        raise typer.Exit(1)
