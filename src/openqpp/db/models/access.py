"""Accounts, sign-in sessions and throttles, role grants, API tokens, client authorisations,
and the append-only audit log.

Secrets are never stored in clear: passwords as argon2id hashes, session cookies and API tokens
as SHA-256 digests (both are 256-bit random values, so a fast digest is enough to look them up).
The audit table refuses UPDATE and DELETE with database triggers (migration 0003).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from openqpp.db.base import Base, UtcDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    """A local account: user ID, name, e-mail and an argon2id password hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), unique=True)
    """What the person types to sign in (lower case)."""
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_signed_in_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A signed-in browser session; the cookie holds a random value, this row its digest."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_fk: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    statement_of_truth_agreed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    statement_of_truth_version: Mapped[str] = mapped_column(String(20))
    client_address: Mapped[str | None] = mapped_column(String(64))


class SignInThrottle(Base):
    """Consecutive failed sign-ins per typed user ID or per client address, and the lock."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    """``user:<user id as typed, lower case>`` or ``address:<client address>``."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class RoleGrant(Base):
    """A role a user asked for at an organisation, and what a Security Official (or the
    operator) decided. Approved grants may expire."""

    __tablename__ = "role_grants"
    __table_args__ = (Index("ix_role_grants_organisation_status", "organisation_fk", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_fk: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_fk: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    """``pending``, ``approved``, ``rejected`` or ``revoked``."""
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(500))
    """Why the user asks (shown to the Security Officials)."""
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    """The approver's user ID, or ``operator``."""
    decision_note: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """An organisation's API token; only its SHA-256 digest is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_fk: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class ClientAuthorisation(Base):
    """A registry may act for a practice (or one clinician of it) in one performance year."""

    __tablename__ = "client_authorisations"
    __table_args__ = (
        Index("ix_client_authorisations_practice_year", "practice_fk", "performance_year"),
        Index("ix_client_authorisations_registry_year", "registry_fk", "performance_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_fk: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    practice_fk: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    npi: Mapped[str | None] = mapped_column(String(10))
    """None: the whole practice (group and every clinician); else that clinician only."""
    performance_year: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[str] = mapped_column(String(100))
    """The practice Security Official's user ID, or ``operator``."""
    evidence: Mapped[str | None] = mapped_column(String(300))
    """For the operator: the signed agreement it was recorded from."""
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class AuditRecord(Base):
    """One state change. Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_organisation_occurred", "organisation_id", "occurred_at"),
        Index("ix_audit_records_tin", "tin"),
        Index("ix_audit_records_npi", "npi"),
        Index("ix_audit_records_actor", "actor"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    """User ID, ``token:<id>``, ``operator`` or the user ID typed at a failed sign-in."""
    role: Mapped[str | None] = mapped_column(String(30))
    on_behalf_of: Mapped[str | None] = mapped_column(String(120))
    """The organisation acted for, e.g. ``practice 123456789`` (and ``NPI ...``)."""
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    """The organisation acted on behalf of (no foreign key: records outlive everything)."""
    acting_organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The organisation whose role was used, when it is not ``organisation_id`` (a registry
    acting for a client practice)."""
    tin: Mapped[str | None] = mapped_column(String(9))
    npi: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
