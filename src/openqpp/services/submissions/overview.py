"""The Reporting Overview of a practice (group) or one of its clinicians (individual), and the
file upload on it (2019 data submission user guide, "Reporting Overview Page" and "File Upload
Troubleshooting").

The overview shows the entity and its eligibility and election (the elections' own view), the
special statuses that change what it reports, and per category (Quality, Promoting
Interoperability, Improvement Activities; Cost "calculated by CMS") whether data was submitted,
by whom, when, which measurement sets and measures, with the submission's receipts (every
version, each downloadable). Data from several sources is listed together per category; PI data
that conflicts across submission types gets the guide's "scores 0" message
(:func:`openqpp.core.submissions.combine.pi_conflicts`, the rule scoring uses too).

An upload must hold the page's entity (``check_entity_matches``: otherwise the message names the
TIN/NPI the file holds). It is validated (QPP JSON, or QRDA III converted as CMS's converter
does), then stored through :func:`openqpp.services.submissions.store.accept` (permission, the
election gate for opt-in eligible entities, merge by measureId per submitter, receipt, audit).
Any error stores nothing and gives a downloadable error report: every finding with its code,
message, fix and location, and for QRDA III files the CMS converter's own error JSON.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Final

from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, Action, OrganisationType
from openqpp.core.common import Npi, Tin
from openqpp.core.eligibility import Level, SpecialStatus
from openqpp.core.errors import Finding, OpenQppError
from openqpp.core.scoring.ia import DOUBLING_STATUSES
from openqpp.core.submissions import Category, EntityType, Submission, SubmissionMethod
from openqpp.core.submissions.acceptance import DataRefused, Mode, NotFound, check_entity_matches
from openqpp.core.submissions.combine import describe_value, pi_conflicts, submission_type
from openqpp.db.models import MeasurementSetRow, Organisation, SubmissionReceipt, SubmissionRow
from openqpp.measures import MeasuresYear
from openqpp.services import audit
from openqpp.services.access.authorize import authorize
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import policy_for
from openqpp.services.elections.pages import ElectionPage, election_page
from openqpp.services.scoring_overview import OverviewScore, overview_score
from openqpp.services.submissions import store
from openqpp.services.submissions_convert import (
    FileValidation,
    catalogue,
    measures_or_none,
    validate_bytes,
)

#: Submission methods a file may carry (CMS's file upload client refuses the others).
FILE_METHODS: Final = frozenset(
    {SubmissionMethod.REGISTRY, SubmissionMethod.ELECTRONIC_HEALTH_RECORD}
)
#: How many findings the page lists (the downloadable report has them all).
SHOWN_FINDINGS: Final = 50

CATEGORY_HEADINGS: Final[dict[Category, str]] = {
    Category.QUALITY: "Quality",
    Category.PI: "Promoting Interoperability",
    Category.IA: "Improvement Activities",
    Category.COST: "Cost",
}
#: Special statuses whose activities earn the multiplier (guide, Improvement Activities: "If you
#: have a special status, such as Small practice, HPSA, Rural, or Non-patient facing ... you earn
#: 2xs the points per reported improvement activity"): the scoring rule's own list.
IA_DOUBLING: Final = frozenset(SpecialStatus(s.value) for s in DOUBLING_STATUSES)


class UploadTooLarge(OpenQppError):
    """The upload's declared size is over the limit (refused before it is read)."""

    code = "OQ-SUB-202"
    http_status = 413


def too_large(limit: int, size: int | None = None) -> UploadTooLarge:
    told = f" ({size:,} bytes)" if size is not None else ""
    return UploadTooLarge(
        f"The file{told} is larger than the {limit:,} bytes ({limit / 1048576:.0f} MB) this "
        "server accepts for an upload; nothing was stored.",
        fix="Upload a smaller file: one entity's data per file (split a large QRDA III file by "
        "category), or ask the operator to raise OPENQPP_MAX_REQUEST_BYTES.",
    )


# ---------------------------------------------------------------- the entity


@dataclass(frozen=True, slots=True)
class PageEntity:
    """The entity a reporting page is for: a practice (group) or one clinician at it."""

    year: int
    tin: str
    npi: str | None

    @property
    def entity_type(self) -> EntityType:
        return EntityType.INDIVIDUAL if self.npi else EntityType.GROUP

    @property
    def level(self) -> Level:
        return Level.INDIVIDUAL if self.npi else Level.GROUP

    @property
    def key(self) -> str:
        return f"{self.tin}/{self.npi}" if self.npi else self.tin

    def describe(self) -> str:
        if self.npi:
            return f"the clinician TIN {self.tin} / NPI {self.npi}"
        return f"the group TIN {self.tin}"

    def empty_submission(self) -> Submission:
        return Submission(
            performance_year=self.year, entity_type=self.entity_type, tin=self.tin, npi=self.npi
        )


def page_entity(year: int, tin: str, npi: str | None) -> PageEntity:
    """The entity from the page's address (TIN and NPI checked: InvalidValue when malformed)."""
    return PageEntity(int(year), str(Tin(tin)), str(Npi(npi)) if npi else None)


def submission_row(session: Session, entity: PageEntity) -> SubmissionRow | None:
    return store.find_submission(
        session, year=entity.year, entity_type=entity.entity_type, key=entity.key
    )


def year_measures(year: int) -> MeasuresYear | None:
    return measures_or_none(catalogue(), year)


def _permitted(
    session: Session, principal: Principal, action: Action, entity: PageEntity, now: dt.datetime
) -> str | None:
    """None when the principal may ``action`` for the entity, else the matrix's reason."""
    if principal.kind == "operator":
        return None
    try:
        authorize(
            session,
            principal=principal,
            action=action,
            organisation_type=OrganisationType.PRACTICE,
            identifier=entity.tin,
            npi=entity.npi,
            performance_year=entity.year,
            at=now,
        )
    except AccessError as exc:
        return f"{exc.message} {exc.fix}".strip()
    return None


# ---------------------------------------------------------------- who submitted


def submitter_label(session: Session, row: MeasurementSetRow, practice_name: str) -> str:
    """``Miami Medical (practice)``, ``American Academy of Neurology (QCDR)``."""
    if row.submitter_key == store.OPERATOR_SUBMITTER.key:
        return store.OPERATOR_SUBMITTER.name or "Operator"
    org = (
        session.get(Organisation, row.submitter_organisation_id)
        if row.submitter_organisation_id is not None
        else None
    )
    if org is None:
        return practice_name if row.submitter_type == "practice" else row.submitter_key
    if org.kind.value == OrganisationType.REGISTRY.value:
        kind = "QCDR" if org.registry_type == "qcdr" else "Qualified Registry"
        return f"{org.name} ({kind})"
    return f"{org.name} ({org.kind.value.replace('_', ' ')})"


def set_labels(
    session: Session, rows: Sequence[MeasurementSetRow], practice_name: str
) -> list[str]:
    """Each set named by submitter and submission type, for messages about several sets."""
    return [
        f"{submitter_label(session, r, practice_name)}, {submission_type(store.set_from_row(r))}"
        for r in rows
    ]


# ---------------------------------------------------------------- the page


@dataclass(frozen=True, slots=True)
class MeasureLine:
    measure_id: str
    title: str | None
    value: str


@dataclass(frozen=True, slots=True)
class SetView:
    """One measurement set as the overview lists it."""

    id: str
    category: Category
    submitter: str
    submitted_by_practice: bool
    method: str
    method_label: str
    program: str
    source: str | None
    performance_start: dt.date | None
    performance_end: dt.date | None
    cehrt_id: str | None
    updated_at: dt.datetime
    version: int
    measures: tuple[MeasureLine, ...]

    @property
    def is_attestation(self) -> bool:
        return self.method == SubmissionMethod.ATTESTATION.value


@dataclass(frozen=True, slots=True)
class CategoryView:
    category: Category
    heading: str
    sets: tuple[SetView, ...]
    note: str | None = None
    """Cost: "calculated by CMS"; PI: the 0% weight; IA: double points."""
    conflict: str | None = None
    """PI only: why PI scores 0 (conflicting data across submission types)."""
    several_types: str | None = None
    """PI only: the guide's advice when PI came from more than one submission type."""
    manual_entry_path: str | None = None
    has_manual_entry: bool = False

    @property
    def submitted(self) -> bool:
        return bool(self.sets)

    @property
    def submitters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.submitter for s in self.sets))

    @property
    def last_update(self) -> dt.datetime | None:
        return max((s.updated_at for s in self.sets), default=None)

    @property
    def slug(self) -> str:
        return self.category.value


@dataclass(frozen=True, slots=True)
class ReceiptView:
    id: str
    version: int
    received_at: dt.datetime
    operation: str
    channel: str
    actor_name: str
    role: str | None
    file_name: str | None
    download_path: str


@dataclass(frozen=True, slots=True)
class StatusEffect:
    """A special status and what it changes in reporting."""

    name: str
    effects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One finding of an upload, as the page and the error report give it."""

    code: str
    severity: str
    message: str
    fix: str
    where: str
    location: dict[str, object]
    measure_id: str | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
            "location": self.location,
        }
        if self.measure_id:
            out["measureId"] = self.measure_id
        return out


@dataclass(frozen=True, slots=True)
class UploadResult:
    """The success or error indicator of one upload, and its error report."""

    ok: bool
    file_name: str
    kind: str | None
    message: str
    errors: tuple[ReportLine, ...] = ()
    warnings: tuple[ReportLine, ...] = ()
    report: dict[str, Any] | None = None
    receipt_id: str | None = None
    version: int | None = None
    categories: tuple[str, ...] = ()

    @property
    def shown_errors(self) -> tuple[ReportLine, ...]:
        return self.errors[:SHOWN_FINDINGS]

    @property
    def report_name(self) -> str:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePath(self.file_name).stem)[:80] or "upload"
        return f"{stem}-error-report.json"

    @property
    def report_href(self) -> str | None:
        """The error report as a ``data:`` URL: nothing is stored, so it travels with the page."""
        if self.report is None:
            return None
        text = json.dumps(self.report, indent=2, ensure_ascii=False).encode("utf-8")
        return "data:application/json;base64," + base64.b64encode(text).decode("ascii")


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the Reporting Overview shows."""

    election: ElectionPage
    """The entity, its eligibility and election as the elections domain shows them."""
    entity: PageEntity
    special_statuses: tuple[StatusEffect, ...]
    view_refused: str | None
    """Why the person cannot see submitted data (e.g. the view-only Clinician role), or None."""
    submit_refused: str | None
    election_needed: str | None
    """Opt-in eligible without an election: data is refused until one is made."""
    options_path: str | None
    submission_id: str | None
    last_updated: dt.datetime | None
    categories: tuple[CategoryView, ...]
    receipts: tuple[ReceiptView, ...]
    max_upload_bytes: int
    upload: UploadResult | None = None
    preliminary_score: OverviewScore | None = None
    """The preliminary total and category scores (scoring_overview.overview_score): scored,
    no data yet, or refused with the reason."""
    pi_reweighted: tuple[str, ...] = field(default=())

    @property
    def year(self) -> int:
        return self.entity.year

    @property
    def path(self) -> str:
        return self.election.entity_path + "/reporting"

    @property
    def upload_path(self) -> str:
        return self.path + "/upload"

    @property
    def may_view(self) -> bool:
        return self.view_refused is None

    @property
    def may_submit(self) -> bool:
        return self.submit_refused is None and self.election_needed is None

    @property
    def max_upload_words(self) -> str:
        return f"{self.max_upload_bytes / 1048576:.0f} MB"

    @property
    def level_words(self) -> str:
        return "individual" if self.entity.npi else "group"


def _status_effects(
    election: ElectionPage, year: int
) -> tuple[tuple[StatusEffect, ...], tuple[str, ...], tuple[str, ...]]:
    """Each special status with its effects; the statuses reweighting PI; those doubling IA."""
    view = election.view
    if view is None or not view.special_statuses:
        return (), (), ()
    policy = policy_for(year)
    reweighted = set(policy.scoring.pi.reweighted_special_statuses)
    multiplier = policy.scoring.ia.special_status_multiplier
    out = []
    pi_zero = []
    doubled = []
    for status in view.special_statuses:
        effects = []
        if status.value in reweighted:
            pi_zero.append(status.display)
            effects.append(
                "Promoting Interoperability is reweighted to 0% (you don't have to report it); "
                "submitting any PI data overrides the reweighting and PI will be scored."
            )
        if status in IA_DOUBLING:
            doubled.append(status.display)
            effects.append(
                f"Improvement activities earn {multiplier}x the points per reported activity."
            )
        out.append(StatusEffect(status.display, tuple(effects)))
    return tuple(out), tuple(pi_zero), tuple(doubled)


def _set_view(
    session: Session, row: MeasurementSetRow, practice_name: str, measures: MeasuresYear | None
) -> SetView:
    core = store.set_from_row(row)
    lines = []
    for measurement in core.measurements:
        found = measures.measure(measurement.measure_id) if measures else None
        lines.append(
            MeasureLine(
                measurement.measure_id,
                found.title if found else None,
                describe_value(measurement.value),
            )
        )
    return SetView(
        id=row.id,
        category=core.category,
        submitter=submitter_label(session, row, practice_name),
        submitted_by_practice=row.submitter_type == "practice",
        method=core.submission_method.value,
        method_label=submission_type(core),
        program=core.program,
        source=core.source,
        performance_start=core.performance_start,
        performance_end=core.performance_end,
        cehrt_id=core.cehrt_id,
        updated_at=row.updated_at,
        version=row.version,
        measures=tuple(lines),
    )


def _categories(
    session: Session,
    *,
    entity: PageEntity,
    visible: store.Visible | None,
    practice_name: str,
    entity_path: str,
    pi_reweighted: tuple[str, ...],
    doubled: tuple[str, ...],
    may_submit: bool,
) -> tuple[CategoryView, ...]:
    measures = year_measures(entity.year)
    rows = list(visible.sets) if visible else []
    views = [_set_view(session, r, practice_name, measures) for r in rows]
    out = []
    for category in (Category.QUALITY, Category.PI, Category.IA, Category.COST):
        sets = tuple(v for v in views if v.category is category)
        note = None
        conflict = None
        several = None
        manual = None
        if category is Category.COST:
            note = (
                "Cost is calculated by CMS from Medicare claims: there is nothing to submit. "
                "Cost feedback is available after the submission period."
            )
        if category is Category.PI:
            pi_rows = [r for r in rows if r.category == Category.PI.value]
            if pi_reweighted:
                note = (
                    "Weighted at 0% because of your special status ("
                    + ", ".join(pi_reweighted)
                    + "). If you submit PI data you will be scored in this category."
                )
            if len(pi_rows) > 1:
                conflict = pi_conflicts(
                    [store.set_from_row(r) for r in pi_rows],
                    measures=measures,
                    labels=set_labels(session, pi_rows, practice_name),
                )
                if conflict is None:
                    several = (
                        f"PI data came from {len(pi_rows)} submission types; it agrees, so it is "
                        "combined. We recommend using a single submission type (file upload, "
                        "API, or attestation) for PI: conflicting data for a measure or required "
                        "attestation scores the category 0."
                    )
        if category is Category.IA and doubled:
            note = (
                "Because of your special status (" + ", ".join(doubled) + "), you earn double "
                "points per reported improvement activity."
            )
        if category in (Category.PI, Category.IA) and may_submit:
            manual = f"{entity_path}/reporting/{category.value}"
        out.append(
            CategoryView(
                category=category,
                heading=CATEGORY_HEADINGS[category],
                sets=sets,
                note=note,
                conflict=conflict,
                several_types=several,
                manual_entry_path=manual,
                has_manual_entry=any(s.is_attestation and s.submitted_by_practice for s in sets),
            )
        )
    return tuple(out)


def intermediary_key(
    session: Session, principal: Principal, entity: PageEntity, now: dt.datetime
) -> str | None:
    """The submitter key of a registry or QCDR looking at a client's page (it sees only its own
    sets and receipts); None for the practice's people and the operator."""
    if principal.kind == "operator":
        return None
    for action in (Action.VIEW_SUBMISSIONS, Action.SUBMIT_DATA):
        try:
            acting = store.acting_for(
                session,
                principal=principal,
                submission=entity.empty_submission(),
                action=action,
                now=now,
            )
        except AccessError:
            continue
        return acting.submitter.key if acting.submitter.kind == "organization" else None
    return None


def _receipts(
    session: Session, row: SubmissionRow, path: str, own_only: str | None
) -> tuple[ReceiptView, ...]:
    out = []
    for receipt in reversed(store.receipts(session, row.id)):
        if own_only is not None and receipt.submitter_key != own_only:
            continue
        out.append(
            ReceiptView(
                id=receipt.id,
                version=receipt.version,
                received_at=receipt.received_at,
                operation=receipt.operation,
                channel=receipt.channel,
                actor_name=receipt.actor_name,
                role=receipt.role,
                file_name=receipt.file_name,
                download_path=f"{path}/receipts/{receipt.id}",
            )
        )
    return tuple(out)


def reporting_overview(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    now: dt.datetime,
    max_upload_bytes: int,
    upload: UploadResult | None = None,
) -> Overview:
    """The Reporting Overview for a practice (``npi`` None) or one of its clinicians.

    Needs ``view_eligibility`` for the entity (AccessError otherwise, as the elections pages);
    submitted data is shown with ``view_submissions`` and the upload and manual entry with
    ``submit_data``; otherwise the page says why not."""
    election = election_page(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    entity = page_entity(election.year, str(election.entity.tin), election.entity.npi)
    statuses, pi_zero, doubled = _status_effects(election, entity.year)
    view_refused = _permitted(session, principal, Action.VIEW_SUBMISSIONS, entity, now)
    submit_refused = _permitted(session, principal, Action.SUBMIT_DATA, entity, now)
    needed = None
    options = None
    view = election.view
    if view is not None and view.may_elect:
        options = election.entity_path + ("/individual-options" if entity.npi else "/group-options")
        needed = (
            f"{election.name} is opt-in eligible for performance year {entity.year} and has not "
            "made an election, so no data can be accepted for it yet. Opt in or elect to report "
            "voluntarily first; once made, the election cannot be changed."
        )
    row = submission_row(session, entity)
    visible = None
    if row is not None and view_refused is None:
        try:
            visible = store.visible_sets(session, principal=principal, row=row, now=now)
        except DataRefused:
            visible = None
    categories = _categories(
        session,
        entity=entity,
        visible=visible,
        practice_name=election.practice.name,
        entity_path=election.entity_path,
        pi_reweighted=pi_zero,
        doubled=doubled,
        may_submit=submit_refused is None and needed is None,
    )
    path = election.entity_path + "/reporting"
    return Overview(
        election=election,
        entity=entity,
        special_statuses=statuses,
        view_refused=view_refused,
        submit_refused=submit_refused,
        election_needed=needed,
        options_path=options,
        submission_id=row.id if row is not None and visible is not None else None,
        last_updated=row.updated_at if row is not None and visible is not None else None,
        categories=categories,
        receipts=(
            _receipts(session, row, path, intermediary_key(session, principal, entity, now))
            if row is not None and visible is not None
            else ()
        ),
        max_upload_bytes=max_upload_bytes,
        upload=upload,
        preliminary_score=overview_score(
            session, principal=principal, year=entity.year, tin=entity.tin, npi=entity.npi, now=now
        ),
        pi_reweighted=pi_zero,
    )


# ---------------------------------------------------------------- receipts


def receipt_download(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    receipt_id: str,
    now: dt.datetime,
) -> tuple[str, str]:
    """(file name, JSON text) of one receipt of the entity's submission the caller may see.
    Raises NotFound (same words whether it does not exist or is someone else's)."""
    entity = page_entity(year, tin, npi)
    row = submission_row(session, entity)
    receipt = session.get(SubmissionReceipt, receipt_id)
    if row is None or receipt is None or receipt.submission_id != row.id:
        raise store.not_found("receipt", receipt_id)
    try:
        store.visible_sets(session, principal=principal, row=row, now=now)
    except NotFound:  # the same words as for a receipt that does not exist
        raise store.not_found("receipt", receipt_id) from None
    own_only = intermediary_key(session, principal, entity, now)
    if own_only is not None and receipt.submitter_key != own_only:
        raise store.not_found("receipt", receipt_id)
    document = store.receipt_document(receipt)
    if own_only is not None:
        # The stored version holds every submitter's sets; an intermediary sees its own only.
        document.pop("submission", None)
    name = f"receipt-{entity.key.replace('/', '-')}-{entity.year}-v{receipt.version}.json"
    return name, json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- upload


def _fix(finding: Finding) -> str:
    location = finding.location
    if finding.code.startswith("CT"):
        where = (
            f" at line {location.line}" + (f", column {location.column}" if location.column else "")
            if location.line is not None
            else ""
        )
        number = finding.code[2:].lstrip("0") or "0"
        return (
            f"Correct the QRDA III file{where} as the message says (CMS conversion error "
            f"{number}; the year's QRDA III implementation guide describes the element) and "
            "upload it again."
        )
    where = location.path or location.xpath or "the file"
    return f"Correct {where} as the message says and upload the file again."


def _where(finding: Finding) -> str:
    location = finding.location
    parts = []
    if location.line is not None:
        parts.append(
            f"line {location.line}" + (f", column {location.column}" if location.column else "")
        )
    if location.path:
        parts.append(location.path)
    return ", ".join(parts) or (location.xpath or "")


def report_line(finding: Finding) -> ReportLine:
    location = finding.location
    return ReportLine(
        code=finding.code,
        severity=finding.severity,
        message=finding.message,
        fix=_fix(finding),
        where=_where(finding),
        location={
            k: v
            for k, v in (
                ("path", location.path),
                ("line", location.line),
                ("column", location.column),
                ("xpath", location.xpath),
            )
            if v is not None
        },
        measure_id=finding.measure_id,
    )


def error_line(exc: OpenQppError) -> ReportLine:
    location: dict[str, object] = {}
    if exc.location is not None:
        location = {
            k: v
            for k, v in (("path", exc.location.path), ("line", exc.location.line))
            if v is not None
        }
    return ReportLine(
        code=exc.code,
        severity="error",
        message=exc.message,
        fix=exc.fix,
        where=str(location.get("path", "")),
        location=location,
    )


def _holds(submission: Submission | None) -> dict[str, object] | None:
    if submission is None:
        return None
    return {
        "performanceYear": submission.performance_year,
        "entityType": submission.entity_type.value,
        "taxpayerIdentificationNumber": submission.tin,
        "nationalProviderIdentifier": submission.npi,
        "entityId": submission.entity_id,
    }


def _refused(
    *,
    entity: PageEntity,
    name: str,
    data: bytes,
    kind: str | None,
    errors: Sequence[ReportLine],
    warnings: Sequence[ReportLine] = (),
    submission: Submission | None = None,
    converter: dict[str, object] | None = None,
) -> UploadResult:
    message = (
        f"{name} was not accepted: {len(errors)} error(s). Nothing was stored. Download the "
        "error report, correct the file and upload it again."
    )
    report: dict[str, Any] = {
        "outcome": "refused",
        "stored": False,
        "message": message,
        "file": {
            "name": name,
            "kind": kind,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "page": {
            "performanceYear": entity.year,
            "entityType": entity.entity_type.value,
            "taxpayerIdentificationNumber": entity.tin,
            "nationalProviderIdentifier": entity.npi,
        },
        "fileHolds": _holds(submission),
        "errors": [e.as_json() for e in errors],
        "warnings": [w.as_json() for w in warnings],
    }
    if converter is not None:
        report["converter"] = converter
    return UploadResult(
        ok=False,
        file_name=name,
        kind=kind,
        message=message,
        errors=tuple(errors),
        warnings=tuple(warnings),
        report=report,
    )


def _converter_report(checked: FileValidation) -> dict[str, object] | None:
    """For a QRDA III file CMS's converter refused: its own error JSON (``errors[].details``)."""
    if checked.kind != "qrda3" or not any(f.code.startswith("CT") for f in checked.errors):
        return None
    conversion = checked.conversion
    return None if conversion is None or conversion.ok else conversion.error_report()


def safe_file_name(name: str | None) -> str:
    """The uploaded file's own name (no directories), or ``upload``."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:200] or "upload"


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An uploaded file read and validated for the page's entity."""

    submission: Submission | None
    kind: str | None
    warnings: tuple[ReportLine, ...] = ()
    refused: UploadResult | None = None


def _error(message: str, fix: str, code: str) -> ReportLine:
    return error_line(OpenQppError(message, fix=fix, code=code))


def check_file(*, entity: PageEntity, name: str, data: bytes, max_bytes: int) -> CheckedFile:
    """Read and validate an uploaded file for the page's entity (nothing is stored)."""
    if len(data) > max_bytes:
        line = error_line(too_large(max_bytes, len(data)))
        return CheckedFile(
            None,
            None,
            refused=_refused(entity=entity, name=name, data=b"", kind=None, errors=[line]),
        )
    if not data.strip():
        line = _error(
            f"{name} is empty.",
            "Choose the QRDA III (.xml) or QPP JSON (.json) file your EHR or registry exported "
            "and upload it again.",
            "OQ-SUB-201",
        )
        return CheckedFile(
            None,
            None,
            refused=_refused(entity=entity, name=name, data=data, kind=None, errors=[line]),
        )
    checked = validate_bytes(name, data)
    submission = checked.submission
    errors: list[ReportLine] = []
    if submission is not None:
        try:
            check_entity_matches(
                submission,
                entity_type=entity.entity_type,
                tin=entity.tin,
                npi=entity.npi,
                file=name,
            )
        except DataRefused as exc:
            errors.append(error_line(exc))
        if submission.performance_year != entity.year:
            errors.append(
                _error(
                    f"This file holds performance year {submission.performance_year} data, but "
                    f"this page reports for {entity.year}.",
                    f"Upload it on the {submission.performance_year} Reporting Overview, or "
                    "export the file again for this year.",
                    "OQ-SUB-204",
                )
            )
        if not submission.measurement_sets:
            errors.append(
                _error(
                    f"{name} holds no measurement sets.",
                    "Export a file with at least one category's data and upload it again.",
                    "OQ-SUB-205",
                )
            )
        for index, measurement_set in enumerate(submission.measurement_sets):
            if measurement_set.submission_method not in FILE_METHODS:
                errors.append(
                    _error(
                        f"measurementSets[{index}] has submissionMethod "
                        f"{measurement_set.submission_method.value!r}; a file upload takes "
                        "registry or electronicHealthRecord data only.",
                        "Send the set with submissionMethod registry (QPP JSON) or "
                        "electronicHealthRecord (QRDA III), or enter PI and IA data with the "
                        "manual entry pages.",
                        "OQ-SUB-203",
                    )
                )
    errors += [report_line(f) for f in checked.errors]
    warnings = tuple(report_line(f) for f in checked.findings if not f.is_error)
    if errors or submission is None:
        refused = _refused(
            entity=entity,
            name=name,
            data=data,
            kind=checked.kind,
            errors=errors,
            warnings=warnings,
            submission=submission,
            converter=_converter_report(checked),
        )
        return CheckedFile(submission, checked.kind, warnings, refused)
    return CheckedFile(submission, checked.kind, warnings)


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    page: Overview
    status_code: int


def upload(
    session: Session,
    *,
    principal: Principal,
    year: int,
    tin: str,
    npi: str | None = None,
    file_name: str | None,
    data: bytes,
    context: audit.RequestContext,
    now: dt.datetime,
    max_bytes: int,
) -> UploadOutcome:
    """Upload a QRDA III or QPP JSON file on the entity's Reporting Overview.

    The page comes back with the success or error indicator; on any error nothing is stored
    and the page carries the error report. Refusals of the page itself (no access, a malformed
    TIN) raise as the overview does, and so does a caller who may not submit data for it."""
    election_page(session, principal=principal, year=year, tin=tin, npi=npi, now=now)
    entity = page_entity(year, tin, npi)
    # Someone who may not submit for the entity is refused (403) before the file is read.
    store.acting_for(session, principal=principal, submission=entity.empty_submission(), now=now)
    name = safe_file_name(file_name)
    checked = check_file(entity=entity, name=name, data=data, max_bytes=max_bytes)
    result = checked.refused
    submission = checked.submission
    if result is None and submission is not None and checked.kind is not None:
        # accept refuses (validation, permission, the election gate) before it writes anything
        try:
            accepted = store.accept(
                session,
                principal=principal,
                submission=submission,
                context=context,
                channel="web",
                mode=Mode.MERGE,
                file=store.ReceivedFile.of(name, checked.kind, data),
                validated=True,
                now=now,
            )
        except (DataRefused, AccessError) as exc:
            result = _refused(
                entity=entity,
                name=name,
                data=data,
                kind=checked.kind,
                errors=[error_line(exc)],
                warnings=checked.warnings,
                submission=submission,
            )
        else:
            categories = tuple(
                dict.fromkeys(CATEGORY_HEADINGS[s.category] for s in submission.measurement_sets)
            )
            result = UploadResult(
                ok=True,
                file_name=name,
                kind=checked.kind,
                message=(
                    f"{name} was uploaded successfully: {', '.join(categories)} data received "
                    f"for {entity.describe()} (submission {accepted.submission_id}, version "
                    f"{accepted.version})."
                ),
                warnings=checked.warnings,
                receipt_id=accepted.receipt_id,
                version=accepted.version,
                categories=categories,
            )
    page = reporting_overview(
        session,
        principal=principal,
        year=year,
        tin=tin,
        npi=npi,
        now=now,
        max_upload_bytes=max_bytes,
        upload=result,
    )
    return UploadOutcome(page, 200 if result is not None and result.ok else 422)
