"""Submitted data: submissions (one per performance year and entity), their measurement sets
(one per category, submission method, program and submitter) and measurements, the receipts
that keep every version, and registry uploads staged until their participants' elections.

Submissions, sets and measurements hold the current state (PUT and PATCH change them). Every
change also appends a receipt holding the whole submission as canonical QPP JSON after the
change, so every version is kept; receipts are never updated or deleted (triggers, migration
0005).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openqpp.db.base import Base, UtcDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("performance_year", "entity_type", "entity_key"),
        Index("ix_submissions_tin_year", "tin", "performance_year"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    performance_year: Mapped[int] = mapped_column(Integer)
    entity_type: Mapped[str] = mapped_column(String(20))
    """``individual``, ``group``, ``apm``, ``virtualGroup`` or ``subgroup``."""
    entity_key: Mapped[str] = mapped_column(String(40))
    """``TIN/NPI``, ``TIN`` or the entity id, as the elections' entity key."""
    tin: Mapped[str | None] = mapped_column(String(9))
    npi: Mapped[str | None] = mapped_column(String(10))
    entity_id: Mapped[str | None] = mapped_column(String(40))
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    measurement_sets: Mapped[list[MeasurementSetRow]] = relationship(
        back_populates="submission", order_by="MeasurementSetRow.created_at"
    )


class MeasurementSetRow(Base):
    __tablename__ = "measurement_sets"
    __table_args__ = (
        UniqueConstraint(
            "submission_id", "category", "submission_method", "program_name", "submitter_key"
        ),
        Index("ix_measurement_sets_submitter", "submitter_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"))
    category: Mapped[str] = mapped_column(String(10))
    submission_method: Mapped[str] = mapped_column(String(40))
    program_name: Mapped[str] = mapped_column(String(20))
    """``mips`` when the submitter left it out."""
    program_name_given: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether the submitter wrote ``programName`` (canonical JSON keeps what was said)."""
    submitter_key: Mapped[str] = mapped_column(String(40))
    """``organization:<id>`` or ``operator``: one submitter's sets never touch another's."""
    submitter_type: Mapped[str] = mapped_column(String(20))
    submitter_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    source: Mapped[str | None] = mapped_column(String(20))
    """Where the data came from: ``qpp-json``, ``qrda3``, ``attestation`` or ``api``."""
    performance_start: Mapped[dt.date | None] = mapped_column(Date)
    performance_end: Mapped[dt.date | None] = mapped_column(Date)
    cehrt_id: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    submission: Mapped[SubmissionRow] = relationship(back_populates="measurement_sets")
    measurements: Mapped[list[MeasurementRow]] = relationship(
        back_populates="measurement_set",
        order_by="MeasurementRow.position",
        cascade="all, delete-orphan",
    )


class MeasurementRow(Base):
    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("measurement_set_id", "measure_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    measurement_set_id: Mapped[str] = mapped_column(
        ForeignKey("measurement_sets.id", ondelete="CASCADE")
    )
    measure_id: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[Any] = mapped_column(JSON)
    """The value as QPP JSON (boolean or object)."""
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    measurement_set: Mapped[MeasurementSetRow] = relationship(back_populates="measurements")


class SubmissionReceipt(Base):
    """One accepted change to a submission. Never updated, never deleted."""

    __tablename__ = "submission_receipts"
    __table_args__ = (UniqueConstraint("submission_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"))
    version: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    operation: Mapped[str] = mapped_column(String(20))
    """``upload``, ``create``, ``replace``, ``merge``, ``delete`` or ``attest``."""
    channel: Mapped[str] = mapped_column(String(20))
    """``web``, ``api``, ``registry_upload`` or ``cli``."""
    actor: Mapped[str] = mapped_column(String(100))
    actor_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(30))
    submitter_key: Mapped[str] = mapped_column(String(40))
    acting_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    on_behalf_of: Mapped[str] = mapped_column(String(120))
    """The entity the data is for, e.g. ``practice 454599323`` or ``... NPI 1234567893``."""
    on_behalf_of_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    determination_run_id: Mapped[int | None] = mapped_column(ForeignKey("determination_runs.id"))
    election_id: Mapped[int | None] = mapped_column(ForeignKey("elections.id"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_kind: Mapped[str | None] = mapped_column(String(20))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(Integer)
    received_json: Mapped[str] = mapped_column(Text)
    """What this change sent, as canonical QPP JSON (sorted keys)."""
    submission_json: Mapped[str] = mapped_column(Text)
    """The whole submission after this change, as canonical QPP JSON: this version."""
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("uploads.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))


class Upload(Base):
    """A multi-file upload waiting for its opt-in eligible participants' elections.

    The files are parsed and validated when uploaded; their data is held here, not in the
    submissions, until the uploader confirms the elections (then elections and data land in one
    transaction) or cancels (then the held data is erased)."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    """The registry (or practice) that uploaded."""
    performance_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """``pending``, ``confirmed`` or ``cancelled``."""
    actor: Mapped[str] = mapped_column(String(100))
    actor_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Counts shown on the confirmation: elections by kind, participants dropped, files."""

    files: Mapped[list[UploadFile]] = relationship(
        back_populates="upload", order_by="UploadFile.position", cascade="all, delete-orphan"
    )


class UploadFile(Base):
    __tablename__ = "upload_files"
    __table_args__ = (UniqueConstraint("upload_id", "position"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255))
    file_kind: Mapped[str] = mapped_column(String(20))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    entity_type: Mapped[str | None] = mapped_column(String(20))
    entity_key: Mapped[str | None] = mapped_column(String(40))
    tin: Mapped[str | None] = mapped_column(String(9))
    npi: Mapped[str | None] = mapped_column(String(10))
    performance_year: Mapped[int | None] = mapped_column(Integer)
    submission_json: Mapped[str | None] = mapped_column(Text)
    """The parsed file as canonical QPP JSON while pending; erased on cancel or no decision."""
    report: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """Every finding (code, message, severity, location) for the downloadable error report."""
    outcome: Mapped[str | None] = mapped_column(String(20))
    """After the decision: ``stored``, ``dropped_no_decision``, ``cancelled`` or ``rejected``."""
    receipt_id: Mapped[str | None] = mapped_column(String(36))

    upload: Mapped[Upload] = relationship(back_populates="files")
