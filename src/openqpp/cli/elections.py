"""`openqpp elections ...`: the operator's election commands. Record an APM entity's signed
opt-in letter, write the APM entity notification letters, set the public reporting preview
period, list elections, show the election window, and retry undelivered e-mail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.core.elections import CONFIRMATION_WORD, LetterIncomplete
from openqpp.services import database, elections, mail
from openqpp.settings import get_settings

app = typer.Typer(help="Opt-in and voluntary reporting elections (operator).", no_args_is_help=True)

URL_OPTION = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL).")


def _url(url: str | None) -> str:
    return url or get_settings().database_url


def _date(raw: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise LetterIncomplete(
            f"{name} {raw!r} is not a date.", fix="Write it as YYYY-MM-DD, e.g. 2019-10-15."
        ) from None


def _instant(raw: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise LetterIncomplete(
            f"{name} {raw!r} is not a date and time with a UTC offset.",
            fix="Write it like 2020-11-16T00:00:00-05:00.",
        )
    return moment


@app.command("record-apm-letter")
@with_user_errors
def record_apm_letter(
    apm_entity: str = typer.Option(..., "--apm-entity", help="The APM entity ID on the letter."),
    year: int = typer.Option(..., "--year", help="Performance year."),
    name: str = typer.Option(..., "--name", help="The printed name of the signer."),
    position: str = typer.Option(..., "--position", help="The signer's position."),
    signed_on: str = typer.Option(..., "--signed-on", help="Date signed (YYYY-MM-DD)."),
    file: Path = typer.Option(
        ..., "--file", exists=True, dir_okay=False, readable=True, help="The scanned letter."
    ),
    confirm: str = typer.Option(
        None,
        "--confirm",
        help=f"Type {CONFIRMATION_WORD} to record this final election (asked when left out).",
    ),
    url: str = URL_OPTION,
) -> None:
    """Record an APM entity's opt-in from its returned, signed letter (final)."""
    typed = confirm
    if typed is None:
        typed = typer.prompt(
            f"This records APM entity {apm_entity}'s opt-in for {year}; it is final. "
            f"Type {CONFIRMATION_WORD}"
        )
    content = file.read_bytes()
    with database.session_factory(_url(url)).begin() as session:
        info = elections.record_apm_letter(
            session,
            year=year,
            apm_entity_id=apm_entity,
            printed_name=name,
            position=position,
            signed_on=_date(signed_on, "The signature date"),
            file_name=file.name,
            content=content,
            typed=typed,
            now=get_settings().now(),
        )
        letter = elections.letter_of(session, info.id)
    assert letter is not None
    console.print(
        f"[green]✓[/] APM entity {info.apm_entity_id} opted in for {info.performance_year} "
        f"(election #{info.id}, determination run {info.performance_year}:{info.run_number})."
    )
    console.print(
        f"  letter {letter.file_name}: {letter.content_type}, {letter.size:,} bytes, "
        f"sha256 {letter.content_sha256}; signed by {letter.printed_name} ({letter.position}) "
        f"on {letter.signed_on.isoformat()}."
    )


@app.command("apm-letters")
@with_user_errors
def apm_letters(
    year: int = typer.Option(..., "--year", help="Performance year (2019 or 2020)."),
    letter_round: str = typer.Option(
        ..., "--round", help="september (first segment) or december (newly opt-in eligible)."
    ),
    out: Path = typer.Option(..., "--out", file_okay=False, help="Directory for the letters."),
    return_to: str = typer.Option(
        elections.DEFAULT_RETURN_TO, "--return-to", help="Where entities e-mail the letter."
    ),
    url: str = URL_OPTION,
) -> None:
    """Write the opt-in notification letter for each opt-in eligible APM entity."""
    if letter_round.strip().lower() not in ("september", "december"):
        raise LetterIncomplete(
            f"{letter_round!r} is not a letter round.", fix="Use --round september or december."
        )
    with database.session_factory(_url(url))() as session:
        letters = elections.apm_letters(
            session, year=year, letter_round=letter_round, return_to=return_to
        )
    out.mkdir(parents=True, exist_ok=True)
    for letter in letters:
        (out / letter.file_name).write_text(letter.text, encoding="utf-8")
        console.print(f"  {letter.apm_entity_id}: {letter.entity_name} -> {letter.file_name}")
    console.print(f"{len(letters)} letter(s) written to {out}.")


@app.command("preview-period")
@with_user_errors
def preview_period(
    year: int = typer.Option(..., "--year", help="Performance year."),
    opens: str = typer.Option(..., "--opens", help="Start, e.g. 2020-11-16T00:00:00-05:00."),
    closes: str = typer.Option(..., "--closes", help="End, e.g. 2020-12-16T20:00:00-05:00."),
    source: str = typer.Option(None, "--source", help="The CMS announcement it comes from."),
    url: str = URL_OPTION,
) -> None:
    """Set the public reporting preview period, when voluntary reporters may opt out."""
    with database.session_factory(_url(url)).begin() as session:
        period = elections.set_preview_period(
            session,
            year=year,
            opens_at=_instant(opens, "--opens"),
            closes_at=_instant(closes, "--closes"),
            source=source,
        )
    console.print(
        f"[green]✓[/] {period.performance_year} preview period {period.opens_at:%Y-%m-%d %H:%M} "
        f"to {period.closes_at:%Y-%m-%d %H:%M} UTC."
    )


@app.command("list")
@with_user_errors
def list_elections(
    year: int = typer.Option(None, "--year", help="Performance year."),
    tin: str = typer.Option(None, "--tin", help="Only this practice."),
    url: str = URL_OPTION,
) -> None:
    """Recorded elections, newest first."""
    with database.session_factory(_url(url))() as session:
        items = elections.list_elections(session, year=year, tin=tin)
    table = Table(title="Elections")
    for column in ("#", "PY", "entity", "decision", "confirmed (UTC)", "by", "through", "run"):
        table.add_column(column)
    for e in items:
        table.add_row(
            str(e.id),
            str(e.performance_year),
            e.entity.describe(),
            e.kind.label,
            e.decided_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{e.actor} ({e.role or e.actor_kind.value})",
            e.channel.value,
            f"{e.performance_year}:{e.run_number}",
        )
    console.print(table)
    console.print(f"{len(items)} election(s).")


@app.command("window")
@with_user_errors
def window(year: int = typer.Option(..., "--year", help="Performance year.")) -> None:
    """The year's election window and deadline at this server's clock (OPENQPP_CLOCK)."""
    settings = get_settings()
    deadline = elections.deadline(year, settings.now())
    state = deadline.state.value.replace("_", " ")
    console.print(f"PY {year} election window: {state}; {deadline.words}.")
    console.print(f"  {deadline.described}")


@app.command("deliver-mail")
@with_user_errors
def deliver_mail(url: str = URL_OPTION) -> None:
    """Try again to send e-mail that could not be sent (OPENQPP_SMTP_*)."""
    settings = get_settings()
    with database.session_factory(_url(url)).begin() as session:
        report = mail.deliver(session, mail.SmtpMailer.from_settings(settings))
    console.print(f"{report.sent} sent, {report.failed} failed, {report.pending} still queued.")
