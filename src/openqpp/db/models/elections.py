"""Opt-in and voluntary reporting elections, the APM entity letters they were recorded from,
public reporting opt-outs, the public reporting preview periods, and stored API responses for
idempotency keys.

Elections, letters and opt-outs are final: database triggers refuse UPDATE and DELETE on them
(migration 0004), and a unique constraint keeps exactly one election per (performance year,
level, entity).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from openqpp.db.base import Base, UtcDateTime, utcnow


class Election(Base):
    """One confirmed election. Never updated, never deleted."""

    __tablename__ = "elections"
    __table_args__ = (
        UniqueConstraint("performance_year", "level", "entity_key"),
        Index("ix_elections_tin_year", "tin", "performance_year"),
        Index("ix_elections_npi", "npi"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    performance_year: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(20))
    """``individual``, ``group`` or ``apm_entity``."""
    entity_key: Mapped[str] = mapped_column(String(40))
    """As in ``eligibility_results``: ``TIN/NPI``, ``TIN`` or the APM entity id."""
    tin: Mapped[str | None] = mapped_column(String(9))
    npi: Mapped[str | None] = mapped_column(String(10))
    apm_entity_id: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    """``opt_in`` or ``voluntary``."""
    pathway: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    determination_run_id: Mapped[int] = mapped_column(ForeignKey("determination_runs.id"))
    """The determination run the election relied on."""
    run_number: Mapped[int] = mapped_column(Integer)
    status_at_election: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    """User ID, ``token:<id>`` or ``operator``."""
    actor_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(30))
    actor_kind: Mapped[str] = mapped_column(String(30))
    """``practice_representative``, ``registry`` or ``operator``."""
    acting_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    """The organisation whose role was used (the practice, or a registry acting for it)."""
    on_behalf_of_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    """The practice (or APM entity, when registered) elected for."""
    channel: Mapped[str] = mapped_column(String(20))
    """``web``, ``api``, ``apm_letter`` or ``registry_upload``."""
    confirmation_text: Mapped[str] = mapped_column(String(100))
    """What the person typed to confirm (or the letter's election line)."""
    request_id: Mapped[str | None] = mapped_column(String(64))


class ApmElectionLetter(Base):
    """The signed opt-in letter an APM entity returned, as the operator recorded it."""

    __tablename__ = "apm_election_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), unique=True)
    apm_entity_id: Mapped[str] = mapped_column(String(20))
    printed_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(100))


class PublicReportingOptOut(Base):
    """A voluntary reporter's choice, during the preview period, not to be publicly reported."""

    __tablename__ = "public_reporting_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(30))
    acting_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))


class PublicReportingPreview(Base):
    """A performance year's public reporting preview period, as the operator set it from CMS's
    announcement (the guides only say "late" in the year after the performance year)."""

    __tablename__ = "public_reporting_previews"

    performance_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    opens_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    set_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    set_by: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(300))


class IdempotencyRecord(Base):
    """The response to an API request sent with an ``Idempotency-Key``, per caller, so that
    repeating the request returns the same result without acting twice."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(120))
    """Who sent it: the user ID or ``token:<id>``."""
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the request (method, path and canonical body)."""
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
