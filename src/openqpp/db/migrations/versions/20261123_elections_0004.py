"""Elections: opt-in and voluntary reporting elections, APM entity opt-in letters, public
reporting opt-outs and preview periods, idempotency records, notifications and the e-mail outbox.

Elections, letters and opt-outs are final: triggers refuse UPDATE and DELETE on them (and
TRUNCATE on PostgreSQL), like the audit_records triggers of migration 0003. A later migration
that rebuilds one of these tables with SQLite batch mode must create its triggers again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:31:50.535996+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FINAL_TABLES = ("elections", "apm_election_letters", "public_reporting_opt_outs")
FINAL_MESSAGE = "elections are final: UPDATE and DELETE are refused"


def _sqlite_triggers(table: str) -> tuple[str, ...]:
    return (
        f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{FINAL_MESSAGE} ({table})'); END
        """,
        f"""
        CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{FINAL_MESSAGE} ({table})'); END
        """,
    )


POSTGRESQL_FUNCTION = f"""
    CREATE FUNCTION elections_are_final() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{FINAL_MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END
    $$
"""


def _postgresql_triggers(table: str) -> tuple[str, ...]:
    return (
        f"""
        CREATE TRIGGER {table}_no_update_or_delete BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION elections_are_final()
        """,
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION elections_are_final()
        """,
    )


def _create_final_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements: list[str] = []
    if dialect == "sqlite":
        for table in FINAL_TABLES:
            statements += _sqlite_triggers(table)
    elif dialect == "postgresql":
        statements.append(POSTGRESQL_FUNCTION)
        for table in FINAL_TABLES:
            statements += _postgresql_triggers(table)
    else:  # pragma: no cover - openqpp supports SQLite and PostgreSQL only
        raise NotImplementedError(f"no final-row triggers for {dialect}")
    for statement in statements:
        op.execute(statement)


def _drop_final_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in FINAL_TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_or_delete ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS elections_are_final()")


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_idempotency_records_scope_key")),
    )
    op.create_table(
        "public_reporting_previews",
        sa.Column("performance_year", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("performance_year", name=op.f("pk_public_reporting_previews")),
    )
    op.create_table(
        "elections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("performance_year", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("entity_key", sa.String(length=40), nullable=False),
        sa.Column("tin", sa.String(length=9), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("apm_entity_id", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("pathway", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("determination_run_id", sa.Integer(), nullable=False),
        sa.Column("run_number", sa.Integer(), nullable=False),
        sa.Column("status_at_election", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("actor_kind", sa.String(length=30), nullable=False),
        sa.Column("acting_organisation_id", sa.Integer(), nullable=True),
        sa.Column("on_behalf_of_organisation_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("confirmation_text", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["acting_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_elections_acting_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["determination_run_id"],
            ["determination_runs.id"],
            name=op.f("fk_elections_determination_run_id_determination_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["on_behalf_of_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_elections_on_behalf_of_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elections")),
        sa.UniqueConstraint(
            "performance_year",
            "level",
            "entity_key",
            name=op.f("uq_elections_performance_year_level_entity_key"),
        ),
    )
    with op.batch_alter_table("elections", schema=None) as batch_op:
        batch_op.create_index("ix_elections_npi", ["npi"], unique=False)
        batch_op.create_index("ix_elections_tin_year", ["tin", "performance_year"], unique=False)

    op.create_table(
        "apm_election_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("apm_entity_id", sa.String(length=20), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_apm_election_letters_election_id_elections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apm_election_letters")),
        sa.UniqueConstraint("election_id", name=op.f("uq_apm_election_letters_election_id")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["election_id"], ["elections.id"], name=op.f("fk_notifications_election_id_elections")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notifications_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_organisation_created", ["organisation_id", "id"], unique=False
        )

    op.create_table(
        "public_reporting_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("acting_organisation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acting_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_public_reporting_opt_outs_acting_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_public_reporting_opt_outs_election_id_elections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_reporting_opt_outs")),
        sa.UniqueConstraint("election_id", name=op.f("uq_public_reporting_opt_outs_election_id")),
    )
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_email_outbox_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    _create_final_triggers()


def downgrade() -> None:
    _drop_final_triggers()
    op.drop_table("email_outbox")
    op.drop_table("public_reporting_opt_outs")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_organisation_created")

    op.drop_table("notifications")
    op.drop_table("apm_election_letters")
    with op.batch_alter_table("elections", schema=None) as batch_op:
        batch_op.drop_index("ix_elections_tin_year")
        batch_op.drop_index("ix_elections_npi")

    op.drop_table("elections")
    op.drop_table("public_reporting_previews")
    op.drop_table("idempotency_records")
