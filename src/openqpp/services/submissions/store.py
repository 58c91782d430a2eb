"""Accept submitted data and keep every version; read it back as the caller may see it.

:func:`accept` is the one door every path uses (practice upload, registry upload, manual
attestation, the Submissions API): it validates, asks the permission matrix whether the caller
may submit data for the entity, refuses data for an opt-in eligible entity without an election,
finds or creates the entity's submission (one per performance year and entity, race safe),
applies the measurement sets in the caller's mode (create, replace, merge by measureId), and
appends a receipt (the whole submission after the change as canonical QPP JSON, the file's
hash, submitter, on-behalf-of, determination run) and an audit record, all in the caller's
transaction. Nothing is written when any step refuses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, Action, OrganisationType
from openqpp.core.elections import Entity
from openqpp.core.submissions import (
    Measurement,
    MeasurementSet,
    Submission,
    ValidationReport,
    validate_submission,
)
from openqpp.core.submissions.acceptance import (
    DuplicateMeasurementSet,
    Mode,
    NotFound,
    SubmissionInvalid,
    Submitter,
    check_data_allowed,
    merge_measurements,
    set_key,
)
from openqpp.core.submissions.model import Category, EntityType, SubmissionMethod
from openqpp.core.submissions.qpp_json import (
    measurement_set_to_json,
    submission_to_json,
    value_from_json,
    value_to_json,
)
from openqpp.db.base import utcnow
from openqpp.db.models import (
    DeterminationRun,
    MeasurementRow,
    MeasurementSetRow,
    SubmissionReceipt,
    SubmissionRow,
)
from openqpp.services import audit
from openqpp.services.access import organisations
from openqpp.services.access.authorize import authorize
from openqpp.services.access.principals import Principal
from openqpp.services.elections.common import begin_writes, eligibility_of, existing_for
from openqpp.services.eligibility_lookup import latest_run
from openqpp.services.submissions_convert import catalogue, measures_or_none, policy_or_none

OPERATOR_SUBMITTER = Submitter(key="operator", kind="operator", name="Operator (command line)")


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """The uploaded file a change came from (its hash goes on the receipt)."""

    name: str
    kind: str
    sha256: str
    size: int

    @classmethod
    def of(cls, name: str, kind: str, content: bytes) -> ReceivedFile:
        return cls(name=name, kind=kind, sha256=sha256(content), size=len(content))


@dataclass(frozen=True, slots=True)
class Accepted:
    submission_id: str
    receipt_id: str
    version: int
    set_ids: tuple[str, ...]
    submitter: Submitter
    created: bool


# ---------------------------------------------------------------- entity and submitter


def entity_key(submission: Submission) -> str:
    """The submission's entity as the elections and determinations key it."""
    if submission.entity_type is EntityType.INDIVIDUAL:
        return f"{submission.tin}/{submission.npi}"
    if submission.entity_type is EntityType.GROUP:
        return str(submission.tin)
    return str(submission.entity_id or "").upper()


def on_behalf_of(submission: Submission, practice_id: int | None) -> audit.OnBehalfOf:
    if submission.entity_type in (EntityType.INDIVIDUAL, EntityType.GROUP):
        return audit.OnBehalfOf.practice(
            str(submission.tin),
            npi=submission.npi if submission.entity_type is EntityType.INDIVIDUAL else None,
            organisation_id=practice_id,
        )
    kind = "apm_entity" if submission.entity_type is EntityType.APM else "virtual_group"
    if submission.entity_type is EntityType.SUBGROUP:
        kind = "subgroup"
    return audit.OnBehalfOf(kind, str(submission.entity_id or ""))


def _target(submission: Submission) -> tuple[OrganisationType, str, str | None]:
    if submission.entity_type is EntityType.INDIVIDUAL:
        return OrganisationType.PRACTICE, str(submission.tin or ""), submission.npi
    if submission.entity_type is EntityType.APM:
        return OrganisationType.APM_ENTITY, str(submission.entity_id or ""), None
    if submission.entity_type is EntityType.VIRTUAL_GROUP:
        return OrganisationType.VIRTUAL_GROUP, str(submission.entity_id or ""), None
    # Groups by their TIN; a subgroup reports under its group's TIN when it gives one.
    return OrganisationType.PRACTICE, str(submission.tin or ""), None


@dataclass(frozen=True, slots=True)
class Acting:
    submitter: Submitter
    role: str | None


def acting_for(
    session: Session,
    *,
    principal: Principal,
    submission: Submission,
    action: Action = Action.SUBMIT_DATA,
    now: dt.datetime,
) -> Acting:
    """May ``principal`` submit (or view) data for the submission's entity? Raises AccessError."""
    if principal.kind == "operator":
        return Acting(OPERATOR_SUBMITTER, None)
    kind, identifier, npi = _target(submission)
    decision = authorize(
        session,
        principal=principal,
        action=action,
        organisation_type=kind,
        identifier=identifier,
        npi=npi,
        performance_year=submission.performance_year,
        at=now,
    )
    org = decision.grant.organisation
    intermediary = org.type is OrganisationType.REGISTRY
    submitter = Submitter(
        key=f"organization:{org.id}",
        kind="organization" if intermediary else org.type.value,
        organisation_id=org.id,
        name=principal.organisation_names.get(org.id),
    )
    return Acting(submitter, decision.grant.role.value)


def _election_entity(submission: Submission) -> Entity | None:
    if submission.entity_type is EntityType.INDIVIDUAL:
        return Entity.individual(str(submission.tin), str(submission.npi))
    if submission.entity_type is EntityType.GROUP:
        return Entity.group(str(submission.tin))
    if submission.entity_type is EntityType.APM:
        return Entity.apm_entity(str(submission.entity_id or "").upper())
    # Virtual groups elect before the year starts; subgroups are not opt-in eligible.
    return None


def gate(session: Session, submission: Submission) -> tuple[DeterminationRun, int | None]:
    """Refuse data for an opt-in eligible entity without an election (any path).

    Returns the determination run relied on and the election id (None when there is none).
    Raises NoDeterminationRun when the year has no determination: without one nobody can say
    whether the entity is opt-in eligible, so nothing is accepted."""
    year = submission.performance_year
    run = latest_run(session, year)
    entity = _election_entity(submission)
    if entity is None:
        return run, None
    existing = existing_for(session, year, entity)
    status = eligibility_of(session, run, entity).status
    check_data_allowed(entity=entity.describe(), year=year, status=status, election=existing)
    return run, existing.election_id if existing else None


def validate(submission: Submission, *, source: str | None = None) -> ValidationReport:
    """Run the validation engine with the year's policy and measures; raise on any error.

    Returns the report (its warnings) when there is no error."""
    year = submission.performance_year
    report = validate_submission(
        submission,
        measures=measures_or_none(catalogue(), year),
        policy=policy_or_none(year),
    )
    if report.errors:
        raise SubmissionInvalid(report.findings, source=source)
    return report


# ---------------------------------------------------------------- rows <-> core


def set_from_row(row: MeasurementSetRow) -> MeasurementSet:
    measurements = tuple(
        Measurement(m.measure_id, value_from_json(m.value, f"$.measurements[{i}].value"))
        for i, m in enumerate(row.measurements)
    )
    return MeasurementSet(
        category=Category(row.category),
        submission_method=SubmissionMethod(row.submission_method),
        measurements=measurements,
        program_name=row.program_name if row.program_name_given else None,
        performance_start=row.performance_start,
        performance_end=row.performance_end,
        cehrt_id=row.cehrt_id,
        source=row.source,
    )


def submission_from_row(
    row: SubmissionRow, sets: Sequence[MeasurementSetRow] | None = None
) -> Submission:
    chosen = row.measurement_sets if sets is None else sets
    return Submission(
        performance_year=row.performance_year,
        entity_type=EntityType(row.entity_type),
        tin=row.tin,
        npi=row.npi,
        entity_id=row.entity_id,
        measurement_sets=tuple(set_from_row(s) for s in chosen),
    )


def _write_measurements(
    row: MeasurementSetRow, measurements: Sequence[Measurement], now: dt.datetime
) -> None:
    existing = {m.measure_id: m for m in row.measurements}
    wanted = {m.measure_id for m in measurements}
    for measure_id, gone in existing.items():
        if measure_id not in wanted:
            row.measurements.remove(gone)
    for position, measurement in enumerate(measurements):
        value = value_to_json(measurement.value)
        old = existing.get(measurement.measure_id)
        if old is None:
            row.measurements.append(
                MeasurementRow(
                    measure_id=measurement.measure_id,
                    position=position,
                    value=value,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            if old.value != value:
                old.value = value
                old.updated_at = now
            old.position = position


def find_submission(
    session: Session, *, year: int, entity_type: EntityType, key: str
) -> SubmissionRow | None:
    """The entity's submission for the year (one per year, entity type and entity key)."""
    return session.scalars(
        select(SubmissionRow).where(
            SubmissionRow.performance_year == year,
            SubmissionRow.entity_type == entity_type.value,
            SubmissionRow.entity_key == key,
        )
    ).first()


def submission_for(session: Session, submission: Submission) -> SubmissionRow | None:
    """The stored submission of ``submission``'s entity and year, if there is one."""
    return find_submission(
        session,
        year=submission.performance_year,
        entity_type=submission.entity_type,
        key=entity_key(submission),
    )


def _submission_row(
    session: Session, submission: Submission, now: dt.datetime, practice_id: int | None
) -> tuple[SubmissionRow, bool]:
    """Find or create the entity's submission; concurrent creators end with the same row."""
    key = entity_key(submission)
    row = submission_for(session, submission)
    if row is not None:
        return row, False
    row = SubmissionRow(
        performance_year=submission.performance_year,
        entity_type=submission.entity_type.value,
        entity_key=key,
        tin=submission.tin,
        npi=submission.npi if submission.entity_type is EntityType.INDIVIDUAL else None,
        entity_id=submission.entity_id.upper() if submission.entity_id else None,
        practice_id=practice_id,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        winner = submission_for(session, submission)
        if winner is None:  # pragma: no cover - only this constraint can fail here
            raise
        return winner, False
    return row, True


def _apply_set(
    session: Session,
    submission_row: SubmissionRow,
    incoming: MeasurementSet,
    *,
    submitter: Submitter,
    mode: Mode,
    now: dt.datetime,
) -> MeasurementSetRow:
    category, method, program = set_key(incoming)
    row = next(
        (
            s
            for s in submission_row.measurement_sets
            if s.submitter_key == submitter.key
            and (s.category, s.submission_method, s.program_name) == (category, method, program)
        ),
        None,
    )
    if row is not None and mode is Mode.CREATE:
        raise DuplicateMeasurementSet(
            f"A {category} measurement set for submission method {method} and program "
            f"{program} from this submitter already exists in this submission (id {row.id}).",
            fix="Send PUT (replace) or PATCH (merge) to /measurement-sets/" + row.id + ".",
        )
    if row is None:
        row = MeasurementSetRow(
            category=category,
            submission_method=method,
            program_name=program,
            program_name_given=incoming.program_name is not None,
            submitter_key=submitter.key,
            submitter_type=submitter.kind,
            submitter_organisation_id=submitter.organisation_id,
            version=0,
            created_at=now,
        )
        submission_row.measurement_sets.append(row)
        measurements: Sequence[Measurement] = incoming.measurements
    elif mode is Mode.MERGE:
        current = set_from_row(row)
        measurements = merge_measurements(current.measurements, incoming.measurements)
    else:
        measurements = incoming.measurements
    if mode is Mode.MERGE and row.version:
        row.performance_start = incoming.performance_start or row.performance_start
        row.performance_end = incoming.performance_end or row.performance_end
        row.cehrt_id = incoming.cehrt_id or row.cehrt_id
        if incoming.program_name is not None:
            row.program_name_given = True
    else:
        row.performance_start = incoming.performance_start
        row.performance_end = incoming.performance_end
        row.cehrt_id = incoming.cehrt_id
    row.source = incoming.source or row.source
    row.version = (row.version or 0) + 1
    row.updated_at = now
    _write_measurements(row, measurements, now)
    session.flush()
    return row


def _receipt(
    session: Session,
    submission_row: SubmissionRow,
    *,
    received: dict[str, Any],
    principal: Principal,
    acting: Acting,
    operation: str,
    channel: str,
    run: DeterminationRun | None,
    election_id: int | None,
    file: ReceivedFile | None,
    upload_id: str | None,
    context: audit.RequestContext,
    now: dt.datetime,
) -> SubmissionReceipt:
    version = (
        session.scalar(
            select(func.max(SubmissionReceipt.version)).where(
                SubmissionReceipt.submission_id == submission_row.id
            )
        )
        or 0
    ) + 1
    session.refresh(submission_row, ["measurement_sets"])
    whole = submission_from_row(submission_row)
    current = submission_to_json(whole)
    behalf = on_behalf_of(whole, submission_row.practice_id)
    receipt = SubmissionReceipt(
        submission_id=submission_row.id,
        version=version,
        received_at=now,
        operation=operation,
        channel=channel,
        actor=principal.actor[:100],
        actor_name=principal.name[:200],
        role=acting.role,
        submitter_key=acting.submitter.key,
        acting_organisation_id=acting.submitter.organisation_id,
        on_behalf_of=behalf.label[:120],
        on_behalf_of_organisation_id=submission_row.practice_id,
        determination_run_id=run.id if run else None,
        election_id=election_id,
        file_name=file.name[:255] if file else None,
        file_kind=file.kind if file else None,
        file_sha256=file.sha256 if file else None,
        file_size=file.size if file else None,
        received_json=canonical_json(received),
        submission_json=canonical_json(current),
        upload_id=upload_id,
        request_id=context.request_id,
    )
    session.add(receipt)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=principal.actor,
        role=acting.role,
        on_behalf_of=behalf,
        action=f"submission.{operation}",
        object_type="submission",
        object_id=submission_row.id,
        after={
            "version": version,
            "receipt": receipt.id,
            "channel": channel,
            "sets": [
                f"{s.category}/{s.submission_method}/{s.program_name}"
                for s in submission_row.measurement_sets
                if s.submitter_key == acting.submitter.key
            ],
            "file": file.name if file else None,
            "sha256": file.sha256 if file else None,
        },
        acting_organisation_id=acting.submitter.organisation_id,
        at=now,
    )
    return receipt


# ---------------------------------------------------------------- the door


def accept(
    session: Session,
    *,
    principal: Principal,
    submission: Submission,
    context: audit.RequestContext,
    channel: str,
    mode: Mode = Mode.MERGE,
    operation: str | None = None,
    file: ReceivedFile | None = None,
    upload_id: str | None = None,
    now: dt.datetime | None = None,
    validated: bool = False,
) -> Accepted:
    """Store ``submission``'s measurement sets for its entity, or raise and write nothing.

    Raises SubmissionInvalid (every finding), AccessError (may not submit for the entity),
    NoDeterminationRun, ElectionRequired (opt-in eligible without an election) or
    DuplicateMeasurementSet (``Mode.CREATE`` on an existing set). The caller commits."""
    now = now or utcnow()
    if not validated:
        validate(submission, source=file.name if file else None)
    acting = acting_for(session, principal=principal, submission=submission, now=now)
    run, election_id = gate(session, submission)
    practice = (
        organisations.practice_by_tin(session, submission.tin)
        if submission.tin and submission.entity_type is not EntityType.APM
        else None
    )
    begin_writes(session)
    row, created = _submission_row(session, submission, now, practice.id if practice else None)
    set_rows = [
        _apply_set(session, row, s, submitter=acting.submitter, mode=mode, now=now)
        for s in submission.measurement_sets
    ]
    row.updated_at = now
    receipt = _receipt(
        session,
        row,
        received=submission_to_json(submission),
        principal=principal,
        acting=acting,
        operation=operation or ("upload" if file else mode.value),
        channel=channel,
        run=run,
        election_id=election_id,
        file=file,
        upload_id=upload_id,
        context=context,
        now=now,
    )
    return Accepted(
        submission_id=row.id,
        receipt_id=receipt.id,
        version=receipt.version,
        set_ids=tuple(s.id for s in set_rows),
        submitter=acting.submitter,
        created=created,
    )


def delete_set(
    session: Session,
    *,
    principal: Principal,
    set_id: str,
    context: audit.RequestContext,
    channel: str,
    now: dt.datetime | None = None,
) -> Accepted:
    """Delete one of the caller's own measurement sets; the receipt keeps the version before."""
    now = now or utcnow()
    row = session.get(MeasurementSetRow, set_id)
    if row is None:
        raise not_found("measurement set", set_id)
    parent = row.submission
    whole = submission_from_row(parent, [row])
    try:
        acting = acting_for(session, principal=principal, submission=whole, now=now)
    except AccessError:
        raise not_found("measurement set", set_id) from None
    if row.submitter_key != acting.submitter.key:
        raise not_found("measurement set", set_id)
    begin_writes(session)
    received = {"deleted": measurement_set_to_json(set_from_row(row)), "id": row.id}
    session.delete(row)
    session.flush()
    parent.updated_at = now
    receipt = _receipt(
        session,
        parent,
        received=received,
        principal=principal,
        acting=acting,
        operation="delete",
        channel=channel,
        run=None,
        election_id=None,
        file=None,
        upload_id=None,
        context=context,
        now=now,
    )
    return Accepted(parent.id, receipt.id, receipt.version, (), acting.submitter, False)


def not_found(what: str, identifier: str) -> NotFound:
    """The same words whether the object does not exist or belongs to someone else."""
    return NotFound(
        f"No {what} {identifier} is visible to you.",
        fix=f"Check the {what} id; you can see only the data you may view.",
    )


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Visible:
    """A submission with only the sets the caller may see."""

    row: SubmissionRow
    sets: tuple[MeasurementSetRow, ...]
    submission: Submission
    #: True when the caller sees every submitter's sets (the practice, the operator); False
    #: for an intermediary, which sees only its own.
    every_submitter: bool = True


def visible_sets(
    session: Session, *, principal: Principal, row: SubmissionRow, now: dt.datetime | None = None
) -> Visible:
    """A registry sees its own sets; the practice (view_submissions) sees every submitter's.

    Raises NotFound when the caller may see nothing of it (same words as a missing one)."""
    now = now or utcnow()
    empty = submission_from_row(row, [])
    every = True
    if principal.kind == "operator":
        sets = tuple(row.measurement_sets)
    else:
        try:
            acting = acting_for(
                session,
                principal=principal,
                submission=empty,
                action=Action.VIEW_SUBMISSIONS,
                now=now,
            )
        except AccessError:
            try:
                acting = acting_for(session, principal=principal, submission=empty, now=now)
            except AccessError:
                raise not_found("submission", row.id) from None
        every = acting.submitter.kind != "organization"
        if every:
            sets = tuple(row.measurement_sets)
        else:
            sets = tuple(s for s in row.measurement_sets if s.submitter_key == acting.submitter.key)
    return Visible(
        row,
        sets,
        replace(empty, measurement_sets=tuple(set_from_row(s) for s in sets)),
        every_submitter=every,
    )


def receipts(session: Session, submission_id: str) -> list[SubmissionReceipt]:
    return list(
        session.scalars(
            select(SubmissionReceipt)
            .where(SubmissionReceipt.submission_id == submission_id)
            .order_by(SubmissionReceipt.version)
        )
    )


def receipt_document(receipt: SubmissionReceipt) -> dict[str, Any]:
    """The downloadable receipt: who sent what, for whom, on which determination run."""
    return {
        "receiptId": receipt.id,
        "submissionId": receipt.submission_id,
        "version": receipt.version,
        "receivedAt": receipt.received_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "operation": receipt.operation,
        "channel": receipt.channel,
        "submitter": {
            "actor": receipt.actor,
            "name": receipt.actor_name,
            "role": receipt.role,
            "submitterKey": receipt.submitter_key,
        },
        "onBehalfOf": receipt.on_behalf_of,
        "determinationRunId": receipt.determination_run_id,
        "electionId": receipt.election_id,
        "file": (
            {
                "name": receipt.file_name,
                "kind": receipt.file_kind,
                "sha256": receipt.file_sha256,
                "size": receipt.file_size,
            }
            if receipt.file_sha256
            else None
        ),
        "received": json.loads(receipt.received_json),
        "submission": json.loads(receipt.submission_json),
    }
