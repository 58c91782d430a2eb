"""The registry file upload with per-participant elections (2019 election guide, "Registry
Election Process", Steps 3-8; 2022 election guide, Steps 2-6; 2019 data submission guide, file
upload, error reports and troubleshooting).

A registry user uploads up to 50 QRDA III or QPP JSON files at once (:func:`stage_upload`).
Each file is read and validated as every path does (``submissions_convert.validate_bytes``);
a file with errors gets an error report (CMS's converter shape for QRDA III, our findings for
QPP JSON) and is never stored. The files that could be read are held in ``upload_files`` while
the upload is pending, not in the submissions.

The participants found in the files (groups by TIN, clinicians by TIN/NPI) are listed with
their standing in the year's newest determination run (:func:`upload_view`). Every opt-in
eligible participant without an election needs a choice: No Decision, Report Voluntarily or
Opt-In. :func:`confirm_upload` then records the elections (typed CONFIRM), stores the data of
everyone else (those already eligible as is) through ``store.accept`` and erases the held data
of those with No Decision, all in the caller's transaction: all or nothing.
:func:`cancel_upload` drops the whole upload, including the data of eligible participants.

:func:`submission_details` is the Registry Submission Details page: per TIN, what the registry
submitted for its clients in the year, their participation status and upload date, with
search, a date filter, a CSV download (:func:`submission_details_csv`) and a print receipt.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, Action, OrganisationType
from openqpp.core.common import PerformanceYear
from openqpp.core.elections import (
    Channel,
    ElectionKind,
    ElectionRequest,
    Entity,
    ExistingElection,
    Pathway,
)
from openqpp.core.elections import texts as election_texts
from openqpp.core.elections.rules import check_confirmation
from openqpp.core.eligibility import Level, Status
from openqpp.core.errors import Finding, Location, OpenQppError
from openqpp.core.submissions import Submission
from openqpp.core.submissions.acceptance import DataRefused, Mode, NotFound
from openqpp.core.submissions.model import EntityType
from openqpp.db.models import (
    DeterminationRun,
    Election,
    EligibilityResultRow,
    MeasurementSetRow,
    RunClinician,
    SubmissionReceipt,
    SubmissionRow,
    Upload,
    UploadFile,
)
from openqpp.intake.qrda3.convert import MAX_REPORTED_ERRORS
from openqpp.intake.qrda3.problems import message as converter_message
from openqpp.services import audit, mail
from openqpp.services.access import organisations
from openqpp.services.access.authorize import authorize
from openqpp.services.access.principals import Principal
from openqpp.services.elections import records
from openqpp.services.elections.common import (
    begin_writes,
    election_facts,
    eligibility_of,
    existing_for,
    run_for,
)
from openqpp.services.elections.pages import Deadline, deadline
from openqpp.services.eligibility_lookup import years_with_runs
from openqpp.services.submissions import store
from openqpp.services.submissions_convert import (
    FileValidation,
    validate_bytes,
)

MAX_FILES: Final = 50
"""2019 election guide, Step 4 "Upload Data": "A maximum of 50 files can be processed in a
single upload request." """
CHANNEL: Final = "registry_upload"
PENDING: Final = "pending"
CONFIRMED: Final = "confirmed"
CANCELLED: Final = "cancelled"
STORED: Final = "stored"
DROPPED: Final = "dropped_no_decision"
REJECTED: Final = "rejected"
MAX_SHOWN_ROWS: Final = 500
EASTERN: Final = ZoneInfo("America/New_York")
CHOICE_PREFIX: Final = "choice-"


# ---------------------------------------------------------------- refusals


class UploadRefused(DataRefused):
    """The upload as a whole is refused (nothing is stored)."""

    http_status = 422
    code = "OQ-UPLOAD-001"


class FileTooLarge(UploadRefused):
    http_status = 413
    code = "OQ-UPLOAD-002"


class UploadClosed(DataRefused):
    """The upload was already confirmed or cancelled."""

    http_status = 409
    code = "OQ-UPLOAD-003"

    def __init__(self, message: str, *, fix: str, status: str) -> None:
        super().__init__(message, fix=fix)
        self.status = status


class ChoicesIncomplete(DataRefused):
    """An opt-in eligible participant has no choice yet; ``missing`` names them."""

    http_status = 422
    code = "OQ-UPLOAD-004"

    def __init__(self, missing: Sequence[Participant]) -> None:
        self.missing = tuple(missing)
        names = ", ".join(p.describe for p in self.missing[:5])
        more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
        super().__init__(
            f"Choose No Decision, Report Voluntarily or Opt-In for every opt-in eligible "
            f"participant: {names}{more} {'has' if len(self.missing) == 1 else 'have'} no "
            "choice yet.",
            fix="Select one option in each row of the participant table, then Submit Elections.",
        )


class ParticipantNotChoosable(DataRefused):
    http_status = 422
    code = "OQ-UPLOAD-005"


class UploadNotFound(NotFound):
    """No such upload (or file) for this registry: the same words either way."""

    http_status = 404


def not_found(what: str, identifier: str) -> UploadNotFound:
    found = store.not_found(what, identifier)
    return UploadNotFound(found.message, fix=found.fix)


#: Codes of the findings the upload itself adds to a file's report.
OTHER_YEAR = "OQ-UPLOAD-010"


# ---------------------------------------------------------------- views


def registry_path(vendor_id: str) -> str:
    return f"/organisations/registry/{vendor_id}"


@dataclass(frozen=True, slots=True)
class RegistryInfo:
    id: int
    vendor_id: str
    name: str
    kind_label: str
    role: str | None

    @property
    def path(self) -> str:
        return registry_path(self.vendor_id)

    @property
    def details_base(self) -> str:
        return self.path + "/submission-details"

    def details_path(self, year: int) -> str:
        return f"{self.details_base}?year={year}"

    def new_upload_path(self, year: int) -> str:
        return f"{self.path}/uploads?year={year}"


@dataclass(frozen=True, slots=True)
class FileView:
    """One file of an upload as the page shows it: success or error, and its report."""

    position: int
    name: str
    kind: str
    size: int
    sha256: str
    ok: bool
    errors: int
    warnings: int
    participant: str | None
    """``TIN 123456789 / NPI 1234567893`` when the file could be read."""
    outcome: str | None
    report_path: str

    @property
    def kind_label(self) -> str:
        return "QRDA III" if self.kind == "qrda3" else "QPP JSON"

    @property
    def outcome_label(self) -> str:
        return {
            STORED: "Uploaded",
            DROPPED: "Not uploaded (No Decision)",
            CANCELLED: "Not uploaded (upload cancelled)",
            REJECTED: "Not uploaded (errors)",
        }.get(self.outcome or "", "Waiting for your selections" if self.ok else "")


@dataclass(frozen=True, slots=True)
class Participant:
    """A group (TIN) or clinician (TIN/NPI) whose data is in the upload."""

    entity_type: str
    key: str
    """The elections' entity key: ``TIN/NPI``, ``TIN`` or the entity id."""
    tin: str | None
    npi: str | None
    name: str
    status: Status | None
    election: ExistingElection | None
    files: tuple[str, ...]
    choice: ElectionKind | None = None
    run_number: int | None = None

    @property
    def entity(self) -> Entity | None:
        if self.entity_type == EntityType.INDIVIDUAL.value:
            return Entity.individual(str(self.tin), str(self.npi))
        if self.entity_type == EntityType.GROUP.value:
            return Entity.group(str(self.tin))
        return None

    @property
    def needs_choice(self) -> bool:
        """Opt-in eligible without an election: No Decision, Report Voluntarily or Opt-In."""
        return (
            self.entity is not None
            and self.status is Status.OPT_IN_ELIGIBLE
            and self.election is None
        )

    @property
    def describe(self) -> str:
        """As the guide's participant table: ``TIN 123456789 NPI 1234567893``."""
        if self.npi:
            return f"TIN {self.tin} NPI {self.npi}"
        if self.tin and self.entity_type == EntityType.GROUP.value:
            return f"TIN {self.tin}"
        return f"{self.entity_type} {self.key}"

    @property
    def level_label(self) -> str:
        return {
            EntityType.INDIVIDUAL.value: "Individual",
            EntityType.GROUP.value: "Group",
        }.get(self.entity_type, self.entity_type)

    @property
    def field(self) -> str:
        """The form field of its choice: ``choice-123456789-1234567893``."""
        return CHOICE_PREFIX + self.key.replace("/", "-")

    @property
    def display(self) -> str:
        if self.status is None:
            return "No eligibility result"
        return election_texts.participation_display(self.status, self.election)

    @property
    def status_class(self) -> str:
        if self.election is not None:
            return "opted_in" if self.election.is_opted_in else "voluntary"
        return self.status.value if self.status else "exempt"


@dataclass(frozen=True, slots=True)
class ChoiceCount:
    kind: ElectionKind
    label: str
    count: int
    text: str


@dataclass(frozen=True, slots=True)
class UploadView:
    """An upload: its files, its participants and the choices made so far."""

    registry: RegistryInfo
    id: str
    year: int
    status: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    actor_name: str
    files: tuple[FileView, ...]
    choosing: tuple[Participant, ...]
    """Opt-in eligible participants without an election: they need a choice."""
    others: tuple[Participant, ...]
    """Everyone else: eligible, already elected, exempt or without a result (stored as is)."""
    counts: tuple[ChoiceCount, ...]
    unchosen: int
    run_number: int | None
    deadline: Deadline
    summary: Mapping[str, Any] = field(default_factory=dict)
    errors: tuple[dict[str, str], ...] = ()
    error_code: str | None = None
    typed: str = ""
    intro: str = election_texts.UPLOAD_PARTICIPANTS_INTRO
    change_your_mind: str = election_texts.UPLOAD_CHANGE_YOUR_MIND
    are_you_sure: str = election_texts.UPLOAD_ARE_YOU_SURE
    confirm_button: str = election_texts.UPLOAD_CONFIRM_BUTTON
    change_selections: str = election_texts.UPLOAD_CHANGE_SELECTIONS
    confirmed_heading: str = election_texts.UPLOAD_CONFIRMED_HEADING

    @property
    def path(self) -> str:
        return f"{self.registry.path}/uploads/{self.id}"

    @property
    def counts_path(self) -> str:
        return self.path + "/counts"

    @property
    def confirm_path(self) -> str:
        return self.path + "/confirm"

    @property
    def confirmed_path(self) -> str:
        return self.path + "/confirmed"

    @property
    def cancel_path(self) -> str:
        return self.path + "/cancel"

    @property
    def details_path(self) -> str:
        return self.registry.details_path(self.year)

    @property
    def new_upload_path(self) -> str:
        return self.registry.new_upload_path(self.year)

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    @property
    def stored_files(self) -> int:
        return sum(1 for f in self.files if f.outcome == STORED)

    @property
    def ok_files(self) -> int:
        return sum(1 for f in self.files if f.ok)

    @property
    def rejected_files(self) -> int:
        return sum(1 for f in self.files if not f.ok)

    @property
    def can_submit(self) -> bool:
        """Whether there is anything to decide or store."""
        return self.pending and self.ok_files > 0

    @property
    def elections(self) -> int:
        return sum(c.count for c in self.counts if c.kind is not ElectionKind.NO_DECISION)

    @property
    def needs_confirm_word(self) -> bool:
        return self.elections > 0

    def chosen(self, participant: Participant, kind: ElectionKind) -> bool:
        return participant.choice is kind

    @property
    def choice_query(self) -> str:
        """The choices as a query string (for "Change my selections")."""
        return urlencode([(p.field, p.choice.value) for p in self.choosing if p.choice])

    @property
    def confirmed_text(self) -> str:
        s = self.summary
        return election_texts.upload_confirmed_text(
            self.year,
            opted_in=int(s.get("opt_in", 0)),
            voluntary=int(s.get("voluntary", 0)),
            dropped=int(s.get("no_decision", 0)),
        )


@dataclass(frozen=True, slots=True)
class NewUploadPage:
    registry: RegistryInfo
    year: int
    years: tuple[int, ...]
    deadline: Deadline
    max_files: int
    max_file_bytes: int
    recent: tuple[UploadSummary, ...] = ()
    errors: tuple[dict[str, str], ...] = ()
    error_code: str | None = None

    @property
    def post_path(self) -> str:
        return self.registry.path + "/uploads"

    @property
    def max_file_size(self) -> str:
        return _size(self.max_file_bytes)


@dataclass(frozen=True, slots=True)
class UploadSummary:
    id: str
    created_at: dt.datetime
    status: str
    actor_name: str
    files: int
    path: str

    @property
    def status_label(self) -> str:
        return {
            PENDING: "Waiting for participant selections",
            CONFIRMED: "Confirmed",
            CANCELLED: "Cancelled",
        }.get(self.status, self.status)


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MB"
    return f"{count / 1024:g} KB"


# ---------------------------------------------------------------- who acts


def registry_for(
    session: Session, *, principal: Principal, vendor_id: str
) -> tuple[RegistryInfo, Principal]:
    """The registry the principal acts for, and the principal with only its roles there (so
    elections and data are attributed to this registry). Raises AccessError (403)."""
    decision = authorize(
        session,
        principal=principal,
        action=Action.VIEW_CLIENT_AUTHORISATIONS,
        organisation_type=OrganisationType.REGISTRY,
        identifier=vendor_id,
    )
    org = decision.grant.organisation
    row = organisations.find(session, OrganisationType.REGISTRY, org.identifier)
    assert row is not None
    org_info = organisations.info(row)
    acting = replace(principal, grants=principal.grants_at(org.id))
    return (
        RegistryInfo(
            id=org.id,
            vendor_id=org.identifier,
            name=org_info.name,
            kind_label=org_info.kind_label,
            role=decision.grant.role.value,
        ),
        acting,
    )


def _on_behalf(registry: RegistryInfo) -> audit.OnBehalfOf:
    return audit.OnBehalfOf("registry", registry.vendor_id, organisation_id=registry.id)


def _year(session: Session, raw: int | None, now: dt.datetime) -> int:
    if raw is not None:
        return int(PerformanceYear(raw))
    return records.default_year(session, now)


# ---------------------------------------------------------------- staging


def _file_name(raw: str, position: int) -> str:
    """The file's own name (no folders), printable, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(c for c in name if c.isprintable()).strip()
    return (name or f"file-{position + 1}")[:255]


def _finding_dict(finding: Finding, detail: dict[str, object] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = finding.as_dict()
    if detail is not None:
        out["converter"] = detail
    return out


def _converter_details(result: FileValidation, count: int) -> list[dict[str, object] | None]:
    """The converter's own detail for each of the first ``count`` findings of a QRDA III file
    (its error number, its location words), as ``openqpp submissions convert`` writes them."""
    if result.conversion is None:
        return [None] * count
    details: list[dict[str, object] | None] = [p.as_detail() for p in result.conversion.problems]
    return (details + [None] * count)[:count]


def _report(result: FileValidation) -> list[dict[str, Any]]:
    findings = list(result.findings)
    details: list[dict[str, object] | None] = [None] * len(findings)
    if result.kind == "qrda3" and result.errors:
        details = _converter_details(result, len(findings))
    return [_finding_dict(f, d) for f, d in zip(findings, details, strict=True)]


def _extra_finding(code: str, message: str, name: str) -> dict[str, Any]:
    return _finding_dict(Finding(code=code, message=message, location=Location(file=name)))


def _check_files(files: Sequence[tuple[str, bytes]], max_file_bytes: int | None) -> None:
    if not files:
        raise UploadRefused(
            "No file was chosen, so nothing was uploaded.",
            fix="Choose one or more QPP JSON or QRDA III (XML) files, then select Upload.",
        )
    if len(files) > MAX_FILES:
        raise UploadRefused(
            f"{len(files)} files were chosen; a maximum of {MAX_FILES} files can be processed "
            "in a single upload request, so nothing was uploaded.",
            fix=f"Upload the files in batches of at most {MAX_FILES}.",
        )
    if max_file_bytes is not None:
        large = [name for name, data in files if len(data) > max_file_bytes]
        if large:
            names = ", ".join(_file_name(n, 0) for n in large[:5])
            raise FileTooLarge(
                f"{len(large)} file{'s are' if len(large) != 1 else ' is'} larger than the "
                f"limit of {_size(max_file_bytes)} per file ({names}), so nothing was uploaded.",
                fix="Send one entity's submission per file, split large files, or ask the "
                "operator to raise OPENQPP_UPLOAD_MAX_FILE_BYTES.",
            )


def stage_upload(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    files: Sequence[tuple[str, bytes]],
    now: dt.datetime,
    context: audit.RequestContext,
    year: int | None = None,
    max_file_bytes: int | None = None,
) -> UploadView:
    """Read and validate each file and hold the readable ones until the participants' choices.

    Refuses the whole upload (UploadRefused, FileTooLarge; nothing written) for no files, more
    than 50, or a file over ``max_file_bytes``; NoDeterminationRun when the year has none.
    A file with errors (or for another year, or for an entity the registry may not submit for)
    is kept only as its error report."""
    registry, acting = registry_for(session, principal=principal, vendor_id=vendor_id)
    _check_files(files, max_file_bytes)
    chosen_year = _year(session, year, now)
    run_for(session, chosen_year)
    begin_writes(session)
    upload = Upload(
        organisation_id=registry.id,
        performance_year=chosen_year,
        status=PENDING,
        actor=principal.actor[:100],
        actor_name=principal.name[:200],
        created_at=now,
    )
    for position, (raw_name, data) in enumerate(files):
        upload.files.append(
            _staged_file(session, acting, position, raw_name, data, chosen_year, now)
        )
    session.add(upload)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=registry.role,
        on_behalf_of=_on_behalf(registry),
        action="upload.staged",
        object_type="upload",
        object_id=upload.id,
        after={
            "performance_year": chosen_year,
            "files": [
                {"name": f.file_name, "sha256": f.file_sha256, "ok": f.ok, "entity": f.entity_key}
                for f in upload.files
            ],
        },
        acting_organisation_id=registry.id,
        at=now,
    )
    return _view(session, registry, upload, now=now)


def _staged_file(
    session: Session,
    acting: Principal,
    position: int,
    raw_name: str,
    data: bytes,
    year: int,
    now: dt.datetime,
) -> UploadFile:
    name = _file_name(raw_name, position)
    result = validate_bytes(name, data)
    report = _report(result)
    submission = result.submission if result.ok else None
    if submission is not None and submission.performance_year != year:
        report.append(
            _extra_finding(
                OTHER_YEAR,
                f"This file is for performance year {submission.performance_year}, but this "
                f"upload is for {year}. Upload it with performance year "
                f"{submission.performance_year} chosen.",
                name,
            )
        )
        submission = None
    if submission is not None:
        try:
            store.acting_for(session, principal=acting, submission=submission, now=now)
        except AccessError as exc:
            report.append(_extra_finding(exc.code, f"{exc.message} {exc.fix}", name))
            submission = None
    ok = submission is not None
    read = result.submission
    return UploadFile(
        position=position,
        file_name=name,
        file_kind=result.kind,
        file_sha256=store.sha256(data),
        file_size=len(data),
        ok=ok,
        entity_type=read.entity_type.value if read else None,
        entity_key=store.entity_key(read)[:40] if read else None,
        tin=(read.tin or None) if read else None,
        npi=(read.npi or None) if read and read.entity_type is EntityType.INDIVIDUAL else None,
        performance_year=read.performance_year if read else None,
        submission_json=store.canonical_json(submission.to_qpp_json()) if submission else None,
        report=report,
        outcome=None if ok else REJECTED,
    )


# ---------------------------------------------------------------- reading an upload


def _load(
    session: Session, registry: RegistryInfo, upload_id: str, *, lock: bool = False
) -> Upload:
    query = select(Upload).where(Upload.id == str(upload_id)[:36])
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None or row.organisation_id != registry.id:
        raise not_found("upload", str(upload_id)[:36])
    return row


def _names(session: Session, run: DeterminationRun | None, npis: set[str]) -> dict[str, str]:
    if run is None or not npis:
        return {}
    rows = session.execute(
        select(RunClinician.npi, RunClinician.first_name, RunClinician.last_name).where(
            RunClinician.run_id == run.id, RunClinician.npi.in_(sorted(npis))
        )
    ).all()
    return {npi: " ".join(p for p in (first, last) if p) for npi, first, last in rows}


def _participants(
    session: Session,
    upload: Upload,
    run: DeterminationRun | None,
    choices: Mapping[str, ElectionKind | None] | None = None,
) -> list[Participant]:
    grouped: dict[tuple[str, str], list[UploadFile]] = {}
    for f in upload.files:
        if f.ok and f.entity_type and f.entity_key:
            grouped.setdefault((f.entity_type, f.entity_key), []).append(f)
    names = _names(session, run, {f.npi for fs in grouped.values() for f in fs if f.npi})
    year = int(upload.performance_year or 0)
    out = []
    for (entity_type, key), held in grouped.items():
        first = held[0]
        probe = Participant(entity_type, key, first.tin, first.npi, "", None, None, ())
        entity = probe.entity
        status = None
        existing = None
        if entity is not None:
            existing = existing_for(session, year, entity)
            if run is not None:
                status = eligibility_of(session, run, entity).status
        if first.npi:
            name = names.get(first.npi) or f"NPI {first.npi}"
        elif first.tin:
            practice = organisations.practice_by_tin(session, first.tin)
            name = practice.name if practice else f"TIN {first.tin}"
        else:
            name = key
        choice = (choices or {}).get(key)
        out.append(
            replace(
                probe,
                name=name,
                status=status,
                election=existing,
                files=tuple(f.file_name for f in held),
                choice=choice,
                run_number=run.run_number if run else None,
            )
        )
    return sorted(out, key=lambda p: (p.tin or "", p.npi or "", p.key))


def _counts(year: int, choosing: Sequence[Participant]) -> tuple[tuple[ChoiceCount, ...], int]:
    counts = tuple(
        ChoiceCount(
            kind=kind,
            label=kind.label,
            count=sum(1 for p in choosing if p.choice is kind),
            text=election_texts.upload_choice_text(kind, year),
        )
        for kind in election_texts.UPLOAD_CHOICES
    )
    return counts, sum(1 for p in choosing if p.choice is None)


def _file_views(upload: Upload, base: str) -> tuple[FileView, ...]:
    views = []
    for f in upload.files:
        report = f.report or []
        errors = sum(1 for r in report if r.get("severity") == "error")
        participant = None
        if f.entity_type and f.entity_key:
            participant = Participant(
                f.entity_type, f.entity_key, f.tin, f.npi, "", None, None, ()
            ).describe
        views.append(
            FileView(
                position=f.position,
                name=f.file_name,
                kind=f.file_kind,
                size=f.file_size,
                sha256=f.file_sha256,
                ok=f.ok,
                errors=errors,
                warnings=len(report) - errors,
                participant=participant,
                outcome=f.outcome,
                report_path=f"{base}/files/{f.position + 1}/report",
            )
        )
    return tuple(views)


def _view(
    session: Session,
    registry: RegistryInfo,
    upload: Upload,
    *,
    now: dt.datetime,
    choices: Mapping[str, ElectionKind | None] | None = None,
    errors: Sequence[dict[str, str]] = (),
    error_code: str | None = None,
    typed: str = "",
) -> UploadView:
    year = int(upload.performance_year or 0)
    try:
        run: DeterminationRun | None = run_for(session, year)
    except OpenQppError:
        run = None
    participants = _participants(session, upload, run, choices)
    if upload.status == PENDING:
        choosing = tuple(p for p in participants if p.needs_choice)
    else:
        decided = dict((upload.summary or {}).get("choices", {}))
        choosing = tuple(
            replace(p, choice=ElectionKind(decided[p.key]))
            for p in participants
            if p.key in decided
        )
    chosen_keys = {p.key for p in choosing}
    others = tuple(p for p in participants if p.key not in chosen_keys)
    counts, unchosen = _counts(year, choosing)
    base = f"{registry.path}/uploads/{upload.id}"
    return UploadView(
        registry=registry,
        id=upload.id,
        year=year,
        status=upload.status,
        created_at=upload.created_at,
        decided_at=upload.decided_at,
        actor_name=upload.actor_name,
        files=_file_views(upload, base),
        choosing=choosing,
        others=others,
        counts=counts,
        unchosen=unchosen,
        run_number=run.run_number if run else None,
        deadline=deadline(year, now),
        summary=dict(upload.summary or {}),
        errors=tuple(errors),
        error_code=error_code,
        typed=typed[:100],
    )


def parse_choices(raw: Mapping[str, str]) -> dict[str, ElectionKind | None]:
    """Form fields ``choice-TIN[-NPI]`` -> {``TIN[/NPI]``: kind}; other fields are ignored,
    an unknown value counts as no choice."""
    out: dict[str, ElectionKind | None] = {}
    for name, value in raw.items():
        if not name.startswith(CHOICE_PREFIX):
            continue
        key = name[len(CHOICE_PREFIX) :].replace("-", "/")
        if not key or len(key) > 40:
            continue
        kind = ElectionKind.parse(value) if value else None
        if kind is not None:
            out[key] = kind
    return out


def upload_view(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    upload_id: str,
    now: dt.datetime,
    choices: Mapping[str, ElectionKind | None] | None = None,
) -> UploadView:
    """The upload's files and participants, with the choices made so far (from the form)."""
    registry, _ = registry_for(session, principal=principal, vendor_id=vendor_id)
    upload = _load(session, registry, upload_id)
    return _view(session, registry, upload, now=now, choices=choices)


@dataclass(frozen=True, slots=True)
class Review:
    """Submit Elections: the "Are you sure?" page when every participant has a choice, else
    the participant page again with what is missing."""

    page: UploadView
    complete: bool


def review_choices(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    upload_id: str,
    now: dt.datetime,
    choices: Mapping[str, ElectionKind | None],
) -> Review:
    page = upload_view(
        session,
        principal=principal,
        vendor_id=vendor_id,
        upload_id=upload_id,
        now=now,
        choices=choices,
    )
    if not page.pending:
        return Review(page, True)
    missing = [p for p in page.choosing if p.choice is None]
    if not missing:
        return Review(page, True)
    errors = tuple(
        {
            "field": f"{p.field}-{ElectionKind.NO_DECISION.value}",
            "message": f"Choose No Decision, Report Voluntarily or Opt-In for {p.describe} "
            f"({p.name}).",
        }
        for p in missing
    )
    return Review(replace(page, errors=errors, error_code=ChoicesIncomplete.code), False)


def error_report(
    session: Session, *, principal: Principal, vendor_id: str, upload_id: str, position: int
) -> tuple[str, dict[str, Any] | list[dict[str, Any]]]:
    """The downloadable report of one file (1-based position): for QRDA III the converter's
    error JSON (``errors[].sourceIdentifier``, ``details[].errorCode``, ``message``,
    ``location``), for QPP JSON every finding as ``openqpp submissions validate --json``
    prints it. Returns (file name, document)."""
    registry, _ = registry_for(session, principal=principal, vendor_id=vendor_id)
    upload = _load(session, registry, upload_id)
    found = next((f for f in upload.files if f.position == position - 1), None)
    if found is None:
        raise not_found("file", f"{upload_id}/{position}")
    stem = PurePosixPath(found.file_name).stem or "file"
    report = list(found.report or [])
    if found.file_kind == "qrda3":
        details = []
        for item in report:
            if item.get("severity") != "error":
                continue
            detail = item.get("converter")
            if detail is None:
                where = item.get("location") or {}
                detail = {
                    "code": item["code"],
                    "message": item["message"],
                    "location": {
                        k: v
                        for k, v in (
                            ("location", where.get("path")),
                            ("path", where.get("xpath", "")),
                            ("line", where.get("line")),
                            ("column", where.get("column")),
                        )
                        if v is not None
                    },
                }
            details.append(detail)
        if len(details) > MAX_REPORTED_ERRORS:
            total = len(details)
            details = details[:MAX_REPORTED_ERRORS]
            details.append(
                {
                    "errorCode": 82,
                    "message": converter_message(82, total),
                    "location": {"path": ""},
                }
            )
        document: dict[str, Any] | list[dict[str, Any]] = {
            "errors": [{"sourceIdentifier": found.file_name, "details": details}]
        }
        return f"{stem}-error.json", document
    document = [
        {
            "file": found.file_name,
            "kind": found.file_kind,
            "code": item["code"],
            "severity": item["severity"],
            "measureId": item.get("measureId"),
            "message": item["message"],
            "location": item.get("location") or {},
        }
        for item in report
    ]
    return f"{stem}-report.json", document


# ---------------------------------------------------------------- confirming


def _closed(upload: Upload) -> UploadClosed:
    if upload.status == CONFIRMED:
        return UploadClosed(
            "This upload's selections were already confirmed and its data uploaded.",
            fix="See Registry Submission Details; upload the files again to send more data.",
            status=upload.status,
        )
    return UploadClosed(
        "This upload was cancelled, so nothing in it can be submitted.",
        fix="Upload the files again.",
        status=upload.status,
    )


def confirm_upload(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    upload_id: str,
    decisions: Mapping[str, ElectionKind | None],
    typed: str | None,
    now: dt.datetime,
    context: audit.RequestContext,
    mailer: mail.SmtpMailer | None = None,
) -> UploadView:
    """Record the elections, store the data, drop the No Decision participants' data; all in
    the caller's transaction, so a refusal or crash (the caller rolls back) leaves nothing.

    ``decisions`` maps each opt-in eligible participant's key (``TIN/NPI`` or ``TIN``) to
    Opt-In, Report Voluntarily, or No Decision (``ElectionKind.NO_DECISION`` or None).
    Raises ChoicesIncomplete, ParticipantNotChoosable, ConfirmationRequired (CONFIRM not
    typed while an election is chosen), UploadClosed, or the refusal of an election or of the
    data (e.g. the window closed, the client's authorisation revoked)."""
    registry, acting = registry_for(session, principal=principal, vendor_id=vendor_id)
    begin_writes(session)
    upload = _load(session, registry, upload_id, lock=True)
    if upload.status != PENDING:
        raise _closed(upload)
    year = int(upload.performance_year or 0)
    run = run_for(session, year)
    participants = _participants(session, upload, run)
    choosing = [p for p in participants if p.needs_choice]
    needed = {p.key for p in choosing}
    for key in decisions:
        if key not in needed:
            known = next((p for p in participants if p.key == key), None)
            reason = (
                f"{known.describe} does not need an election now ({known.display})"
                if known is not None
                else f"{key} is not a participant of this upload"
            )
            raise ParticipantNotChoosable(
                f"{reason}, so a choice cannot be recorded for it.",
                fix="Go back to the participant table (Change my selections) and submit the "
                "elections again.",
            )
    missing = [p for p in choosing if p.key not in decisions]
    if missing:
        raise ChoicesIncomplete(missing)
    chosen = {p.key: decisions[p.key] or ElectionKind.NO_DECISION for p in choosing}
    electing = [p for p in choosing if chosen[p.key] is not ElectionKind.NO_DECISION]
    if electing:
        first = next((p for p in electing if chosen[p.key] is ElectionKind.OPT_IN), electing[0])
        check_confirmation(typed, chosen[first.key])
    entities = [p.entity for p in electing if p.entity is not None]
    assert len(entities) == len(electing), "a participant who needs a choice is an entity"
    facts = election_facts(session, run, year, entities)
    decided = [
        records.decide(
            session,
            principal=acting,
            request=ElectionRequest(
                entity, chosen[participant.key], typed or "", Pathway.TRADITIONAL_MIPS
            ),
            year=year,
            now=now,
            channel=Channel.REGISTRY_UPLOAD,
            run=run,
            facts=facts,
        )
        for participant, entity in zip(electing, entities, strict=True)
    ]
    try:
        recorded = records.record_elections(
            session, decided, principal=acting, channel=Channel.REGISTRY_UPLOAD, context=context
        )
    except records.RaceLost as lost:
        raise lost.error from None
    dropped = {p.key for p in choosing if chosen[p.key] is ElectionKind.NO_DECISION}
    stored: list[dict[str, Any]] = []
    for held in upload.files:
        if not held.ok:
            continue
        if held.entity_key in dropped:
            held.outcome = DROPPED
            held.submission_json = None
            continue
        submission = Submission.from_qpp_json(json.loads(held.submission_json or "{}"))
        accepted = store.accept(
            session,
            principal=acting,
            submission=submission,
            context=context,
            channel=CHANNEL,
            mode=Mode.MERGE,
            file=store.ReceivedFile(
                held.file_name, held.file_kind, held.file_sha256, held.file_size
            ),
            upload_id=upload.id,
            now=now,
            validated=True,
        )
        held.outcome = STORED
        held.receipt_id = accepted.receipt_id
        held.submission_json = None
        stored.append({"file": held.file_name, "receipt": accepted.receipt_id})
    records.notify_intermediary_elections(
        session, recorded, principal=acting, mailer=mailer, now=now
    )
    summary = {
        "opt_in": sum(1 for k in chosen.values() if k is ElectionKind.OPT_IN),
        "voluntary": sum(1 for k in chosen.values() if k is ElectionKind.VOLUNTARY),
        "no_decision": len(dropped),
        "choices": {key: kind.value for key, kind in chosen.items()},
        "elections": {row.entity_key: row.id for row, _ in recorded},
        "files": len(upload.files),
        "stored": len(stored),
        "rejected": sum(1 for f in upload.files if not f.ok),
        "dropped": sum(1 for f in upload.files if f.outcome == DROPPED),
    }
    upload.status = CONFIRMED
    upload.decided_at = now
    upload.summary = summary
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=registry.role,
        on_behalf_of=_on_behalf(registry),
        action="upload.confirmed",
        object_type="upload",
        object_id=upload.id,
        before={"status": PENDING},
        after={"status": CONFIRMED, **summary, "receipts": stored},
        acting_organisation_id=registry.id,
        at=now,
    )
    return _view(session, registry, upload, now=now)


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    """ "I'm Sure, Confirm Selections": where to go next, or the page again with the refusal
    (nothing recorded then)."""

    redirect_to: str | None = None
    page: UploadView | None = None
    status_code: int = 200


def confirm_from_page(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    upload_id: str,
    choices: Mapping[str, ElectionKind | None],
    typed: str,
    now: dt.datetime,
    context: audit.RequestContext,
    mailer: mail.SmtpMailer | None = None,
) -> ConfirmOutcome:
    """:func:`confirm_upload` inside a SAVEPOINT: a refusal at any step rolls back everything
    it wrote and comes back as the "Are you sure?" page with the error summary."""
    registry, _ = registry_for(session, principal=principal, vendor_id=vendor_id)
    begin_writes(session)
    try:
        with session.begin_nested():
            done = confirm_upload(
                session,
                principal=principal,
                vendor_id=vendor_id,
                upload_id=upload_id,
                decisions=choices,
                typed=typed,
                now=now,
                context=context,
                mailer=mailer,
            )
    except NotFound:
        raise
    except UploadClosed as exc:
        upload = _load(session, registry, upload_id)
        if exc.status == CONFIRMED:
            return ConfirmOutcome(
                redirect_to=_view(session, registry, upload, now=now).confirmed_path
            )
        raise
    except OpenQppError as exc:
        upload = _load(session, registry, upload_id)
        field_id = "confirm-text" if exc.code == "OQ-ELECT-008" else "error-summary"
        page = _view(
            session,
            registry,
            upload,
            now=now,
            choices=choices,
            errors=[{"field": field_id, "message": f"{exc.message} {exc.fix}".strip()}],
            error_code=getattr(exc, "access_code", None) or exc.code,
            typed=typed,
        )
        return ConfirmOutcome(page=page, status_code=getattr(exc, "http_status", 422))
    return ConfirmOutcome(redirect_to=done.confirmed_path)


def confirmed_view(
    session: Session, *, principal: Principal, vendor_id: str, upload_id: str, now: dt.datetime
) -> UploadView:
    """ "Participation Selections Confirmed"; NotFound until the upload is confirmed."""
    page = upload_view(
        session, principal=principal, vendor_id=vendor_id, upload_id=upload_id, now=now
    )
    if page.status != CONFIRMED:
        raise not_found("confirmed upload", upload_id)
    return page


# ---------------------------------------------------------------- cancelling


def cancel_upload(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    upload_id: str,
    now: dt.datetime,
    context: audit.RequestContext,
) -> UploadView:
    """ "Cancel File Upload": drop the whole upload, including the data of participants who are
    already eligible; the held data is erased (the error reports stay). Cancelling again
    changes nothing; a confirmed upload cannot be cancelled (UploadClosed)."""
    registry, _ = registry_for(session, principal=principal, vendor_id=vendor_id)
    begin_writes(session)
    upload = _load(session, registry, upload_id, lock=True)
    if upload.status == CANCELLED:
        return _view(session, registry, upload, now=now)
    if upload.status != PENDING:
        raise _closed(upload)
    for held in upload.files:
        if held.ok:
            held.outcome = CANCELLED
        held.submission_json = None
    upload.status = CANCELLED
    upload.decided_at = now
    upload.summary = {"files": len(upload.files), "stored": 0, "cancelled": True}
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=registry.role,
        on_behalf_of=_on_behalf(registry),
        action="upload.cancelled",
        object_type="upload",
        object_id=upload.id,
        before={"status": PENDING},
        after={"status": CANCELLED, "files": len(upload.files)},
        acting_organisation_id=registry.id,
        at=now,
    )
    return _view(session, registry, upload, now=now)


# ---------------------------------------------------------------- the upload form


def _recent(session: Session, registry: RegistryInfo, year: int) -> tuple[UploadSummary, ...]:
    rows = session.scalars(
        select(Upload)
        .where(Upload.organisation_id == registry.id, Upload.performance_year == year)
        .order_by(Upload.created_at.desc())
        .limit(20)
    ).all()
    return tuple(
        UploadSummary(
            id=r.id,
            created_at=r.created_at,
            status=r.status,
            actor_name=r.actor_name,
            files=len(r.files),
            path=f"{registry.path}/uploads/{r.id}",
        )
        for r in rows
    )


def new_upload_page(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    year: int | None,
    now: dt.datetime,
    max_file_bytes: int,
    errors: Sequence[dict[str, str]] = (),
    error_code: str | None = None,
) -> NewUploadPage:
    """ "Upload Data": the file chooser, the year, the limits."""
    registry, _ = registry_for(session, principal=principal, vendor_id=vendor_id)
    chosen = _year(session, year, now)
    return NewUploadPage(
        registry=registry,
        year=chosen,
        years=tuple(years_with_runs(session)),
        deadline=deadline(chosen, now),
        max_files=MAX_FILES,
        max_file_bytes=max_file_bytes,
        errors=tuple(errors),
        error_code=error_code,
    )


@dataclass(frozen=True, slots=True)
class StageOutcome:
    redirect_to: str | None = None
    page: NewUploadPage | None = None
    status_code: int = 200


def stage_from_page(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    files: Sequence[tuple[str, bytes]],
    year: int | None,
    now: dt.datetime,
    context: audit.RequestContext,
    max_file_bytes: int,
) -> StageOutcome:
    """The Upload button: the upload's participant page, or the form again with the refusal
    (nothing stored then)."""
    try:
        view = stage_upload(
            session,
            principal=principal,
            vendor_id=vendor_id,
            files=files,
            now=now,
            context=context,
            year=year,
            max_file_bytes=max_file_bytes,
        )
    except AccessError:
        raise
    except OpenQppError as exc:
        page = new_upload_page(
            session,
            principal=principal,
            vendor_id=vendor_id,
            year=year,
            now=now,
            max_file_bytes=max_file_bytes,
            errors=[{"field": "upload-files", "message": f"{exc.message} {exc.fix}".strip()}],
            error_code=exc.code,
        )
        return StageOutcome(page=page, status_code=getattr(exc, "http_status", 422))
    return StageOutcome(redirect_to=view.path)


# ---------------------------------------------------------------- Registry Submission Details


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    id: str
    version: int
    received_at: dt.datetime
    operation: str
    channel: str
    file_name: str | None
    file_sha256: str | None
    actor_name: str
    election_id: int | None


@dataclass(frozen=True, slots=True)
class DetailRow:
    """One participant (group or clinician) the registry submitted data for."""

    submission_id: str
    tin: str
    npi: str | None
    entity_type: str
    name: str
    status: Status | None
    election_kind: ElectionKind | None
    election_id: int | None
    categories: tuple[str, ...]
    uploaded_at: dt.datetime
    receipts: tuple[ReceiptLine, ...]

    @property
    def describe(self) -> str:
        return f"TIN {self.tin} NPI {self.npi}" if self.npi else f"TIN {self.tin}"

    @property
    def level_label(self) -> str:
        return "Individual" if self.npi else "Group"

    @property
    def display(self) -> str:
        """As the guide's row says it: ``MIPS ELIGIBLE VIA OPT-IN``."""
        if self.election_kind is ElectionKind.OPT_IN:
            return election_texts.OPTED_IN_DISPLAY.upper()
        if self.election_kind is ElectionKind.VOLUNTARY:
            return election_texts.VOLUNTARY_DISPLAY.upper()
        if self.status is None:
            return "NO ELIGIBILITY RESULT"
        return self.status.display.upper()

    @property
    def status_class(self) -> str:
        if self.election_kind is not None:
            return "opted_in" if self.election_kind is ElectionKind.OPT_IN else "voluntary"
        return self.status.value if self.status else "exempt"

    @property
    def upload_date(self) -> str:
        return _et_date(self.uploaded_at).strftime("%m/%d/%Y")

    @property
    def last_receipt(self) -> ReceiptLine | None:
        return self.receipts[-1] if self.receipts else None


@dataclass(frozen=True, slots=True)
class TinRows:
    tin: str
    practice: str
    rows: tuple[DetailRow, ...]


@dataclass(frozen=True, slots=True)
class SubmissionDetails:
    registry: RegistryInfo
    year: int
    years: tuple[int, ...]
    deadline: Deadline
    tins: tuple[TinRows, ...]
    total: int
    matching: int
    truncated: bool
    query: str
    date: str
    dates: tuple[tuple[str, str], ...]
    uploads: tuple[UploadSummary, ...]
    printed_at: dt.datetime

    @property
    def path(self) -> str:
        return self.registry.details_base

    def _query(self) -> str:
        return urlencode({"year": self.year, "q": self.query, "date": self.date})

    @property
    def csv_path(self) -> str:
        return f"{self.path}.csv?{self._query()}"

    @property
    def receipt_path(self) -> str:
        return f"{self.path}/receipt?{self._query()}"

    @property
    def new_upload_path(self) -> str:
        return self.registry.new_upload_path(self.year)

    @property
    def rows(self) -> tuple[DetailRow, ...]:
        return tuple(r for t in self.tins for r in t.rows)

    @property
    def pending_uploads(self) -> tuple[UploadSummary, ...]:
        return tuple(u for u in self.uploads if u.status == PENDING)


def _et_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(EASTERN).date()


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)] or [[]]


def _detail_rows(session: Session, registry: RegistryInfo, year: int) -> list[DetailRow]:
    submitter = f"organization:{registry.id}"
    pairs = session.execute(
        select(SubmissionRow, MeasurementSetRow.category)
        .join(MeasurementSetRow, MeasurementSetRow.submission_id == SubmissionRow.id)
        .where(
            SubmissionRow.performance_year == year,
            MeasurementSetRow.submitter_key == submitter,
        )
    ).all()
    submissions: dict[str, SubmissionRow] = {}
    categories: dict[str, set[str]] = {}
    for row, category in pairs:
        submissions[row.id] = row
        categories.setdefault(row.id, set()).add(category)
    if not submissions:
        return []
    ids = sorted(submissions)
    receipts: dict[str, list[ReceiptLine]] = {}
    for chunk in _chunks(ids):
        for r in session.scalars(
            select(SubmissionReceipt)
            .where(
                SubmissionReceipt.submission_id.in_(chunk),
                SubmissionReceipt.acting_organisation_id == registry.id,
            )
            .order_by(SubmissionReceipt.version)
        ):
            receipts.setdefault(r.submission_id, []).append(
                ReceiptLine(
                    id=r.id,
                    version=r.version,
                    received_at=r.received_at,
                    operation=r.operation,
                    channel=r.channel,
                    file_name=r.file_name,
                    file_sha256=r.file_sha256,
                    actor_name=r.actor_name,
                    election_id=r.election_id,
                )
            )
    try:
        run: DeterminationRun | None = run_for(session, year)
    except OpenQppError:
        run = None
    keys = sorted({s.entity_key for s in submissions.values()})
    statuses: dict[tuple[str, str], Status] = {}
    elections: dict[tuple[str, str], Election] = {}
    for chunk in _chunks(keys):
        if run is not None:
            for level, key, status in session.execute(
                select(
                    EligibilityResultRow.level,
                    EligibilityResultRow.entity_key,
                    EligibilityResultRow.status,
                ).where(
                    EligibilityResultRow.run_id == run.id,
                    EligibilityResultRow.entity_key.in_(chunk),
                )
            ):
                statuses[(level, key)] = Status(status)
        for made in session.scalars(
            select(Election).where(
                Election.performance_year == year, Election.entity_key.in_(chunk)
            )
        ):
            elections[(made.level, made.entity_key)] = made
    names = _names(session, run, {s.npi for s in submissions.values() if s.npi})
    practices: dict[str, str] = {}
    out = []
    for sid, row in submissions.items():
        level = Level.INDIVIDUAL.value if row.npi else Level.GROUP.value
        if row.entity_type not in (EntityType.INDIVIDUAL.value, EntityType.GROUP.value):
            level = row.entity_type
        tin = row.tin or ""
        if row.npi:
            name = names.get(row.npi) or f"NPI {row.npi}"
        else:
            if tin not in practices:
                practice = organisations.practice_by_tin(session, tin) if tin else None
                practices[tin] = practice.name if practice else f"TIN {tin}"
            name = practices[tin]
        election = elections.get((level, row.entity_key))
        lines = tuple(receipts.get(sid, ()))
        out.append(
            DetailRow(
                submission_id=sid,
                tin=tin,
                npi=row.npi,
                entity_type=row.entity_type,
                name=name,
                status=statuses.get((level, row.entity_key)),
                election_kind=ElectionKind(election.kind) if election else None,
                election_id=election.id if election else None,
                categories=tuple(sorted(categories.get(sid, ()))),
                uploaded_at=lines[-1].received_at if lines else row.updated_at,
                receipts=lines,
            )
        )
    return sorted(out, key=lambda r: (r.tin, r.npi or "", r.entity_type))


def _matches(row: DetailRow, query: str, date: str) -> bool:
    if date and _et_date(row.uploaded_at).isoformat() != date:
        return False
    if not query:
        return True
    needle = query.strip().lower()
    haystack = " ".join(
        (row.tin, row.npi or "", row.name, row.display, row.level_label, *row.categories)
    ).lower()
    return needle in haystack


def submission_details(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    year: int | None,
    now: dt.datetime,
    query: str = "",
    date: str = "",
    limit: int | None = MAX_SHOWN_ROWS,
) -> SubmissionDetails:
    """Registry Submission Details: per TIN, the registry's data for its clients in the year,
    with each participant's status ("MIPS ELIGIBLE VIA OPT-IN"), upload date and receipts."""
    registry, _ = registry_for(session, principal=principal, vendor_id=vendor_id)
    chosen = _year(session, year, now)
    query = (query or "").strip()[:100]
    date = (date or "").strip()[:10]
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        date = ""
    rows = _detail_rows(session, registry, chosen)
    days = sorted({_et_date(r.uploaded_at) for r in rows}, reverse=True)
    matching = [r for r in rows if _matches(r, query, date)]
    shown = matching if limit is None else matching[:limit]
    tins: dict[str, list[DetailRow]] = {}
    for row in shown:
        tins.setdefault(row.tin, []).append(row)
    groups = []
    for tin, members in tins.items():
        practice = organisations.practice_by_tin(session, tin) if tin else None
        groups.append(TinRows(tin, practice.name if practice else f"TIN {tin}", tuple(members)))
    return SubmissionDetails(
        registry=registry,
        year=chosen,
        years=tuple(years_with_runs(session)),
        deadline=deadline(chosen, now),
        tins=tuple(groups),
        total=len(rows),
        matching=len(matching),
        truncated=len(shown) < len(matching),
        query=query,
        date=date,
        dates=tuple((d.isoformat(), d.strftime("%m/%d/%Y")) for d in days),
        uploads=_recent(session, registry, chosen),
        printed_at=now,
    )


def submission_details_csv(
    session: Session,
    *,
    principal: Principal,
    vendor_id: str,
    year: int | None,
    now: dt.datetime,
    query: str = "",
    date: str = "",
) -> tuple[str, str]:
    """Every matching row as CSV: (file name, text)."""
    page = submission_details(
        session,
        principal=principal,
        vendor_id=vendor_id,
        year=year,
        now=now,
        query=query,
        date=date,
        limit=None,
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "TIN", "NPI", "Level", "Participant", "Status", "Categories", "Upload date (ET)",
            "Last receipt", "Version", "Election id",
        ]
    )  # fmt: skip
    for row in page.rows:
        last = row.last_receipt
        writer.writerow(
            [
                row.tin, row.npi or "", row.level_label, _csv_safe(row.name), row.display,
                " ".join(row.categories), row.upload_date, last.id if last else "",
                last.version if last else "", row.election_id or "",
            ]
        )  # fmt: skip
    name = f"registry-submission-details-{page.registry.vendor_id}-{page.year}.csv"
    return name, out.getvalue()


def _csv_safe(text: str) -> str:
    """No spreadsheet formulas from names (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
