"""Scoring inputs CMS calculates: the cost measure results the operator loads from CMS's file.

Nobody submits cost data: CMS calculates each cost measure from Medicare claims and reports, per
entity (a group's TIN or a clinician's TIN/NPI) and measure, the attributed cases, the case
minimum and the achievement points. ``openqpp scoring load-cost FILE --year Y`` stores them here,
one row per (performance year, entity, measure); loading the same measure again replaces the row
(the newer CMS file wins) and writes an audit record.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openqpp.db.base import Base, UtcDateTime, utcnow
from openqpp.db.models.eligibility import BigId


class CostMeasureResultRow(Base):
    __tablename__ = "cost_measure_results"
    __table_args__ = (
        UniqueConstraint("performance_year", "entity_key", "measure_id"),
        Index("ix_cost_measure_results_tin_year", "tin", "performance_year"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    performance_year: Mapped[int] = mapped_column(Integer)
    entity_key: Mapped[str] = mapped_column(String(20))
    """``TIN`` for a group, ``TIN/NPI`` for a clinician (the elections' entity key)."""
    tin: Mapped[str] = mapped_column(String(9))
    npi: Mapped[str | None] = mapped_column(String(10))
    measure_id: Mapped[str] = mapped_column(String(40))
    case_count: Mapped[int] = mapped_column(Integer)
    case_minimum: Mapped[int] = mapped_column(Integer)
    case_minimum_source: Mapped[str] = mapped_column(String(10))
    """``file`` (CMS's file gave it) or ``policy`` (``scoring.cost.case_minimums``)."""
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    """Achievement points CMS gave the measure (1-10); empty below the case minimum."""
    source_file: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(100))
