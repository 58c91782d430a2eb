"""Determination runs and their per-entity eligibility results.

A run holds every entity's result for one performance year as computed from one claims input.
Runs are kept; the newest run of a year answers lookups unless a run number is asked for.
Results store the facts (per-segment volumes, exceeded criteria, special statuses, reason
codes) compactly; the plain-language explanation is rendered from them with the year's policy.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from openqpp.db.base import Base, UtcDateTime, utcnow

Money = Numeric(18, 2)
BigId = BigInteger().with_variant(Integer(), "sqlite")


class DeterminationRun(Base):
    __tablename__ = "determination_runs"
    __table_args__ = (UniqueConstraint("performance_year", "run_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    performance_year: Mapped[int] = mapped_column(Integer)
    run_number: Mapped[int] = mapped_column(Integer)
    """Sequence of the run within its year (CMS's `runNum`)."""
    engine: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(500))
    input_fingerprint: Mapped[str] = mapped_column(String(64))
    policy_unverified: Mapped[list[str]] = mapped_column(JSON, default=list)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))


class RunClinician(Base):
    """A clinician as enrolled, for the run (names, type, QP status)."""

    __tablename__ = "run_clinicians"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("determination_runs.id", ondelete="CASCADE"), primary_key=True
    )
    npi: Mapped[str] = mapped_column(String(10), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    clinician_type: Mapped[str | None] = mapped_column(String(60))
    specialty_code: Mapped[str | None] = mapped_column(String(4))
    first_enrolled: Mapped[dt.date | None] = mapped_column(Date)
    qp_status: Mapped[str | None] = mapped_column(String(1))


class EligibilityResultRow(Base):
    """One entity's result in a run: individual (TIN/NPI), group (TIN), APM entity or VG."""

    __tablename__ = "eligibility_results"
    __table_args__ = (
        UniqueConstraint("run_id", "level", "entity_key"),
        Index("ix_eligibility_results_npi_run", "npi", "run_id"),
        Index("ix_eligibility_results_run_tin_level", "run_id", "tin", "level"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("determination_runs.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(20))
    entity_key: Mapped[str] = mapped_column(String(40))
    tin: Mapped[str | None] = mapped_column(String(9))
    npi: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    s1_allowed_charges: Mapped[Decimal | None] = mapped_column(Money)
    s1_beneficiaries: Mapped[int | None] = mapped_column(Integer)
    s1_covered_services: Mapped[int | None] = mapped_column(Integer)
    s1_patient_facing: Mapped[int | None] = mapped_column(Integer)
    s2_allowed_charges: Mapped[Decimal | None] = mapped_column(Money)
    s2_beneficiaries: Mapped[int | None] = mapped_column(Integer)
    s2_covered_services: Mapped[int | None] = mapped_column(Integer)
    s2_patient_facing: Mapped[int | None] = mapped_column(Integer)
    clinicians: Mapped[int | None] = mapped_column(Integer)
    exceeded: Mapped[str] = mapped_column(String(80), default="")
    """Comma-separated criteria exceeded in the deciding segment(s)."""
    special_statuses: Mapped[str] = mapped_column(String(200), default="")
    """Comma-separated `status:segment` pairs, e.g. `small_practice:1,rural:2`."""
    reasons: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    """Compact reason records (code and the facts the text is rendered from)."""


class RunApmParticipant(Base):
    """A TIN/NPI on an APM entity's participation list (any snapshot of the year)."""

    __tablename__ = "run_apm_participants"
    __table_args__ = (Index("ix_run_apm_participants_npi", "run_id", "npi"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("determination_runs.id", ondelete="CASCADE"), primary_key=True
    )
    apm_entity_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tin: Mapped[str] = mapped_column(String(9), primary_key=True)
    npi: Mapped[str] = mapped_column(String(10), primary_key=True)
    apm_model: Mapped[str] = mapped_column(String(100))
    mips_apm: Mapped[bool]
    advanced_apm: Mapped[bool]


class RunVirtualGroupMember(Base):
    """A TIN that belongs to a virtual group for the run's year."""

    __tablename__ = "run_virtual_group_members"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("determination_runs.id", ondelete="CASCADE"), primary_key=True
    )
    virtual_group_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    tin: Mapped[str] = mapped_column(String(9), primary_key=True)
