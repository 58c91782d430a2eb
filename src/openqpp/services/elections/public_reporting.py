"""Voluntary reporters may opt out of public reporting during the public reporting preview
period (2019 guide: "Unless, during the 30-day preview period (in late 2020), you opt-out of
having your data publicly reported"; 2022 guide: "during the Care Compare Preview period in
late 2023"). The guides give no dates, so the operator sets each year's period from CMS's
announcement (:func:`set_preview_period`); the choice is recorded once and is final."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openqpp.core.common import PerformanceYear
from openqpp.core.elections import (
    AlreadyOptedOutOfPublicReporting,
    ElectionKind,
    InvalidElectionRequest,
    NoElection,
    NotVoluntaryReporter,
    OutsidePreviewPeriod,
)
from openqpp.core.eligibility import Level
from openqpp.db.models import PublicReportingOptOut, PublicReportingPreview
from openqpp.services import audit
from openqpp.services.access import organisations
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import (
    ElectionInfo,
    acting,
    begin_writes,
    election_info,
    election_row,
    entity_from,
    policy_for,
    window_for,
)


@dataclass(frozen=True, slots=True)
class PreviewPeriod:
    performance_year: int
    opens_at: dt.datetime
    closes_at: dt.datetime
    set_by: str
    source: str | None


def set_preview_period(
    session: Session,
    *,
    year: int,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    source: str | None,
    actor: str = "operator",
    context: audit.RequestContext = audit.OPERATOR,
) -> PreviewPeriod:
    """Set (or correct) a year's preview period; it must follow the election window."""
    chosen = int(PerformanceYear(year))
    policy_for(chosen)
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        raise InvalidElectionRequest(
            "The preview period needs times with a UTC offset.",
            fix="Give them like 2020-11-16T00:00:00-05:00.",
        )
    if not opens_at < closes_at:
        raise InvalidElectionRequest(
            "The preview period must open before it closes.", fix="Check the two dates."
        )
    window = window_for(chosen)
    if opens_at < window.closes:
        raise InvalidElectionRequest(
            f"The preview period must start after the {chosen} election window closes "
            f"({window.when(window.closes)}).",
            fix="Public reporting previews follow the submission period; check the year.",
        )
    row = session.get(PublicReportingPreview, chosen)
    before = None
    if row is None:
        row = PublicReportingPreview(performance_year=chosen)
        session.add(row)
    else:
        before = {"opens_at": row.opens_at, "closes_at": row.closes_at}
    row.opens_at, row.closes_at = opens_at, closes_at
    row.set_by, row.source = actor, (source or None)
    row.set_at = dt.datetime.now(dt.UTC)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=actor,
        role=None,
        on_behalf_of=None,
        action="public_reporting_preview.set",
        object_type="public_reporting_preview",
        object_id=chosen,
        before=before,
        after={"opens_at": opens_at, "closes_at": closes_at, "source": source},
    )
    return PreviewPeriod(chosen, row.opens_at, row.closes_at, row.set_by, row.source)


def preview_period(session: Session, year: int) -> PreviewPeriod | None:
    row = session.get(PublicReportingPreview, year)
    if row is None:
        return None
    return PreviewPeriod(row.performance_year, row.opens_at, row.closes_at, row.set_by, row.source)


def opt_out_of_public_reporting(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
    context: audit.RequestContext,
) -> ElectionInfo:
    """Record a voluntary reporter's opt-out of public reporting (final, once)."""
    entity = entity_from(Level.INDIVIDUAL if npi else Level.GROUP, tin=tin, npi=npi)
    who = acting(session, principal=principal, entity=entity, year=year, now=now)
    row = election_row(session, year, entity)
    if row is None:
        raise NoElection(
            f"{entity.describe()} has no election for performance year {year}.",
            fix="Only clinicians and groups that elected to report voluntarily can opt out of "
            "public reporting.",
        )
    if ElectionKind(row.kind) is not ElectionKind.VOLUNTARY:
        raise NotVoluntaryReporter(
            f"{entity.describe()} opted in to MIPS for {year}; only voluntary reporters may opt "
            "out of public reporting.",
            fix="Opted-in clinicians and groups are publicly reported as MIPS eligible ones are.",
        )
    period = preview_period(session, year)
    if period is None or not period.opens_at <= now < period.closes_at:
        when = (
            f"it runs from {period.opens_at:%Y-%m-%d %H:%M} to {period.closes_at:%Y-%m-%d %H:%M} "
            "UTC"
            if period
            else "its dates have not been set on this server yet"
        )
        raise OutsidePreviewPeriod(
            f"Public reporting opt-outs for {year} are taken only during the public reporting "
            f"preview period: {when}.",
            fix="Come back during the preview period; the operator sets it with "
            "`openqpp elections preview-period`.",
        )
    existing = session.scalar(
        select(PublicReportingOptOut.id).where(PublicReportingOptOut.election_id == row.id)
    )
    if existing is not None:
        raise AlreadyOptedOutOfPublicReporting(
            f"{entity.describe()} has already opted out of public reporting for {year}.",
            fix="Nothing else is needed; the choice is recorded.",
        )
    begin_writes(session)
    try:
        with session.begin_nested():
            session.add(
                PublicReportingOptOut(
                    election_id=row.id,
                    recorded_at=now,
                    actor=principal.actor,
                    role=who.role,
                    acting_organisation_id=who.acting_organisation_id,
                )
            )
            session.flush()
    except IntegrityError:
        raise AlreadyOptedOutOfPublicReporting(
            f"{entity.describe()} has already opted out of public reporting for {year}.",
            fix="Nothing else is needed; the choice is recorded.",
        ) from None
    practice = organisations.practice_by_tin(session, str(entity.tin))
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=who.role,
        on_behalf_of=audit.OnBehalfOf.practice(
            str(entity.tin), npi=entity.npi, organisation_id=practice.id if practice else None
        ),
        action="election.public_reporting_opt_out",
        object_type="election",
        object_id=row.id,
        after={"public_reporting": "opted_out", "performance_year": year},
        acting_organisation_id=who.acting_organisation_id
        if practice is None or who.acting_organisation_id != practice.id
        else None,
        at=now,
    )
    return election_info(session, row)
