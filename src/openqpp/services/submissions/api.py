"""The Submissions API's use cases, compatible with CMS's (shared/reference/notes/qpp-apis.md
§1-2): submissions, measurement sets and measurements read as the caller may see them, and
written through the store's one door (:func:`store.accept`, :func:`store.delete_set`).

- A measurement-set write is the entity's submission with that one set: POST creates it
  (finding or creating the submission), PUT replaces it, PATCH merges the sent measurements
  into it by measureId and keeps the rest.
- A measurement write is a change of its set: the set with that measurement added, replaced,
  merged (PATCH merges an object value's keys) or removed, stored by ``accept``.
- Every refusal is an :class:`ApiRefusal`: the HTTP status, CMS's error ``type`` and
  ``details`` whose ``path`` is a JSONPath in the request body as the caller sent it (``$`` is
  the body), beside openqpp's ``code``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openqpp.core.access import AccessError, OrganisationType
from openqpp.core.elections import ElectionRefused
from openqpp.core.errors import Finding, InvalidValue, Location, OpenQppError
from openqpp.core.submissions import (
    Measurement,
    MeasurementSet,
    Submission,
    SubmissionShapeError,
)
from openqpp.core.submissions.acceptance import (
    DataRefused,
    DuplicateMeasurementSet,
    ElectionRequired,
    Mode,
    NotFound,
    SubmissionInvalid,
    merge_measurements,
    set_key,
)
from openqpp.core.submissions.qpp_json import measurement_set_to_json
from openqpp.db.models import MeasurementRow, MeasurementSetRow, SubmissionReceipt, SubmissionRow
from openqpp.intake import qpp_json
from openqpp.services import audit
from openqpp.services.access.principals import Principal
from openqpp.services.elections import records
from openqpp.services.eligibility_lookup import NoDeterminationRun
from openqpp.services.submissions import store
from openqpp.services.submissions.api_json import COMPUTED_VALUE_KEYS, Renderer
from openqpp.services.submissions_convert import validate_bytes
from openqpp.settings import Settings

CHANNEL: Final = "api"
MAX_PAGE: Final = 100
_SET: Final = "$.measurementSets[0]"
_MEASUREMENT = re.compile(r"^\.measurements\[(\d+)\](.*)$")
_FIELD = re.compile(r"^(.*)\.([A-Za-z_][A-Za-z0-9_]*)$")
_PATH_IN_TEXT = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+")


# ---------------------------------------------------------------- refusals


class ApiRefusal(OpenQppError):
    """A refusal as the API answers it: ``http_status``, CMS's ``error_type``, ``details``."""

    code = "OQ-SUB-API"

    def __init__(
        self,
        message: str,
        *,
        fix: str,
        status: int,
        error_type: str,
        code: str | None = None,
        details: list[dict[str, Any]] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, fix=fix, code=code)
        self.http_status = status
        self.error_type = error_type
        self.details = details
        self.headers = headers

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {
            "type": self.error_type,
            "message": f"{self.message} {self.fix}".strip(),
            "code": self.code,
        }
        if self.details is not None:
            error["details"] = self.details
        if request_id:
            error["requestId"] = request_id
        return {"error": error}


def _not_found(what: str, identifier: str) -> ApiRefusal:
    exc = store.not_found(what, identifier)
    return ApiRefusal(exc.message, fix=exc.fix, status=404, error_type="NotFound", code=exc.code)


@dataclass(frozen=True, slots=True)
class Root:
    """Where the request body sits in the submission the store validates, so every finding's
    JSONPath can be given in the body as it was sent.

    ``whole``: the body is the submission. Otherwise the body is one set (at
    ``$.measurementSets[0]``) or one measurement of it: ``set_prefix`` is where that set's
    fields are in the body (``$`` for a set body), ``index_map`` where each measurement is
    (by its index in the validated set), and ``entity_prefix`` where the entity fields are
    (``$.submission``, or the ``submissionId`` the entity came from)."""

    whole: bool = False
    set_prefix: str = "$"
    entity_prefix: str = "$.submission"
    index_map: Mapping[int, str] = field(default_factory=dict)
    type_name: str = "MeasurementSet"

    def path(self, path: str | None) -> str:
        if not path:
            return "$"
        if self.whole:
            return path
        if path.startswith(_SET):
            rest = path[len(_SET) :]
            match = _MEASUREMENT.match(rest)
            if match and int(match.group(1)) in self.index_map:
                return self.index_map[int(match.group(1))] + match.group(2)
            return self.set_prefix + rest
        if path == "$.measurementSets":
            return self.set_prefix
        if path.startswith("$"):
            return self.entity_prefix + path[1:]
        return path

    def text(self, message: str) -> str:
        """``message`` with the JSONPaths it quotes given in the body as sent."""
        if self.whole:
            return message
        return _PATH_IN_TEXT.sub(lambda m: self.path(m.group(0)), message)


WHOLE = Root(whole=True, type_name="Submission")


def _cms_message(path: str, message: str, type_name: str) -> str:
    """CMS's detail wording: ``field 'measureId' in MeasurementSet.measurements[0] is invalid:``."""
    match = _FIELD.match(path)
    if match is None:
        return message
    parent = match.group(1).removeprefix("$")
    return f"field '{match.group(2)}' in {type_name}{parent} is invalid: {message}"


def detail(finding: Finding, root: Root) -> dict[str, Any]:
    """One finding as a CMS detail (``message``, ``path``, ``location.path``, ``type``) with
    openqpp's ``code``, ``fix`` (what to do, in openqpp's words) and ``severity``."""
    where = finding.location
    path = where.xpath if where.path is None and where.xpath else root.path(where.path)
    location: dict[str, Any] = {"path": path}
    for key, value in (("line", where.line), ("column", where.column), ("xpath", where.xpath)):
        if value is not None:
            location[key] = value
    message = root.text(finding.message)
    out: dict[str, Any] = {
        "message": _cms_message(path, message, root.type_name),
        "path": path,
        "location": location,
        "type": "InvalidValue",
        "code": finding.code,
        "fix": message,
        "severity": finding.severity,
    }
    if finding.measure_id:
        out["measureId"] = finding.measure_id
    return out


def invalid(findings: Sequence[Finding], root: Root, *, what: str = "object") -> ApiRefusal:
    errors = [f for f in findings if f.is_error] or list(findings)
    return ApiRefusal(
        f"invalid {what}: {len(errors)} error(s) were found; nothing was stored.",
        fix="Correct every error listed in details (each names its path) and send it again.",
        status=422,
        error_type="ValidationError",
        code="OQ-SUB-100",
        details=[detail(f, root) for f in errors],
    )


def _one(code: str, message: str, path: str, root: Root, *, what: str = "object") -> ApiRefusal:
    return invalid(
        [Finding(code=code, message=message, location=Location(path=path))], root, what=what
    )


@contextmanager
def refusals(root: Root, *, what: str, entity_path: str = "$") -> Iterator[None]:
    """Turn the store's and the permission matrix's refusals into API refusals."""
    try:
        yield
    except ApiRefusal:
        raise
    except SubmissionInvalid as exc:
        raise invalid(exc.findings, root, what=what) from exc
    except ElectionRequired as exc:
        raise ApiRefusal(
            exc.message,
            fix=exc.fix,
            status=422,
            error_type="ValidationError",
            code=exc.code,
            details=[
                {
                    "message": f"{exc.message} {exc.fix}",
                    "path": entity_path,
                    "location": {"path": entity_path},
                    "type": "ElectionRequired",
                    "code": exc.code,
                    "fix": exc.fix,
                }
            ],
        ) from exc
    except DuplicateMeasurementSet as exc:
        raise ApiRefusal(
            exc.message,
            fix=exc.fix,
            status=409,
            error_type="DuplicateEntryError",
            code=exc.code,
        ) from exc
    except NotFound as exc:
        raise ApiRefusal(
            exc.message, fix=exc.fix, status=404, error_type="NotFound", code=exc.code
        ) from exc
    except NoDeterminationRun as exc:
        raise ApiRefusal(
            exc.message,
            fix=exc.fix + " Data is accepted only for years with a determination run, which "
            "says whether the entity is opt-in eligible.",
            status=422,
            error_type="ValidationError",
            code=exc.code,
        ) from exc
    except AccessError as exc:
        status = exc.http_status
        raise ApiRefusal(
            exc.message,
            fix=exc.fix,
            status=status,
            error_type={401: "Unauthorized", 404: "NotFound"}.get(status, "Forbidden"),
            code=exc.code,
        ) from exc
    except ElectionRefused as exc:  # idempotency keys (shared with the elections API)
        raise ApiRefusal(
            exc.message,
            fix=exc.fix,
            status=exc.http_status,
            error_type="BadRequest" if exc.http_status == 400 else "ValidationError",
            code=exc.code,
        ) from exc
    except (DataRefused, InvalidValue) as exc:
        raise ApiRefusal(
            exc.message, fix=exc.fix, status=422, error_type="ValidationError", code=exc.code
        ) from exc


# ---------------------------------------------------------------- results, idempotency


@dataclass(frozen=True, slots=True)
class ApiResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An ``Idempotency-Key`` and the request it was sent with (per caller)."""

    key: str | None
    scope: str
    fingerprint: str

    @classmethod
    def of(
        cls, key: str | None, *, principal: Principal, method: str, path: str, body: bytes
    ) -> Idempotency:
        digest = hashlib.sha256(body).hexdigest()
        return cls(
            key=key,
            scope=f"submissions-api:{principal.actor}",
            fingerprint=records.fingerprint({"method": method, "path": path, "body": digest}),
        )


@contextmanager
def _idempotent(
    session: Session, idempotency: Idempotency | None, now: dt.datetime
) -> Iterator[list[ApiResult]]:
    """Yields a one-slot list: a replayed result in it (skip the work), or put the new result
    in it and it is remembered under the key in the same transaction."""
    slot: list[ApiResult] = []
    key = None
    if idempotency is not None:
        with refusals(WHOLE, what="request"):
            key = records.check_key(idempotency.key)
            found = records.stored_response(
                session, scope=idempotency.scope, key=key, fingerprint_=idempotency.fingerprint
            )
        if found is not None:
            slot.append(ApiResult(found.status_code, found.body, replayed=True))
            yield slot
            return
    yield slot
    if idempotency is not None and key is not None and slot and not slot[0].replayed:
        with refusals(WHOLE, what="request"):
            records.store_response(
                session,
                scope=idempotency.scope,
                key=key,
                fingerprint_=idempotency.fingerprint,
                status_code=slot[0].status,
                body=slot[0].body,
                now=now,
            )


# ---------------------------------------------------------------- reading bodies


def parse_body(body: bytes, *, what: str) -> dict[str, Any]:
    """The JSON object in a request body (numbers exact), or a 422 with every reading problem."""
    document, problems = qpp_json.parse_json(
        body,
        source="request body",
        limits=qpp_json.JsonLimits(max_bytes=max(len(body), 1)),
    )
    if problems:
        raise invalid(problems, WHOLE, what=what)
    if not isinstance(document, dict):
        raise _one(
            "OQ-SUB-000",
            "The request body must be a JSON object ({...}) as the QPP format defines.",
            "$",
            WHOLE,
            what=what,
        )
    return dict(document)


def _without_computed(measurement: Any) -> Any:
    if isinstance(measurement, dict) and isinstance(measurement.get("value"), dict):
        value = {k: v for k, v in measurement["value"].items() if k not in COMPUTED_VALUE_KEYS}
        return {**measurement, "value": value}
    return measurement


def _set_document(body: Mapping[str, Any]) -> dict[str, Any]:
    """A measurement set as sent, without what the server owns or ignores (``submission``,
    ``submissionId``, empty legacy fields, computed value fields)."""
    out = {k: v for k, v in body.items() if k not in ("submission", "submissionId")}
    for key in ("practiceId", "practiceDetails", "cehrtId", "measureSet"):
        if key in out and out[key] in (None, ""):
            del out[key]
    if isinstance(out.get("measurements"), list):
        out["measurements"] = [_without_computed(m) for m in out["measurements"]]
    return out


def _submission_document(body: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(body)
    if isinstance(out.get("measurementSets"), list):
        out["measurementSets"] = [
            _set_document(s) if isinstance(s, dict) else s for s in out["measurementSets"]
        ]
    return out


def _read(document: Mapping[str, Any], root: Root, *, what: str) -> Submission:
    """Schema and shape checks of a submission document; findings rebased to the body."""
    problems = qpp_json.schema_findings(document, source="request body")
    if problems:
        raise invalid(problems, root, what=what)
    try:
        return Submission.from_qpp_json(document)
    except SubmissionShapeError as exc:
        finding = Finding(
            code=exc.code, message=f"{exc.message} {exc.fix}", location=Location(path=exc.path)
        )
        raise invalid([finding], root, what=what) from exc


def _entity_document(row: SubmissionRow) -> dict[str, Any]:
    out: dict[str, Any] = {"performanceYear": row.performance_year, "entityType": row.entity_type}
    if row.tin:
        out["taxpayerIdentificationNumber"] = row.tin
    if row.npi:
        out["nationalProviderIdentifier"] = row.npi
    if row.entity_id:
        out["entityId"] = row.entity_id
    return out


def _entity_submission(row: SubmissionRow, measurement_set: MeasurementSet) -> Submission:
    return replace(store.submission_from_row(row, []), measurement_sets=(measurement_set,))


def _warnings(report: Any, root: Root) -> list[str]:
    return [f"{root.path(f.location.path)}: {root.text(f.message)}" for f in report.warnings]


# ---------------------------------------------------------------- callers


def _submitter_keys(principal: Principal) -> set[str]:
    return {f"organization:{g.organisation.id}" for g in principal.grants}


def _reach(principal: Principal) -> tuple[set[str], set[int], set[str]]:
    """The caller's submitter keys, practice organisations and APM/virtual group ids."""
    practices = {
        g.organisation.id
        for g in principal.grants
        if g.organisation.type is OrganisationType.PRACTICE
    }
    entities = {
        g.organisation.identifier.upper()
        for g in principal.grants
        if g.organisation.type in (OrganisationType.APM_ENTITY, OrganisationType.VIRTUAL_GROUP)
    }
    return _submitter_keys(principal), practices, entities


def _intermediary_only(principal: Principal) -> bool:
    return (
        principal.kind != "operator"
        and bool(principal.grants)
        and all(g.organisation.type is OrganisationType.REGISTRY for g in principal.grants)
    )


def _unauthorized() -> ApiRefusal:
    return ApiRefusal(
        "Current user cannot create this object: a Qualified Registry or QCDR does not create "
        "whole submissions.",
        fix="Send each measurement set with POST /measurement-sets (it finds or creates the "
        "submission), as CMS's Submissions API requires of registries.",
        status=401,
        error_type="Unauthorized",
        code="OQ-SUB-401",
    )


class _Views:
    """``visible_sets`` once per submission within one request."""

    def __init__(self, session: Session, principal: Principal, now: dt.datetime) -> None:
        self.session = session
        self.principal = principal
        self.now = now
        self._seen: dict[str, store.Visible | None] = {}

    def of(self, row: SubmissionRow) -> store.Visible | None:
        if row.id not in self._seen:
            try:
                self._seen[row.id] = store.visible_sets(
                    self.session, principal=self.principal, row=row, now=self.now
                )
            except NotFound:
                self._seen[row.id] = None
        return self._seen[row.id]

    def set(self, set_id: str) -> MeasurementSetRow:
        row = self.session.get(MeasurementSetRow, set_id)
        if row is not None:
            visible = self.of(row.submission)
            if visible is not None and any(s.id == row.id for s in visible.sets):
                return row
        raise _not_found("measurement set", set_id)

    def submission(self, submission_id: str) -> store.Visible:
        row = self.session.get(SubmissionRow, submission_id)
        visible = self.of(row) if row is not None else None
        if visible is None:
            raise _not_found("submission", submission_id)
        return visible


def _own_set(
    session: Session, principal: Principal, set_id: str, now: dt.datetime
) -> MeasurementSetRow:
    """The caller's own measurement set (a write target); 404 for anyone else's."""
    row = session.get(MeasurementSetRow, set_id)
    if row is None:
        raise _not_found("measurement set", set_id)
    whole = store.submission_from_row(row.submission, [row])
    try:
        acting = store.acting_for(session, principal=principal, submission=whole, now=now)
    except AccessError:
        raise _not_found("measurement set", set_id) from None
    if row.submitter_key != acting.submitter.key:
        raise _not_found("measurement set", set_id)
    return row


def _own_measurement(
    session: Session, principal: Principal, measurement_id: str, now: dt.datetime
) -> tuple[MeasurementRow, MeasurementSetRow]:
    row = session.get(MeasurementRow, measurement_id)
    if row is None:
        raise _not_found("measurement", measurement_id)
    try:
        return row, _own_set(session, principal, row.measurement_set_id, now)
    except ApiRefusal:
        raise _not_found("measurement", measurement_id) from None


def _page(items: Sequence[Any], start: int, per_page: int) -> tuple[Sequence[Any], int, int]:
    start = max(0, start)
    per_page = max(1, min(MAX_PAGE, per_page))
    return items[start : start + per_page], start, per_page


# ---------------------------------------------------------------- submissions


def list_submissions(
    session: Session,
    *,
    principal: Principal,
    now: dt.datetime,
    tin: str | None = None,
    npi: str | None = None,
    entity_id: str | None = None,
    year: int | None = None,
    entity_type: str | None = None,
    start: int = 0,
    per_page: int = MAX_PAGE,
) -> dict[str, Any]:
    """``GET /submissions``: the submissions the caller may see, each with the sets it may see
    (an intermediary: its own; the practice: every submitter's). Without a TIN, those the
    caller has sets in or that belong to its practices, APM entities or virtual groups."""
    query = select(SubmissionRow)
    if tin:
        query = query.where(SubmissionRow.tin == tin.strip())
    elif principal.kind != "operator":
        keys, practices, entities = _reach(principal)
        query = query.where(
            or_(
                SubmissionRow.id.in_(
                    select(MeasurementSetRow.submission_id).where(
                        MeasurementSetRow.submitter_key.in_(keys or {""})
                    )
                ),
                SubmissionRow.practice_id.in_(practices or {-1}),
                SubmissionRow.entity_id.in_(entities or {""}),
            )
        )
    if npi:
        query = query.where(SubmissionRow.npi == npi.strip())
    if entity_id:
        query = query.where(SubmissionRow.entity_id == entity_id.strip().upper())
    if year is not None:
        query = query.where(SubmissionRow.performance_year == year)
    if entity_type:
        query = query.where(SubmissionRow.entity_type == entity_type.strip())
    query = query.order_by(
        SubmissionRow.performance_year,
        SubmissionRow.entity_type,
        SubmissionRow.tin,
        SubmissionRow.npi,
        SubmissionRow.entity_id,
        SubmissionRow.id,
    )
    views = _Views(session, principal, now)
    visible = [v for v in (views.of(row) for row in session.scalars(query)) if v is not None]
    page, start, per_page = _page(visible, start, per_page)
    render = Renderer(session)
    return {
        "submissions": [render.submission(v.row, v.sets) for v in page],
        "totalItems": len(visible),
        "startIndex": start,
        "itemsPerPage": per_page,
    }


def get_submission(
    session: Session, *, principal: Principal, submission_id: str, now: dt.datetime
) -> dict[str, Any]:
    visible = _Views(session, principal, now).submission(submission_id)
    return {"submission": Renderer(session).submission(visible.row, visible.sets)}


def create_submission(
    session: Session,
    *,
    principal: Principal,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
    idempotency: Idempotency | None = None,
) -> ApiResult:
    """``POST /submissions``: a whole submission for an entity that has none yet (201).

    A registry gets 401 (it sends measurement sets); an entity that has a submission already
    gets DuplicateEntryError (409) with the existing ``submissionId``."""
    if _intermediary_only(principal):
        raise _unauthorized()
    with _idempotent(session, idempotency, now) as slot:
        if slot:
            return slot[0]
        document = _submission_document(parse_body(body, what="submission object"))
        submission = _read(document, WHOLE, what="submission object")
        with refusals(WHOLE, what="submission object", entity_path="$"):
            acting = store.acting_for(session, principal=principal, submission=submission, now=now)
        if acting.submitter.kind == "organization":
            raise _unauthorized()
        found = store.submission_for(session, submission)
        existing = found.id if found is not None else None
        if existing is not None:
            raise ApiRefusal(
                f"A submission for this {submission.entity_type.value} entity and performance "
                f"year {submission.performance_year} already exists (id {existing}).",
                fix="Add or change its measurement sets with POST /measurement-sets "
                "(submissionId) or PUT/PATCH /measurement-sets/{id}.",
                status=409,
                error_type="DuplicateEntryError",
                code="OQ-SUB-105",
                details={"submissionId": existing},
            )
        with refusals(WHOLE, what="submission object", entity_path="$"):
            report = store.validate(submission)
            accepted = store.accept(
                session,
                principal=principal,
                submission=submission,
                context=context,
                channel=CHANNEL,
                mode=Mode.CREATE,
                operation="create",
                now=now,
                validated=True,
            )
        row = session.get(SubmissionRow, accepted.submission_id)
        assert row is not None
        session.refresh(row, ["measurement_sets"])
        visible = store.visible_sets(session, principal=principal, row=row, now=now)
        data: dict[str, Any] = {"submission": Renderer(session).submission(row, visible.sets)}
        warnings = _warnings(report, WHOLE)
        if warnings:
            data["warnings"] = warnings
        slot.append(ApiResult(201, {"data": data}))
    return slot[0]


# ---------------------------------------------------------------- measurement sets


def _visible_set_rows(
    session: Session,
    *,
    principal: Principal,
    now: dt.datetime,
    submission_id: str | None = None,
    year: int | None = None,
    category: str | None = None,
    submission_method: str | None = None,
) -> list[MeasurementSetRow]:
    query = select(MeasurementSetRow).join(SubmissionRow)
    if principal.kind != "operator":
        keys, practices, entities = _reach(principal)
        query = query.where(
            or_(
                MeasurementSetRow.submitter_key.in_(keys or {""}),
                SubmissionRow.practice_id.in_(practices or {-1}),
                SubmissionRow.entity_id.in_(entities or {""}),
            )
        )
    if submission_id:
        query = query.where(MeasurementSetRow.submission_id == submission_id)
    if year is not None:
        query = query.where(SubmissionRow.performance_year == year)
    if category:
        query = query.where(MeasurementSetRow.category == category)
    if submission_method:
        query = query.where(MeasurementSetRow.submission_method == submission_method)
    query = query.order_by(MeasurementSetRow.created_at, MeasurementSetRow.id)
    views = _Views(session, principal, now)
    sets = []
    for row in session.scalars(query):
        visible = views.of(row.submission)
        if visible is not None and any(s.id == row.id for s in visible.sets):
            sets.append(row)
    return sets


def list_measurement_sets(
    session: Session,
    *,
    principal: Principal,
    now: dt.datetime,
    submission_id: str | None = None,
    year: int | None = None,
    category: str | None = None,
    submission_method: str | None = None,
    start: int = 0,
    per_page: int = MAX_PAGE,
) -> dict[str, Any]:
    """``GET /measurement-sets``: every set the caller may see (an intermediary: its own)."""
    sets = _visible_set_rows(
        session,
        principal=principal,
        now=now,
        submission_id=submission_id,
        year=year,
        category=category,
        submission_method=submission_method,
    )
    page, start, per_page = _page(sets, start, per_page)
    render = Renderer(session).prepare(page)
    return {
        "measurementSets": [render.measurement_set(s) for s in page],
        "totalItems": len(sets),
        "startIndex": start,
        "itemsPerPage": per_page,
    }


def get_measurement_set(
    session: Session, *, principal: Principal, set_id: str, now: dt.datetime
) -> dict[str, Any]:
    row = _Views(session, principal, now).set(set_id)
    return {"measurementSet": Renderer(session).measurement_set(row)}


def _set_result(session: Session, set_id: str, report: Any, root: Root, status: int) -> ApiResult:
    row = session.get(MeasurementSetRow, set_id)
    assert row is not None
    session.refresh(row)
    session.refresh(row, ["measurements"])
    data: dict[str, Any] = {"measurementSet": Renderer(session).measurement_set(row)}
    warnings = _warnings(report, root)
    if warnings:
        data["warnings"] = warnings
    return ApiResult(status, {"data": data})


def _store_set(
    session: Session,
    *,
    principal: Principal,
    submission: Submission,
    root: Root,
    mode: Mode,
    operation: str,
    now: dt.datetime,
    context: audit.RequestContext,
    entity_path: str,
    sent: Submission | None = None,
) -> tuple[store.Accepted, Any]:
    """Validate ``submission`` (the set as it will be) and store it through ``accept``; with
    ``sent`` (a MERGE of only what the caller sent, which gives the same set), ``accept``
    receives that, so the receipt keeps what was sent."""
    with refusals(root, what="measurement-set object", entity_path=entity_path):
        report = store.validate(submission)
        accepted = store.accept(
            session,
            principal=principal,
            submission=sent or submission,
            context=context,
            channel=CHANNEL,
            mode=mode,
            operation=operation,
            now=now,
            validated=True,
        )
    return accepted, report


def create_measurement_set(
    session: Session,
    *,
    principal: Principal,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
    idempotency: Idempotency | None = None,
) -> ApiResult:
    """``POST /measurement-sets``: a new set for the entity in ``submission`` (the submission
    is found or created) or for the submission ``submissionId`` (201). The caller's set with
    the same category, submission method and program exists already: DuplicateEntryError."""
    with _idempotent(session, idempotency, now) as slot:
        if slot:
            return slot[0]
        sent = parse_body(body, what="measurement-set object")
        set_document = _set_document(sent)
        submission_id = sent.get("submissionId")
        if submission_id not in (None, ""):
            if not isinstance(submission_id, str):
                raise _one(
                    "OQ-SUB-000",
                    "submissionId must be a string (the id of an existing submission).",
                    "$.submissionId",
                    WHOLE,
                )
            visible = _Views(session, principal, now).submission(submission_id)
            entity = _entity_document(visible.row)
            entity_path = "$.submissionId"
        elif isinstance(sent.get("submission"), dict):
            entity = {k: v for k, v in sent["submission"].items() if k not in ("measurementSets",)}
            entity_path = "$.submission"
        else:
            raise _one(
                "OQ-SUB-000",
                "Say whose data this is: give `submission` (entityType, performanceYear, "
                "taxpayerIdentificationNumber, nationalProviderIdentifier or entityId) or the "
                "`submissionId` of an existing submission.",
                "$.submission",
                WHOLE,
                what="measurement-set object",
            )
        root = Root(entity_prefix=entity_path)
        submission = _read(
            {**entity, "measurementSets": [set_document]}, root, what="measurement-set object"
        )
        try:
            accepted, report = _store_set(
                session,
                principal=principal,
                submission=submission,
                root=root,
                mode=Mode.CREATE,
                operation="create",
                now=now,
                context=context,
                entity_path=entity_path,
            )
        except ApiRefusal as refusal:
            if refusal.error_type == "DuplicateEntryError":
                refusal.details = _duplicate_details(session, principal, submission, now)
            raise
        slot.append(_set_result(session, accepted.set_ids[0], report, root, 201))
    return slot[0]


def _duplicate_details(
    session: Session, principal: Principal, submission: Submission, now: dt.datetime
) -> dict[str, Any] | None:
    acting = store.acting_for(session, principal=principal, submission=submission, now=now)
    category, method, program = set_key(submission.measurement_sets[0])
    row = session.scalar(
        select(MeasurementSetRow)
        .join(SubmissionRow)
        .where(
            SubmissionRow.performance_year == submission.performance_year,
            SubmissionRow.entity_type == submission.entity_type.value,
            SubmissionRow.entity_key == store.entity_key(submission),
            MeasurementSetRow.submitter_key == acting.submitter.key,
            MeasurementSetRow.category == category,
            MeasurementSetRow.submission_method == method,
            MeasurementSetRow.program_name == program,
        )
    )
    if row is None:
        return None
    return {"submissionId": row.submission_id, "measurementSetId": row.id}


def _key_unchanged(row: MeasurementSetRow, incoming: MeasurementSet, root: Root) -> None:
    category, method, program = set_key(incoming)
    for name, sent, kept in (
        ("category", category, row.category),
        ("submissionMethod", method, row.submission_method),
        ("programName", program, row.program_name),
    ):
        if sent != kept:
            raise _one(
                "OQ-SUB-106",
                f"A measurement set's {name} cannot change (this set's is {kept!r}, the "
                f"request says {sent!r}). Delete this set and POST a new one, or send "
                f"{name} {kept!r}.",
                f"{_SET}.{name}",
                root,
                what="measurement-set object",
            )


def _with_key(document: dict[str, Any], row: MeasurementSetRow) -> dict[str, Any]:
    """Category, submission method and program default to the set's own."""
    out = dict(document)
    out.setdefault("category", row.category)
    out.setdefault("submissionMethod", row.submission_method)
    if out.get("programName") is None and row.program_name_given:
        out["programName"] = row.program_name
    return out


def replace_measurement_set(
    session: Session,
    *,
    principal: Principal,
    set_id: str,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
) -> ApiResult:
    """``PUT /measurement-sets/{id}``: the caller's set is replaced by the one sent (200)."""
    row = _own_set(session, principal, set_id, now)
    sent = parse_body(body, what="measurement-set object")
    root = Root(entity_prefix="$.submissionId")
    document = _with_key(_set_document(sent), row)
    submission = _read(
        {**_entity_document(row.submission), "measurementSets": [document]},
        root,
        what="measurement-set object",
    )
    _key_unchanged(row, submission.measurement_sets[0], root)
    accepted, report = _store_set(
        session,
        principal=principal,
        submission=submission,
        root=root,
        mode=Mode.REPLACE,
        operation="replace",
        now=now,
        context=context,
        entity_path="$.submissionId",
    )
    return _set_result(session, accepted.set_ids[0], report, root, 200)


def patch_measurement_set(
    session: Session,
    *,
    principal: Principal,
    set_id: str,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
) -> ApiResult:
    """``PATCH /measurement-sets/{id}``: the fields sent replace the set's; the measurements
    sent replace those with the same measureId and the others are kept (200)."""
    row = _own_set(session, principal, set_id, now)
    sent = parse_body(body, what="measurement-set object")
    current = store.set_from_row(row)
    document = measurement_set_to_json(current)
    document.update({k: v for k, v in _set_document(sent).items() if v is not None})
    document["measurements"] = (
        _set_document(sent).get("measurements") if "measurements" in sent else []
    )
    body_root = Root(entity_prefix="$.submissionId")
    submission = _read(
        {**_entity_document(row.submission), "measurementSets": [document]},
        body_root,
        what="measurement-set object",
    )
    incoming = submission.measurement_sets[0]
    _key_unchanged(row, incoming, body_root)
    merged = merge_measurements(current.measurements, incoming.measurements)
    sent_at = {m.measure_id: i for i, m in enumerate(incoming.measurements)}
    root = Root(
        entity_prefix="$.submissionId",
        index_map={
            i: (
                f"$.measurements[{sent_at[m.measure_id]}]"
                if m.measure_id in sent_at
                else f"$.measurements[?(@.measureId=='{m.measure_id}')]"
            )
            for i, m in enumerate(merged)
        },
    )
    whole = replace(submission, measurement_sets=(replace(incoming, measurements=merged),))
    accepted, report = _store_set(
        session,
        principal=principal,
        submission=whole,
        root=root,
        mode=Mode.MERGE,
        operation="merge",
        now=now,
        context=context,
        entity_path="$.submissionId",
        sent=submission,
    )
    return _set_result(session, accepted.set_ids[0], report, root, 200)


def delete_measurement_set(
    session: Session,
    *,
    principal: Principal,
    set_id: str,
    now: dt.datetime,
    context: audit.RequestContext,
) -> None:
    """``DELETE /measurement-sets/{id}``: the caller's own set only (anyone else's: 404)."""
    with refusals(WHOLE, what="measurement-set object"):
        store.delete_set(
            session, principal=principal, set_id=set_id, context=context, channel=CHANNEL, now=now
        )


# ---------------------------------------------------------------- measurements


def list_measurements(
    session: Session,
    *,
    principal: Principal,
    now: dt.datetime,
    measurement_set_id: str | None = None,
    measure_id: str | None = None,
    start: int = 0,
    per_page: int = MAX_PAGE,
) -> dict[str, Any]:
    """``GET /measurements``: the measurements of every set the caller may see."""
    if measurement_set_id:
        sets: list[MeasurementSetRow] = [_Views(session, principal, now).set(measurement_set_id)]
    else:
        sets = _visible_set_rows(session, principal=principal, now=now)
    pairs = [
        (m, s)
        for s in sets
        for m in s.measurements
        if not measure_id or m.measure_id.upper() == measure_id.strip().upper()
    ]
    page, start, per_page = _page(pairs, start, per_page)
    render = Renderer(session)
    return {
        "measurements": [render.measurement(m, s, s.submission.performance_year) for m, s in page],
        "totalItems": len(pairs),
        "startIndex": start,
        "itemsPerPage": per_page,
    }


def get_measurement(
    session: Session, *, principal: Principal, measurement_id: str, now: dt.datetime
) -> dict[str, Any]:
    row = session.get(MeasurementRow, measurement_id)
    if row is None:
        raise _not_found("measurement", measurement_id)
    try:
        set_row = _Views(session, principal, now).set(row.measurement_set_id)
    except ApiRefusal:
        raise _not_found("measurement", measurement_id) from None
    return {
        "measurement": Renderer(session).measurement(
            row, set_row, set_row.submission.performance_year
        )
    }


def _measurement_document(sent: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_without_computed({k: v for k, v in sent.items()}))


def _read_measurement(set_row: MeasurementSetRow, document: Mapping[str, Any]) -> Measurement:
    """Shape checks of one measurement body (paths in the body: ``$.value.performanceMet``)."""
    root = Root(
        set_prefix="$.measurementSet",
        entity_prefix="$.measurementSetId",
        index_map={0: "$"},
        type_name="Measurement",
    )
    holder = measurement_set_to_json(store.set_from_row(set_row))
    holder["measurements"] = [document]
    submission = _read(
        {**_entity_document(set_row.submission), "measurementSets": [holder]},
        root,
        what="measurement object",
    )
    return submission.measurement_sets[0].measurements[0]


def _measurement_root(measurements: Sequence[Measurement], target: str) -> Root:
    return Root(
        set_prefix="$.measurementSet",
        entity_prefix="$.measurementSetId",
        type_name="Measurement",
        index_map={
            i: "$"
            if m.measure_id == target
            else f"$.measurementSet.measurements[?(@.measureId=='{m.measure_id}')]"
            for i, m in enumerate(measurements)
        },
    )


def _store_measurements(
    session: Session,
    *,
    principal: Principal,
    set_row: MeasurementSetRow,
    measurements: tuple[Measurement, ...],
    target: str | None,
    operation: str,
    now: dt.datetime,
    context: audit.RequestContext,
    sent: Measurement | None = None,
) -> None:
    """Validate the set with ``measurements`` and store it: with ``sent`` (the one measurement
    added or changed, same measureId) as a MERGE of that measurement alone, else (a measureId
    changed, a measurement removed) as a REPLACE of the whole set."""
    current = store.set_from_row(set_row)
    changed = replace(current, measurements=measurements)
    submission = _entity_submission(set_row.submission, changed)
    root = _measurement_root(measurements, target or "")
    stored = submission
    if sent is not None:
        stored = _entity_submission(set_row.submission, replace(current, measurements=(sent,)))
    with refusals(root, what="measurement object", entity_path="$.measurementSetId"):
        store.validate(submission)
        store.accept(
            session,
            principal=principal,
            submission=stored,
            context=context,
            channel=CHANNEL,
            mode=Mode.REPLACE if sent is None else Mode.MERGE,
            operation=operation,
            now=now,
            validated=True,
        )


def _measurement_result(session: Session, set_id: str, measure_id: str, status: int) -> ApiResult:
    set_row = session.get(MeasurementSetRow, set_id)
    assert set_row is not None
    session.refresh(set_row, ["measurements"])
    row = next(m for m in set_row.measurements if m.measure_id == measure_id)
    data = {
        "measurement": Renderer(session).measurement(
            row, set_row, set_row.submission.performance_year
        )
    }
    return ApiResult(status, {"data": data})


def _duplicate_measurement(set_row: MeasurementSetRow, measure_id: str) -> ApiRefusal:
    existing = next(m for m in set_row.measurements if m.measure_id == measure_id)
    return ApiRefusal(
        f"Measurement set {set_row.id} already has a measurement for measure {measure_id} "
        f"(id {existing.id}); no two measurements in a set may have the same measureId.",
        fix=f"Change it with PUT or PATCH /measurements/{existing.id}.",
        status=409,
        error_type="DuplicateEntryError",
        code="OQ-SUB-107",
        details={"measurementSetId": set_row.id, "measurementId": existing.id},
    )


def create_measurement(
    session: Session,
    *,
    principal: Principal,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
    idempotency: Idempotency | None = None,
) -> ApiResult:
    """``POST /measurements``: a measurement added to the caller's set ``measurementSetId``."""
    with _idempotent(session, idempotency, now) as slot:
        if slot:
            return slot[0]
        sent = parse_body(body, what="measurement object")
        set_id = sent.get("measurementSetId")
        if not isinstance(set_id, str) or not set_id:
            raise _one(
                "OQ-SUB-000",
                "Give `measurementSetId`: the id of your measurement set this measurement "
                "belongs to.",
                "$.measurementSetId",
                WHOLE,
                what="measurement object",
            )
        set_row = _own_set(session, principal, set_id, now)
        measurement = _read_measurement(set_row, _measurement_document(sent))
        current = store.set_from_row(set_row)
        if any(m.measure_id == measurement.measure_id for m in current.measurements):
            raise _duplicate_measurement(set_row, measurement.measure_id)
        _store_measurements(
            session,
            principal=principal,
            set_row=set_row,
            measurements=(*current.measurements, measurement),
            target=measurement.measure_id,
            operation="merge",
            sent=measurement,
            now=now,
            context=context,
        )
        slot.append(_measurement_result(session, set_row.id, measurement.measure_id, 201))
    return slot[0]


def _change_measurement(
    session: Session,
    *,
    principal: Principal,
    measurement_id: str,
    body: bytes,
    merge_value: bool,
    now: dt.datetime,
    context: audit.RequestContext,
) -> ApiResult:
    row, set_row = _own_measurement(session, principal, measurement_id, now)
    sent = _measurement_document(parse_body(body, what="measurement object"))
    document = {k: v for k, v in sent.items() if k != "measurementSetId"}
    document.setdefault("measureId", row.measure_id)
    if merge_value:
        document.setdefault("value", row.value)
        if isinstance(row.value, dict) and isinstance(document["value"], dict):
            document["value"] = {
                **_without_computed({"value": row.value})["value"],
                **document["value"],
            }
    measurement = _read_measurement(set_row, document)
    current = store.set_from_row(set_row)
    if measurement.measure_id != row.measure_id and any(
        m.measure_id == measurement.measure_id for m in current.measurements
    ):
        raise _duplicate_measurement(set_row, measurement.measure_id)
    measurements = tuple(
        measurement if m.measure_id == row.measure_id else m for m in current.measurements
    )
    _store_measurements(
        session,
        principal=principal,
        set_row=set_row,
        measurements=measurements,
        target=measurement.measure_id,
        operation="merge" if merge_value else "replace",
        sent=measurement if measurement.measure_id == row.measure_id else None,
        now=now,
        context=context,
    )
    return _measurement_result(session, set_row.id, measurement.measure_id, 200)


def replace_measurement(
    session: Session,
    *,
    principal: Principal,
    measurement_id: str,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
) -> ApiResult:
    """``PUT /measurements/{id}``: the measurement is replaced by the one sent (200)."""
    return _change_measurement(
        session,
        principal=principal,
        measurement_id=measurement_id,
        body=body,
        merge_value=False,
        now=now,
        context=context,
    )


def patch_measurement(
    session: Session,
    *,
    principal: Principal,
    measurement_id: str,
    body: bytes,
    now: dt.datetime,
    context: audit.RequestContext,
) -> ApiResult:
    """``PATCH /measurements/{id}``: the fields sent replace the measurement's; an object
    value's keys are merged into the stored value (200)."""
    return _change_measurement(
        session,
        principal=principal,
        measurement_id=measurement_id,
        body=body,
        merge_value=True,
        now=now,
        context=context,
    )


def delete_measurement(
    session: Session,
    *,
    principal: Principal,
    measurement_id: str,
    now: dt.datetime,
    context: audit.RequestContext,
) -> None:
    """``DELETE /measurements/{id}``: its set is stored without it."""
    row, set_row = _own_measurement(session, principal, measurement_id, now)
    current = store.set_from_row(set_row)
    _store_measurements(
        session,
        principal=principal,
        set_row=set_row,
        measurements=tuple(m for m in current.measurements if m.measure_id != row.measure_id),
        target=None,
        operation="replace",
        now=now,
        context=context,
    )


# ---------------------------------------------------------------- validation (dry run)


def _json_number(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def validate_submission_body(
    body: bytes, *, content_type: str | None, settings: Settings | None = None
) -> dict[str, Any]:
    """``POST /public/validate-submission``: a QPP JSON or QRDA III (XML) body checked as it
    would be on upload; nothing is stored. Returns ``{"submission": ..., "warnings": [...]}``
    (the normalised submission as QPP JSON) or raises a 422 with every finding."""
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    xml = bool(content_type and "xml" in content_type.lower()) or head.startswith(b"<")
    name = "request-body.xml" if xml else "request-body.json"
    if not xml:
        document = parse_body(body, what="submission object")
        body = json.dumps(_submission_document(document), default=_json_number).encode("utf-8")
    result = validate_bytes(name, body, settings=settings)
    if not result.ok or result.submission is None:
        raise invalid(result.findings, WHOLE, what="submission object")
    data: dict[str, Any] = {"submission": result.submission.to_qpp_json()}
    warnings = [f"{f.location.path or '$'}: {f.message}" for f in result.findings if not f.is_error]
    if warnings:
        data["warnings"] = warnings
    return data


# ---------------------------------------------------------------- receipts


def _receipt_summary(receipt: SubmissionReceipt) -> dict[str, Any]:
    document = store.receipt_document(receipt)
    return {k: v for k, v in document.items() if k not in ("received", "submission")}


def _visible_receipts(
    session: Session, principal: Principal, submission_id: str, now: dt.datetime
) -> tuple[store.Visible, list[SubmissionReceipt]]:
    visible = _Views(session, principal, now).submission(submission_id)
    found = store.receipts(session, submission_id)
    if not visible.every_submitter:
        keys = _submitter_keys(principal)
        found = [r for r in found if r.submitter_key in keys]
    return visible, found


def list_receipts(
    session: Session, *, principal: Principal, submission_id: str, now: dt.datetime
) -> dict[str, Any]:
    """Every accepted version of a submission the caller may see (an intermediary: the
    versions its own changes made)."""
    _visible, found = _visible_receipts(session, principal, submission_id, now)
    return {"receipts": [_receipt_summary(r) for r in found], "totalItems": len(found)}


def receipt_download(
    session: Session,
    *,
    principal: Principal,
    submission_id: str,
    receipt_id: str,
    now: dt.datetime,
) -> tuple[str, dict[str, Any]]:
    """The receipt document and its file name. An intermediary gets what it sent; the whole
    submission after the change (every submitter's sets) only goes to the practice."""
    visible, found = _visible_receipts(session, principal, submission_id, now)
    receipt = next((r for r in found if r.id == receipt_id), None)
    if receipt is None:
        raise _not_found("receipt", receipt_id)
    document = store.receipt_document(receipt)
    if not visible.every_submitter:
        document.pop("submission", None)
    return f"receipt-{submission_id}-v{receipt.version}.json", document
