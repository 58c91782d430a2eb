"""The audit log: one append-only record per state change, written in the caller's transaction.

Every service that changes state calls :func:`record` with the same session it changes state
with, so the change and its record commit together or not at all. Nothing updates or deletes
audit records; the database refuses it too (triggers in migration 0003).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openqpp.db.base import utcnow
from openqpp.db.models import AuditRecord


@dataclass(frozen=True, slots=True)
class OnBehalfOf:
    """The organisation (and, for an individual, the clinician) an action was taken for."""

    organisation_type: str
    """``practice``, ``registry``, ``virtual_group`` or ``apm_entity``."""
    identifier: str
    """TIN, vendor ID, virtual group ID or APM entity ID."""
    npi: str | None = None
    organisation_id: int | None = None

    @classmethod
    def practice(
        cls, tin: str, *, npi: str | None = None, organisation_id: int | None = None
    ) -> OnBehalfOf:
        return cls("practice", str(tin), npi=npi, organisation_id=organisation_id)

    @property
    def label(self) -> str:
        text = f"{self.organisation_type} {self.identifier}"
        return text + (f" NPI {self.npi}" if self.npi else "")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a change came from: the request id (X-Request-ID) and the client address."""

    request_id: str | None = None
    client_address: str | None = None


OPERATOR = RequestContext(request_id=None, client_address="cli")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def record(
    session: Session,
    *,
    actor: str,
    role: str | None,
    on_behalf_of: OnBehalfOf | None,
    action: str,
    object_type: str | None,
    object_id: str | int | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    client_address: str | None = None,
    acting_organisation_id: int | None = None,
    at: dt.datetime | None = None,
    flush: bool = True,
) -> AuditRecord:
    """Append one audit record in ``session``'s transaction and return it (flushed, unless
    ``flush=False``: a caller recording many flushes them in one multi-row INSERT).

    ``actor`` is a user ID, ``token:<id>`` or ``operator``; ``role`` the role used (None when
    no role applies, e.g. sign-in); ``acting_organisation_id`` the organisation whose role was
    used when it differs from ``on_behalf_of`` (a registry acting for a client practice), so its
    Security Officials see the record too. ``before``/``after`` are short JSON summaries: never
    put a password or token in them.
    """
    row = AuditRecord(
        occurred_at=at or utcnow(),
        actor=actor[:100],
        role=str(role.value if isinstance(role, enum.Enum) else role) if role else None,
        on_behalf_of=on_behalf_of.label[:120] if on_behalf_of else None,
        organisation_id=on_behalf_of.organisation_id if on_behalf_of else None,
        acting_organisation_id=acting_organisation_id,
        tin=on_behalf_of.identifier
        if on_behalf_of and on_behalf_of.organisation_type == "practice"
        else None,
        npi=on_behalf_of.npi if on_behalf_of else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        before=_jsonable(dict(before)) if before is not None else None,
        after=_jsonable(dict(after)) if after is not None else None,
        request_id=request_id,
        client_address=client_address,
    )
    session.add(row)
    if flush:
        session.flush()
    return row


def record_in_context(session: Session, context: RequestContext, **fields: Any) -> AuditRecord:
    """:func:`record` with the request id and client address taken from ``context``."""
    return record(
        session, request_id=context.request_id, client_address=context.client_address, **fields
    )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: dt.datetime
    actor: str
    role: str | None
    on_behalf_of: str | None
    action: str
    object_type: str | None
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    client_address: str | None

    @property
    def object(self) -> str:
        if self.object_type is None:
            return ""
        return self.object_type + (f" #{self.object_id}" if self.object_id else "")


def _entry(row: AuditRecord) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        role=row.role,
        on_behalf_of=row.on_behalf_of,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        before=row.before,
        after=row.after,
        request_id=row.request_id,
        client_address=row.client_address,
    )


def search(
    session: Session,
    *,
    tin: str | None = None,
    npi: str | None = None,
    actor: str | None = None,
    organisation_ids: Sequence[int] | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Newest first. ``organisation_ids`` keeps records acted on behalf of, or by, those
    organisations (what a Security Official may read)."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(max(1, min(limit, 5000)))
    if tin:
        query = query.where(AuditRecord.tin == tin)
    if npi:
        query = query.where(AuditRecord.npi == npi)
    if actor:
        query = query.where(AuditRecord.actor == actor.strip().lower())
    if organisation_ids is not None:
        ids = list(organisation_ids)
        query = query.where(
            or_(
                AuditRecord.organisation_id.in_(ids),
                AuditRecord.acting_organisation_id.in_(ids),
            )
        )
    return [_entry(row) for row in session.scalars(query)]
