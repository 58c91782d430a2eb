"""Determination runs, their clinicians, APM and virtual group members, and per-entity
eligibility results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:20:45.983857+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "determination_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("performance_year", sa.Integer(), nullable=False),
        sa.Column("run_number", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("input_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("policy_unverified", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_determination_runs")),
        sa.UniqueConstraint(
            "performance_year",
            "run_number",
            name=op.f("uq_determination_runs_performance_year_run_number"),
        ),
    )
    op.create_table(
        "eligibility_results",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("tin", sa.String(length=9), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("s1_allowed_charges", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("s1_beneficiaries", sa.Integer(), nullable=True),
        sa.Column("s1_covered_services", sa.Integer(), nullable=True),
        sa.Column("s1_patient_facing", sa.Integer(), nullable=True),
        sa.Column("s2_allowed_charges", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("s2_beneficiaries", sa.Integer(), nullable=True),
        sa.Column("s2_covered_services", sa.Integer(), nullable=True),
        sa.Column("s2_patient_facing", sa.Integer(), nullable=True),
        sa.Column("clinicians", sa.Integer(), nullable=True),
        sa.Column("exceeded", sa.String(length=80), nullable=False),
        sa.Column("special_statuses", sa.String(length=200), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["determination_runs.id"],
            name=op.f("fk_eligibility_results_run_id_determination_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_results")),
        sa.UniqueConstraint(
            "run_id",
            "level",
            "entity_key",
            name=op.f("uq_eligibility_results_run_id_level_entity_key"),
        ),
    )
    with op.batch_alter_table("eligibility_results", schema=None) as batch_op:
        batch_op.create_index("ix_eligibility_results_npi_run", ["npi", "run_id"], unique=False)
        batch_op.create_index(
            "ix_eligibility_results_run_tin_level", ["run_id", "tin", "level"], unique=False
        )

    op.create_table(
        "run_apm_participants",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("apm_entity_id", sa.String(length=20), nullable=False),
        sa.Column("tin", sa.String(length=9), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("apm_model", sa.String(length=100), nullable=False),
        sa.Column("mips_apm", sa.Boolean(), nullable=False),
        sa.Column("advanced_apm", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["determination_runs.id"],
            name=op.f("fk_run_apm_participants_run_id_determination_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "apm_entity_id", "tin", "npi", name=op.f("pk_run_apm_participants")
        ),
    )
    with op.batch_alter_table("run_apm_participants", schema=None) as batch_op:
        batch_op.create_index("ix_run_apm_participants_npi", ["run_id", "npi"], unique=False)

    op.create_table(
        "run_clinicians",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("clinician_type", sa.String(length=60), nullable=True),
        sa.Column("specialty_code", sa.String(length=4), nullable=True),
        sa.Column("first_enrolled", sa.Date(), nullable=True),
        sa.Column("qp_status", sa.String(length=1), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["determination_runs.id"],
            name=op.f("fk_run_clinicians_run_id_determination_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "npi", name=op.f("pk_run_clinicians")),
    )
    op.create_table(
        "run_virtual_group_members",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("virtual_group_id", sa.String(length=20), nullable=False),
        sa.Column("tin", sa.String(length=9), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["determination_runs.id"],
            name=op.f("fk_run_virtual_group_members_run_id_determination_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "virtual_group_id", "tin", name=op.f("pk_run_virtual_group_members")
        ),
    )


def downgrade() -> None:
    op.drop_table("run_virtual_group_members")
    op.drop_table("run_clinicians")
    with op.batch_alter_table("run_apm_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_run_apm_participants_npi")

    op.drop_table("run_apm_participants")
    with op.batch_alter_table("eligibility_results", schema=None) as batch_op:
        batch_op.drop_index("ix_eligibility_results_run_tin_level")
        batch_op.drop_index("ix_eligibility_results_npi_run")

    op.drop_table("eligibility_results")
    op.drop_table("determination_runs")
