"""What the Eligibility & Reporting pages show, one call per page: the practices a person acts
for with their eligibility summary and election deadline, a practice's connected clinicians,
the reporting options, the "Are you sure?" page, and an entity's election."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, Action, OrganisationType, Target
from openqpp.core.common import Npi, PerformanceYear
from openqpp.core.elections import (
    GROUP_NOTE,
    ElectionKind,
    ElectionRefused,
    Entity,
    NoElection,
    NotOptInEligible,
    Window,
    WindowState,
    already_elected,
    consequences,
)
from openqpp.core.elections.texts import (
    OptionText,
    are_you_sure,
    cancel_link,
    confirm_button,
    confirmed_heading,
    confirmed_text,
    options,
    reporting_requirement,
)
from openqpp.core.eligibility import Level, Status
from openqpp.db.models import (
    DeterminationRun,
    EligibilityResultRow,
    Notification,
    Organisation,
    PublicReportingPreview,
    RunApmParticipant,
    RunClinician,
)
from openqpp.services import audit, mail
from openqpp.services.access import organisations
from openqpp.services.access.authorize import allowed
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import (
    ElectionInfo,
    acting,
    begin_writes,
    election_info,
    election_row,
    entity_from,
    policy_for,
    run_for,
    window_for,
)
from openqpp.services.elections.records import Confirmed, confirm, default_year
from openqpp.services.eligibility_lookup import (
    ScenarioView,
    attach_elections,
    scenario_of,
    scenario_views,
    years_with_runs,
)

BASE = "/eligibility-reporting"
MAX_CLINICIANS_SHOWN = 100
STATUS_FILTERS = (
    ("all", "Show all"),
    ("opt_in_eligible", "Opt-in eligible, no election yet"),
    ("eligible", "MIPS eligible"),
    ("opted_in", "Opted in"),
    ("voluntary", "Reporting voluntarily"),
    ("exempt", "Exempt"),
)


def practice_path(year: int, tin: str) -> str:
    return f"{BASE}/{year}/practices/{tin}"


def entity_path(year: int, tin: str, npi: str | None) -> str:
    base = practice_path(year, tin)
    return f"{base}/clinicians/{npi}" if npi else base


@dataclass(frozen=True, slots=True)
class Deadline:
    """The year's window and the deadline in words, at the time the page is made."""

    year: int
    window: Window
    state: WindowState
    words: str
    """``closes in 12 days, March 31 at 8:00 PM ET``."""

    @property
    def is_open(self) -> bool:
        return self.state is WindowState.OPEN

    @property
    def described(self) -> str:
        return self.window.describe()


def deadline(year: int, now: dt.datetime) -> Deadline:
    window = window_for(year)
    return Deadline(year, window, window.state(now), window.deadline(now))


@dataclass(frozen=True, slots=True)
class PracticeSummary:
    organisation: organisations.OrganisationInfo
    year: int
    group: ScenarioView | None
    apm_entities: tuple[str, ...]
    clinicians: int
    may_elect: bool
    notifications: int = 0

    @property
    def path(self) -> str:
        return practice_path(self.year, self.organisation.identifier)

    @property
    def group_options_path(self) -> str:
        return self.path + "/group-options"

    @property
    def reporting_path(self) -> str:
        return self.path + "/reporting"

    @property
    def shows_group_options(self) -> bool:
        """ "You will only see View Group Options when the practice is opt-in eligible as a
        group" (and has not elected yet)."""
        return self.group is not None and self.group.may_elect


def _apm_entities(session: Session, run: DeterminationRun, tin: str) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(RunApmParticipant.apm_entity_id)
            .where(RunApmParticipant.run_id == run.id, RunApmParticipant.tin == tin)
            .distinct()
            .order_by(RunApmParticipant.apm_entity_id)
        )
    )


def _clinician_count(session: Session, run: DeterminationRun, tin: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EligibilityResultRow)
            .where(
                EligibilityResultRow.run_id == run.id,
                EligibilityResultRow.tin == tin,
                EligibilityResultRow.level == Level.INDIVIDUAL.value,
            )
        )
        or 0
    )


def _summary(
    session: Session,
    *,
    principal: Principal,
    run: DeterminationRun,
    org: organisations.OrganisationInfo,
) -> PracticeSummary:
    tin = org.identifier
    views = scenario_views(session, run, [(Level.GROUP.value, tin)])
    count = session.scalar(
        select(func.count()).select_from(Notification).where(Notification.organisation_id == org.id)
    )
    return PracticeSummary(
        organisation=org,
        year=run.performance_year,
        group=views.get((Level.GROUP.value, tin)),
        apm_entities=_apm_entities(session, run, tin),
        clinicians=_clinician_count(session, run, tin),
        may_elect=allowed(
            session,
            principal=principal,
            action=Action.ELECT,
            target=Target(org.ref),
            performance_year=run.performance_year,
        ),
        notifications=int(count or 0) if principal.grants_at(org.id) else 0,
    )


# ---------------------------------------------------------------- Eligibility & Reporting


@dataclass(frozen=True, slots=True)
class ReportingHome:
    year: int
    years: tuple[int, ...]
    run_number: int | None
    deadline: Deadline
    practices: list[PracticeSummary]
    group_note: str = GROUP_NOTE


def _practices_of(session: Session, principal: Principal) -> list[organisations.OrganisationInfo]:
    seen: dict[int, organisations.OrganisationInfo] = {}
    for grant in principal.grants:
        org = grant.organisation
        if org.type is OrganisationType.PRACTICE and org.id not in seen:
            row = session.get(Organisation, grant.organisation.id)
            if row is not None:
                seen[row.id] = organisations.info(row)
    return sorted(seen.values(), key=lambda o: o.name)


def _year(session: Session, raw: int | None, now: dt.datetime) -> int:
    if raw is None:
        return default_year(session, now)
    year = int(PerformanceYear(raw))
    policy_for(year)
    return year


def reporting_home(
    session: Session, *, principal: Principal, year: int | None, now: dt.datetime
) -> ReportingHome:
    """The practices the person holds a role at, each with its eligibility summary."""
    years = tuple(years_with_runs(session))
    chosen = _year(session, year, now)
    run = session.scalars(
        select(DeterminationRun)
        .where(DeterminationRun.performance_year == chosen)
        .order_by(DeterminationRun.run_number.desc())
        .limit(1)
    ).first()
    practices = []
    for org in _practices_of(session, principal):
        if run is None:
            practices.append(PracticeSummary(org, chosen, None, (), 0, False))
        else:
            practices.append(_summary(session, principal=principal, run=run, org=org))
    return ReportingHome(
        year=chosen,
        years=years,
        run_number=run.run_number if run else None,
        deadline=deadline(chosen, now),
        practices=practices,
    )


# ---------------------------------------------------------------- practice details


@dataclass(frozen=True, slots=True)
class ClinicianRow:
    year: int
    tin: str
    npi: str
    name: str
    clinician_type: str | None
    individual: ScenarioView
    group: ScenarioView | None

    @property
    def requirement(self) -> str:
        return reporting_requirement(
            self.individual.status,
            self.individual.election,
            self.group.status if self.group else None,
            self.group.election if self.group else None,
        )

    @property
    def path(self) -> str:
        return entity_path(self.year, self.tin, self.npi)

    @property
    def shows_individual_options(self) -> bool:
        """Only for clinicians opt-in eligible as individuals with no election yet."""
        return self.individual.may_elect

    @property
    def filter_value(self) -> str:
        election = self.individual.election
        if election is not None:
            return "opted_in" if election.kind is ElectionKind.OPT_IN else "voluntary"
        return self.individual.status.value


@dataclass(frozen=True, slots=True)
class PracticeDetails:
    summary: PracticeSummary
    deadline: Deadline
    run_number: int
    clinicians: list[ClinicianRow]
    total: int
    matching: int
    query: str
    status_filter: str
    filters: tuple[tuple[str, str], ...] = STATUS_FILTERS
    group_note: str = GROUP_NOTE

    @property
    def truncated(self) -> bool:
        return len(self.clinicians) < self.matching


def _practice(
    session: Session, *, principal: Principal, year: int, tin: str, now: dt.datetime
) -> tuple[organisations.OrganisationInfo, DeterminationRun]:
    """The practice, if the person may view its eligibility (same refusal whether or not it
    exists), and the year's newest run."""
    entity = entity_from(Level.GROUP, tin=tin)
    acting(
        session,
        principal=principal,
        entity=entity,
        year=year,
        now=now,
        action=Action.VIEW_ELIGIBILITY,
    )
    org = organisations.practice_by_tin(session, str(entity.tin))
    assert org is not None  # authorize refuses practices that are not registered
    return org, run_for(session, year)


def _clinician_rows(
    session: Session, run: DeterminationRun, tin: str, group: ScenarioView | None
) -> list[ClinicianRow]:
    rows = session.execute(
        select(EligibilityResultRow, RunClinician)
        .outerjoin(
            RunClinician,
            (RunClinician.run_id == EligibilityResultRow.run_id)
            & (RunClinician.npi == EligibilityResultRow.npi),
        )
        .where(
            EligibilityResultRow.run_id == run.id,
            EligibilityResultRow.tin == tin,
            EligibilityResultRow.level == Level.INDIVIDUAL.value,
        )
    ).all()
    views = attach_elections(
        session, run, {(r.level, r.entity_key): scenario_of(r) for r, _ in rows}
    )
    out = []
    for row, clinician in rows:
        name = (
            " ".join(p for p in (clinician.first_name, clinician.last_name) if p)
            if clinician is not None
            else ""
        ) or f"NPI {row.npi}"
        out.append(
            ClinicianRow(
                year=run.performance_year,
                tin=tin,
                npi=str(row.npi),
                name=name,
                clinician_type=(clinician.clinician_type or "").replace("_", " ") or None
                if clinician is not None
                else None,
                individual=views[(row.level, row.entity_key)],
                group=group,
            )
        )
    return sorted(out, key=lambda c: (c.name.split(" ")[-1].lower(), c.name.lower(), c.npi))


def _matches(row: ClinicianRow, query: str, status_filter: str) -> bool:
    if status_filter not in ("", "all") and row.filter_value != status_filter:
        return False
    if not query:
        return True
    text = query.casefold()
    return text in row.name.casefold() or text in row.npi or text in (row.clinician_type or "")


def practice_details(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    now: dt.datetime,
    query: str = "",
    status_filter: str = "all",
    limit: int = MAX_CLINICIANS_SHOWN,
) -> PracticeDetails:
    """Practice Details & Connected Clinicians, searched and filtered."""
    org, run = _practice(session, principal=principal, year=year, tin=tin, now=now)
    summary = _summary(session, principal=principal, run=run, org=org)
    chosen_filter = status_filter if status_filter in dict(STATUS_FILTERS) else "all"
    text = " ".join((query or "").split())[:100]
    rows = _clinician_rows(session, run, org.identifier, summary.group)
    matching = [r for r in rows if _matches(r, text, chosen_filter)]
    return PracticeDetails(
        summary=summary,
        deadline=deadline(year, now),
        run_number=run.run_number,
        clinicians=matching[:limit],
        total=len(rows),
        matching=len(matching),
        query=text,
        status_filter=chosen_filter,
    )


CSV_COLUMNS = (
    "performance_year",
    "run_number",
    "tin",
    "npi",
    "name",
    "clinician_type",
    "individual_status",
    "individual_election",
    "individual_decision_date",
    "group_status",
    "group_election",
    "reporting_requirement",
)


def clinicians_csv(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    now: dt.datetime,
    query: str = "",
    status_filter: str = "all",
) -> tuple[str, str]:
    """(file name, CSV text) of the connected clinicians matching the search and filter."""
    details = practice_details(
        session,
        principal=principal,
        year=year,
        tin=tin,
        now=now,
        query=query,
        status_filter=status_filter,
        limit=10**9,
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in details.clinicians:
        election = row.individual.election
        group = row.group
        writer.writerow(
            [
                year,
                details.run_number,
                row.tin,
                row.npi,
                row.name,
                row.clinician_type or "",
                row.individual.status.value,
                election.kind.value if election else "",
                election.decided_at.isoformat() if election and election.decided_at else "",
                group.status.value if group else "",
                group.election.kind.value if group and group.election else "",
                row.requirement,
            ]
        )
    return f"connected-clinicians-{tin}-{year}.csv", out.getvalue()


# ---------------------------------------------------------------- options and confirmation


@dataclass(frozen=True, slots=True)
class OptionsPage:
    year: int
    entity: Entity
    name: str
    practice: organisations.OrganisationInfo
    clinician_type: str | None
    view: ScenarioView
    choices: tuple[OptionText, ...]
    deadline: Deadline
    back_path: str
    entity_path: str
    group_note: str = GROUP_NOTE

    @property
    def heading(self) -> str:
        return (
            "Group Reporting Options"
            if self.entity.level is Level.GROUP
            else "Individual Reporting Options"
        )

    def confirm_path(self, kind: ElectionKind) -> str:
        return f"{self.options_path}/confirm?decision={kind.value}"

    @property
    def options_path(self) -> str:
        suffix = "group-options" if self.entity.level is Level.GROUP else "individual-options"
        return f"{self.entity_path}/{suffix}"


def _entity_view(
    session: Session, run: DeterminationRun, entity: Entity
) -> tuple[ScenarioView | None, str, str | None]:
    """The entity's result, display name and clinician type."""
    view = scenario_views(session, run, [(entity.level.value, entity.key)]).get(
        (entity.level.value, entity.key)
    )
    if entity.level is Level.GROUP:
        return view, "", None
    clinician = session.get(RunClinician, (run.id, entity.npi))
    name = ""
    kind = None
    if clinician is not None:
        name = " ".join(p for p in (clinician.first_name, clinician.last_name) if p)
        kind = (clinician.clinician_type or "").replace("_", " ") or None
    return view, name or f"NPI {entity.npi}", kind


def election_options(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
) -> OptionsPage:
    """Group (``npi`` None) or Individual Reporting Options, for someone allowed to elect."""
    year = _year(session, year, now)
    entity = entity_from(
        Level.INDIVIDUAL if npi else Level.GROUP, tin=tin, npi=str(Npi(npi)) if npi else None
    )
    acting(session, principal=principal, entity=entity, year=year, now=now)
    practice = organisations.practice_by_tin(session, str(entity.tin))
    assert practice is not None
    run = run_for(session, year)
    view, clinician_name, clinician_type = _entity_view(session, run, entity)
    if view is None or view.status is not Status.OPT_IN_ELIGIBLE:
        what = "group (TIN)" if entity.level is Level.GROUP else "individual (TIN/NPI)"
        raise NotOptInEligible(
            f"{entity.describe()} is not opt-in eligible as a {what} in determination run "
            f"{year}:{run.run_number}"
            + (f" (it is {view.status.label})." if view else " (it has no result)."),
            fix="Reporting options appear only for opt-in eligible practices and clinicians; "
            "others go straight to Start Reporting.",
        )
    if view.election is not None:
        raise already_elected(entity, view.election, window_for(year))
    name = practice.name if entity.level is Level.GROUP else f"{clinician_name} at {practice.name}"
    practice_page = practice_path(year, practice.identifier)
    policy = policy_for(year)
    return OptionsPage(
        year=year,
        entity=entity,
        name=name,
        practice=practice,
        clinician_type=clinician_type,
        view=view,
        choices=options(
            entity.level, year, app_voluntary_allowed=policy.elections.app_voluntary_allowed
        ),
        deadline=deadline(year, now),
        back_path=BASE + f"?year={year}" if entity.level is Level.GROUP else practice_page,
        entity_path=entity_path(year, practice.identifier, entity.npi),
    )


@dataclass(frozen=True, slots=True)
class ConfirmPage:
    options: OptionsPage
    kind: ElectionKind
    text: str
    button: str
    cancel: str
    idempotency_key: str
    errors: list[dict[str, str]] = field(default_factory=list)
    error_code: str | None = None
    typed: str = ""

    @property
    def post_path(self) -> str:
        return f"{self.options.options_path}/confirm"


def _kind(raw: str | None) -> ElectionKind:
    kind = ElectionKind.parse(raw or "")
    if kind not in (ElectionKind.OPT_IN, ElectionKind.VOLUNTARY):
        from openqpp.core.elections import InvalidDecision

        raise InvalidDecision(
            f"{raw!r} is not an election decision.",
            fix="Go back to the reporting options and choose Opt-In or Report Voluntarily.",
        )
    return kind


def confirm_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    decision: str | None,
    now: dt.datetime,
) -> ConfirmPage:
    """The "Are you sure?" page: the consequence in words and the CONFIRM box."""
    kind = _kind(decision)
    page = election_options(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    name = page.practice.name if page.entity.level is Level.GROUP else page.name.split(" at ")[0]
    return ConfirmPage(
        options=page,
        kind=kind,
        text=are_you_sure(kind, name, page.year),
        button=confirm_button(kind),
        cancel=cancel_link(kind),
        idempotency_key=secrets.token_urlsafe(24),
    )


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    """Either the election was confirmed, or the page to show again with what went wrong."""

    confirmed: Confirmed | None = None
    page: ConfirmPage | None = None
    status_code: int = 200

    @property
    def redirect_to(self) -> str | None:
        if self.confirmed is None:
            return None
        info = self.confirmed.election
        return entity_path(info.performance_year, str(info.tin), info.npi) + "/confirmed"


def confirm_from_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    decision: str | None,
    typed: str,
    idempotency_key: str | None,
    now: dt.datetime,
    context: audit.RequestContext,
    mailer: mail.SmtpMailer | None = None,
) -> ConfirmOutcome:
    """The "I'm sure" button: confirm the election, or give the page back with the refusal
    in the CMS Design System error summary (nothing is recorded then)."""
    kind = _kind(decision)
    try:
        confirmed = confirm(
            session,
            principal=principal,
            year=year,
            level=Level.INDIVIDUAL if npi else Level.GROUP,
            tin=tin,
            npi=npi,
            kind=kind,
            typed=typed,
            now=now,
            context=context,
            idempotency_key=idempotency_key,
            mailer=mailer,
        )
    except ElectionRefused as exc:
        if exc.code in ("OQ-ELECT-005", "OQ-ELECT-001", "OQ-ELECT-002"):
            raise
        page = confirm_page(
            session, principal=principal, year=year, tin=tin, npi=npi, decision=decision, now=now
        )
        field_id = "confirm-text" if exc.code == "OQ-ELECT-008" else "error-summary"
        page = ConfirmPage(
            options=page.options,
            kind=page.kind,
            text=page.text,
            button=page.button,
            cancel=page.cancel,
            idempotency_key=idempotency_key or page.idempotency_key,
            errors=[{"field": field_id, "message": f"{exc.message} {exc.fix}"}],
            error_code=exc.code,
            typed=typed[:100],
        )
        return ConfirmOutcome(page=page, status_code=exc.http_status)
    return ConfirmOutcome(confirmed=confirmed)


# ---------------------------------------------------------------- an entity's election


@dataclass(frozen=True, slots=True)
class ElectionPage:
    """The entity's Reporting Overview (or the "Opt-In Confirmed" page right after)."""

    year: int
    entity: Entity
    name: str
    practice: organisations.OrganisationInfo
    view: ScenarioView | None
    election: ElectionInfo | None
    deadline: Deadline
    consequences: tuple[str, ...]
    heading: str
    confirmed_text: str | None
    may_opt_out_of_public_reporting: bool
    preview: tuple[dt.datetime, dt.datetime] | None
    entity_path: str
    back_path: str
    group_note: str = GROUP_NOTE

    @property
    def reporting_path(self) -> str:
        return self.entity_path + "/reporting"


def election_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
    require_election: bool = False,
) -> ElectionPage:
    year = _year(session, year, now)
    entity = entity_from(
        Level.INDIVIDUAL if npi else Level.GROUP, tin=tin, npi=str(Npi(npi)) if npi else None
    )
    acting(
        session,
        principal=principal,
        entity=entity,
        year=year,
        now=now,
        action=Action.VIEW_ELIGIBILITY,
    )
    practice = organisations.practice_by_tin(session, str(entity.tin))
    assert practice is not None
    run = run_for(session, year)
    view, clinician_name, _ = _entity_view(session, run, entity)
    row = election_row(session, year, entity)
    info = election_info(session, row) if row is not None else None
    if require_election and info is None:
        raise NoElection(
            f"{entity.describe()} has no election for performance year {year}.",
            fix="Make one from its reporting options while the election window is open.",
        )
    name = practice.name if entity.level is Level.GROUP else clinician_name
    preview_row = session.get(PublicReportingPreview, year)
    preview = (preview_row.opens_at, preview_row.closes_at) if preview_row else None
    kind = info.kind if info else (view.election.kind if view and view.election else None)
    points = consequences(kind, policy_for(year)).points if kind else ()
    may_opt_out = (
        info is not None
        and info.kind is ElectionKind.VOLUNTARY
        and not info.public_reporting_opt_out
        and preview is not None
        and preview[0] <= now < preview[1]
        and _may_elect(session, principal, practice, year)
    )
    return ElectionPage(
        year=year,
        entity=entity,
        name=name,
        practice=practice,
        view=view,
        election=info,
        deadline=deadline(year, now),
        consequences=points,
        heading=confirmed_heading(info.kind) if info else "Reporting Overview",
        confirmed_text=confirmed_text(info.kind, name, year) if info else None,
        may_opt_out_of_public_reporting=may_opt_out,
        preview=preview,
        entity_path=entity_path(year, practice.identifier, entity.npi),
        back_path=practice_path(year, practice.identifier)
        if entity.level is Level.INDIVIDUAL
        else BASE + f"?year={year}",
    )


def _may_elect(
    session: Session, principal: Principal, practice: organisations.OrganisationInfo, year: int
) -> bool:
    try:
        return allowed(
            session,
            principal=principal,
            action=Action.ELECT,
            target=Target(practice.ref),
            performance_year=year,
        )
    except AccessError:
        return False


@dataclass(frozen=True, slots=True)
class OptOutOutcome:
    """The public reporting opt-out from the Reporting Overview: done (go to ``redirect_to``),
    or the page again with the refusal in the error summary."""

    redirect_to: str | None = None
    page: ElectionPage | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    error_code: str | None = None
    status_code: int = 200


def opt_out_from_page(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
    context: audit.RequestContext,
) -> OptOutOutcome:
    from openqpp.services.elections.public_reporting import opt_out_of_public_reporting

    begin_writes(session)
    try:
        with session.begin_nested():
            info = opt_out_of_public_reporting(
                session,
                principal=principal,
                year=year,
                tin=tin,
                npi=npi,
                now=now,
                context=context,
            )
    except ElectionRefused as exc:
        if exc.code == "OQ-ELECT-005":
            raise
        page = election_page(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
        return OptOutOutcome(
            page=page,
            errors=[
                {
                    "field": "election-heading" if page.election else "entity-heading",
                    "message": f"{exc.message} {exc.fix}",
                }
            ],
            error_code=exc.code,
            status_code=exc.http_status,
        )
    path = entity_path(info.performance_year, str(info.tin), info.npi)
    return OptOutOutcome(redirect_to=path + "/reporting?opted_out=1")
