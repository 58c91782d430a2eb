"""Organisations: practices, registries, virtual groups and APM entities.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:11:09.077501+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "practice",
                "registry",
                "virtual_group",
                "apm_entity",
                name="organisation_kind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("identifier", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("kind", "identifier", name=op.f("uq_organisations_kind_identifier")),
    )


def downgrade() -> None:
    op.drop_table("organisations")
