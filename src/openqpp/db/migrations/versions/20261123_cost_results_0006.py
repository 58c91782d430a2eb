"""Cost results: the CMS cost measure results the operator loads (`openqpp scoring load-cost`),
one row per performance year, entity (TIN or TIN/NPI) and cost measure.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:06:48.391262+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_measure_results",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("performance_year", sa.Integer(), nullable=False),
        sa.Column("entity_key", sa.String(length=20), nullable=False),
        sa.Column("tin", sa.String(length=9), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("measure_id", sa.String(length=40), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("case_minimum", sa.Integer(), nullable=False),
        sa.Column("case_minimum_source", sa.String(length=10), nullable=False),
        sa.Column("points", sa.Numeric(precision=8, scale=4), nullable=True),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_measure_results")),
        sa.UniqueConstraint(
            "performance_year",
            "entity_key",
            "measure_id",
            name=op.f("uq_cost_measure_results_performance_year_entity_key_measure_id"),
        ),
    )
    with op.batch_alter_table("cost_measure_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cost_measure_results_tin_year", ["tin", "performance_year"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cost_measure_results", schema=None) as batch_op:
        batch_op.drop_index("ix_cost_measure_results_tin_year")

    op.drop_table("cost_measure_results")
