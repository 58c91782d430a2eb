"""Access: accounts, sign-in sessions and throttles, role grants, API tokens, client
authorisations, the append-only audit log, and registry type / APM model on organisations.

The audit table refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) with triggers. A later
migration that rebuilds ``audit_records`` with SQLite batch mode must create them again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:26:46.549911+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


APPEND_ONLY_MESSAGE = "audit records are append-only: UPDATE and DELETE are refused"

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END
    """,
)

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_records_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()
    """,
    """
    CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()
    """,
)


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements: tuple[str, ...]
    if dialect == "sqlite":
        statements = SQLITE_TRIGGERS
    elif dialect == "postgresql":
        statements = POSTGRESQL_TRIGGERS
    else:  # pragma: no cover - openqpp supports SQLite and PostgreSQL only
        raise NotImplementedError(f"no append-only triggers for {dialect}")
    for statement in statements:
        op.execute(statement)


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records")
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_update_or_delete ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS audit_records_append_only()")


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=120), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("acting_organisation_id", sa.Integer(), nullable=True),
        sa.Column("tin", sa.String(length=9), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_records_acting_organisation_id"),
            ["acting_organisation_id"],
            unique=False,
        )
        batch_op.create_index("ix_audit_records_actor", ["actor"], unique=False)
        batch_op.create_index("ix_audit_records_npi", ["npi"], unique=False)
        batch_op.create_index(
            "ix_audit_records_organisation_occurred",
            ["organisation_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index("ix_audit_records_tin", ["tin"], unique=False)

    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("user_id", name=op.f("uq_users_user_id")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_fk", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_fk"],
            ["organisations.id"],
            name=op.f("fk_api_tokens_organisation_fk_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_organisation_fk"), ["organisation_fk"], unique=False
        )

    op.create_table(
        "client_authorisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registry_fk", sa.Integer(), nullable=False),
        sa.Column("practice_fk", sa.Integer(), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("performance_year", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("evidence", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_fk"],
            ["organisations.id"],
            name=op.f("fk_client_authorisations_practice_fk_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["registry_fk"],
            ["organisations.id"],
            name=op.f("fk_client_authorisations_registry_fk_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_authorisations")),
    )
    with op.batch_alter_table("client_authorisations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_client_authorisations_practice_year",
            ["practice_fk", "performance_year"],
            unique=False,
        )
        batch_op.create_index(
            "ix_client_authorisations_registry_year",
            ["registry_fk", "performance_year"],
            unique=False,
        )

    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_fk", sa.Integer(), nullable=False),
        sa.Column("organisation_fk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_fk"],
            ["organisations.id"],
            name=op.f("fk_role_grants_organisation_fk_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_fk"], ["users.id"], name=op.f("fk_role_grants_user_fk_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
    )
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_role_grants_organisation_status", ["organisation_fk", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_role_grants_user_fk"), ["user_fk"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_fk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statement_of_truth_agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement_of_truth_version", sa.String(length=20), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_fk"], ["users.id"], name=op.f("fk_web_sessions_user_fk_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_fk"), ["user_fk"], unique=False)

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registry_type", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("apm_model", sa.String(length=100), nullable=True))

    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("apm_model")
        batch_op.drop_column("registry_type")

    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_fk"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_grants_user_fk"))
        batch_op.drop_index("ix_role_grants_organisation_status")

    op.drop_table("role_grants")
    with op.batch_alter_table("client_authorisations", schema=None) as batch_op:
        batch_op.drop_index("ix_client_authorisations_registry_year")
        batch_op.drop_index("ix_client_authorisations_practice_year")

    op.drop_table("client_authorisations")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_organisation_fk"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("sign_in_throttles")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_tin")
        batch_op.drop_index("ix_audit_records_organisation_occurred")
        batch_op.drop_index("ix_audit_records_npi")
        batch_op.drop_index("ix_audit_records_actor")
        batch_op.drop_index(batch_op.f("ix_audit_records_acting_organisation_id"))

    op.drop_table("audit_records")
