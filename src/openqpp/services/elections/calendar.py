"""An iCalendar feed (RFC 5545) per organisation with each year's election window and its
deadline, written by hand: UTC times, CRLF line ends, lines folded at 75 octets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp import __version__
from openqpp.core.access import OrganisationType, describe, not_connected
from openqpp.core.elections import Window
from openqpp.core.eligibility import Level, Status
from openqpp.db.models import DeterminationRun, Election, EligibilityResultRow
from openqpp.services.access import organisations
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import policy_for
from openqpp.services.eligibility_lookup import years_with_runs

REMINDER_DAYS = 7


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Split a content line into pieces of at most 75 octets (RFC 5545 §3.1), never inside a
    UTF-8 character; continuation lines start with a space."""
    out: list[str] = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = " "
            limit = 75
        current += char
    out.append(current)
    return out


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True, slots=True)
class CalendarFeed:
    file_name: str
    text: str


def _undecided(session: Session, tin: str, year: int) -> int:
    run = session.scalars(
        select(DeterminationRun)
        .where(DeterminationRun.performance_year == year)
        .order_by(DeterminationRun.run_number.desc())
        .limit(1)
    ).first()
    if run is None:
        return 0
    eligible = set(
        session.scalars(
            select(EligibilityResultRow.entity_key).where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.tin == tin,
                EligibilityResultRow.status == Status.OPT_IN_ELIGIBLE.value,
                EligibilityResultRow.level.in_([Level.INDIVIDUAL.value, Level.GROUP.value]),
            )
        )
    )
    elected = set(
        session.scalars(
            select(Election.entity_key).where(
                Election.performance_year == year, Election.tin == tin
            )
        )
    )
    return len(eligible - elected)


def election_calendar(
    session: Session,
    *,
    principal: Principal,
    organisation_type: OrganisationType,
    identifier: str,
    now: dt.datetime,
) -> CalendarFeed:
    """The feed for an organisation the person (or token) holds a role at."""
    ident = organisations.normalise_identifier(organisation_type, identifier)
    org = organisations.find(session, organisation_type, ident)
    if org is None or not principal.grants_at(org.id):
        raise not_connected(describe(organisation_type, ident))
    info = organisations.info(org)
    years = years_with_runs(session) or []
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//openqpp//openqpp {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(f'MIPS election deadlines: {info.name}')}",
        "X-WR-TIMEZONE:America/New_York",
    ]
    stamp = _utc(now)
    uid_base = f"{organisation_type.value}-{ident}".lower()
    for year in years:
        window = Window.for_policy(policy_for(year))
        undecided = (
            _undecided(session, ident, year)
            if organisation_type is OrganisationType.PRACTICE
            else None
        )
        note = (
            f" {undecided} opt-in eligible clinician(s) or group(s) of {info.name} have no "
            "election yet."
            if undecided
            else ""
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:election-window-{year}-{uid_base}@openqpp",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(window.opens)}",
            f"DTEND:{_utc(window.closes)}",
            f"SUMMARY:{_escape(f'{year} MIPS opt-in and voluntary reporting election window')}",
            "DESCRIPTION:"
            + _escape(
                f"Opt-in eligible clinicians and groups who want to submit {year} data must "
                f"opt in or elect to report voluntarily, and submit their data, from "
                f"{window.describe()}. An election is final.{note}"
            ),
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
            "BEGIN:VEVENT",
            f"UID:election-deadline-{year}-{uid_base}@openqpp",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(window.closes - dt.timedelta(minutes=30))}",
            f"DTEND:{_utc(window.closes)}",
            "SUMMARY:"
            + _escape(f"Deadline: {year} MIPS elections close at {window.when(window.closes)}"),
            "DESCRIPTION:"
            + _escape(
                f"The {year} election and submission window closes {window.when(window.closes)}."
                f" No election can be made after it.{note}"
            ),
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"TRIGGER:-P{REMINDER_DAYS}D",
            f"DESCRIPTION:{_escape(f'{year} MIPS elections close in {REMINDER_DAYS} days')}",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    folded = [piece for line in lines for piece in _fold(line)]
    return CalendarFeed(
        file_name=f"mips-election-deadlines-{uid_base}.ics", text="\r\n".join(folded) + "\r\n"
    )
