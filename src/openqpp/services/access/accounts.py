"""Local accounts, sign-in with the Statement of Truth, sessions, back-off, and sign-out."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openqpp.core.access import (
    PER_ADDRESS,
    PER_USER,
    STATEMENT_OF_TRUTH_VERSION,
    AccessError,
    BackOff,
    BadCredentials,
    Conflict,
    Invalid,
    SignInLocked,
    StatementOfTruthRequired,
)
from openqpp.db.base import utcnow
from openqpp.db.models import SignInThrottle, User, WebSession
from openqpp.services import audit
from openqpp.services.access import passwords
from openqpp.services.access.principals import Principal, digest, user_grants

SESSION_LIFETIME = dt.timedelta(hours=12)
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_user_id(raw: str) -> str:
    return str(raw).strip().lower()


def check_user_id(raw: str) -> str:
    value = normalise_user_id(raw)
    if not _USER_ID.match(value):
        raise Invalid(
            f"User ID {raw!r} is not valid.",
            fix="Use 3 to 64 characters: letters, digits, dots, dashes, underscores or @, "
            "starting with a letter or digit.",
        )
    return value


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    user_id: str
    name: str
    email: str


def create_user(
    session: Session,
    *,
    user_id: str,
    name: str,
    email: str,
    password: str,
    actor: str = "operator",
    context: audit.RequestContext = audit.OPERATOR,
) -> UserInfo:
    """Create a local account (operator use). The password is stored as an argon2id hash."""
    uid = check_user_id(user_id)
    if not name.strip():
        raise Invalid("The user needs a name.", fix="Give the person's full name.")
    if not _EMAIL.match(email.strip()):
        raise Invalid(f"E-mail {email!r} is not valid.", fix="Give an address like a@b.org.")
    if session.scalar(select(User.id).where(User.user_id == uid)) is not None:
        raise Conflict(f"User ID {uid} is taken.", fix="Choose another user ID.")
    user = User(
        user_id=uid,
        name=name.strip(),
        email=email.strip(),
        password_hash=passwords.hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=actor,
        role=None,
        on_behalf_of=None,
        action="user.created",
        object_type="user",
        object_id=user.user_id,
        after={"user_id": user.user_id, "name": user.name, "email": user.email},
    )
    return UserInfo(user.id, user.user_id, user.name, user.email)


def set_password(session: Session, *, user_id: str, password: str, actor: str = "operator") -> None:
    """Set a new password and end every session of the user: a browser signed in with the old
    password (perhaps someone else's) must sign in again."""
    user = session.scalar(select(User).where(User.user_id == normalise_user_id(user_id)))
    if user is None:
        raise Invalid(f"No user {user_id!r}.", fix="Check the user ID.")
    user.password_hash = passwords.hash_password(password)
    now = utcnow()
    open_sessions = session.scalars(
        select(WebSession).where(WebSession.user_fk == user.id, WebSession.ended_at.is_(None))
    ).all()
    for web_session in open_sessions:
        web_session.ended_at = now
    audit.record_in_context(
        session,
        audit.OPERATOR,
        actor=actor,
        role=None,
        on_behalf_of=None,
        action="user.password_set",
        object_type="user",
        object_id=user.user_id,
        after={"sessions_ended": len(open_sessions)},
    )


def find_user(session: Session, user_id: str) -> UserInfo | None:
    user = session.scalar(select(User).where(User.user_id == normalise_user_id(user_id)))
    return UserInfo(user.id, user.user_id, user.name, user.email) if user else None


# ---------------------------------------------------------------- throttling


def _throttle(session: Session, key: str) -> SignInThrottle:
    row = session.get(SignInThrottle, key, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = SignInThrottle(key=key, failures=0)
            session.add(row)
    except IntegrityError:  # another request created it first
        row = session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None
    return row


def _keys(user_id: str, client_address: str | None) -> list[tuple[str, BackOff]]:
    keys = [(f"user:{user_id[:100]}", PER_USER)]
    if client_address:
        keys.append((f"address:{client_address[:100]}", PER_ADDRESS))
    return keys


def _locked_until(
    session: Session, keys: list[tuple[str, BackOff]], now: dt.datetime
) -> dt.datetime | None:
    until = None
    for key, _ in keys:
        row = session.get(SignInThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            until = max(until, row.locked_until) if until else row.locked_until
    return until


def _locked_error(until: dt.datetime, now: dt.datetime) -> SignInLocked:
    return SignInLocked(
        "Too many failed sign-in attempts. Sign-in is locked until "
        f"{until.strftime('%H:%M:%S')} UTC on {until.strftime('%Y-%m-%d')}.",
        fix="Wait until then and try again; each further failure doubles the wait. If you "
        "forgot your password, ask your administrator to reset it.",
        until=until,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    """Either a new session (``session_token`` for the cookie) or the error to show. Failures
    are returned, not raised, so the caller commits the failure count and its audit record."""

    session_token: str | None = None
    expires_at: dt.datetime | None = None
    principal: Principal | None = None
    error: AccessError | None = None


def sign_in(
    session: Session,
    *,
    user_id: str,
    password: str,
    agreed_to_statement_of_truth: bool,
    context: audit.RequestContext,
    now: dt.datetime | None = None,
) -> SignInOutcome:
    """Check the password and start a session, recording the Statement of Truth agreement.

    Refused at once (without checking the password) while a back-off lock holds for the user ID
    typed or the client address. Every failure and success is audited.
    """
    now = now or utcnow()
    if not agreed_to_statement_of_truth:
        return SignInOutcome(
            error=StatementOfTruthRequired(
                "You must agree to the Statement of Truth to sign in.",
                fix="Read the Statement of Truth, tick 'I agree', and sign in again.",
            )
        )
    uid = normalise_user_id(user_id)[:64]
    if not uid or not password:
        return SignInOutcome(
            error=Invalid("Enter your user ID and password.", fix="Fill in both fields.")
        )
    keys = _keys(uid, context.client_address)
    until = _locked_until(session, keys, now)
    if until is not None:
        audit.record_in_context(
            session,
            context,
            actor=uid,
            role=None,
            on_behalf_of=None,
            action="sign_in.refused_locked",
            object_type="user",
            object_id=uid,
            after={"locked_until": until},
            at=now,
        )
        return SignInOutcome(error=_locked_error(until, now))
    user = session.scalar(select(User).where(User.user_id == uid))
    ok = passwords.verify(user.password_hash if user and user.active else None, password)
    if not ok or user is None:
        lock: dt.datetime | None = None
        failures = 0
        for key, backoff in keys:
            row = _throttle(session, key)
            row.failures, row.locked_until = backoff.after_failure(
                row.failures, row.last_failure_at, now
            )
            row.last_failure_at = now
            if key.startswith("user:"):
                failures = row.failures
            if row.locked_until is not None:
                lock = max(lock, row.locked_until) if lock else row.locked_until
        audit.record_in_context(
            session,
            context,
            actor=uid,
            role=None,
            on_behalf_of=None,
            action="sign_in.failed",
            object_type="user",
            object_id=uid,
            after={"consecutive_failures": failures, "locked_until": lock},
            at=now,
        )
        if lock is not None:
            return SignInOutcome(error=_locked_error(lock, now))
        return SignInOutcome(
            error=BadCredentials(
                "The user ID or password is not right.",
                fix="Check both and try again; after "
                f"{max(PER_USER.free_attempts - failures, 0)} more failed attempt(s) sign-in "
                "is locked for a while.",
            )
        )
    user_throttle = session.get(SignInThrottle, keys[0][0])
    if user_throttle is not None:
        session.delete(user_throttle)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hasher().hash(password)
    token = secrets.token_urlsafe(32)
    web_session = WebSession(
        token_hash=digest(token),
        user_fk=user.id,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        statement_of_truth_agreed_at=now,
        statement_of_truth_version=STATEMENT_OF_TRUTH_VERSION,
        client_address=(context.client_address or "")[:64] or None,
    )
    session.add(web_session)
    user.last_signed_in_at = now
    session.flush()
    audit.record_in_context(
        session,
        context,
        actor=user.user_id,
        role=None,
        on_behalf_of=None,
        action="sign_in",
        object_type="session",
        object_id=web_session.id,
        after={
            "statement_of_truth_agreed_at": now,
            "statement_of_truth_version": STATEMENT_OF_TRUTH_VERSION,
            "expires_at": web_session.expires_at,
        },
        at=now,
    )
    grants, names = user_grants(session, user_pk=user.id, now=now)
    principal = Principal(
        kind="user",
        actor=user.user_id,
        name=user.name,
        grants=grants,
        user_pk=user.id,
        session_id=web_session.id,
        organisation_names=names,
    )
    return SignInOutcome(
        session_token=token, expires_at=web_session.expires_at, principal=principal
    )


def principal_for_session(
    session: Session, token: str | None, *, now: dt.datetime | None = None
) -> Principal | None:
    """The signed-in user behind a session cookie, or None (unknown, ended or expired)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_fk)
        .where(WebSession.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.ended_at is not None or web_session.expires_at <= now or not user.active:
        return None
    grants, names = user_grants(session, user_pk=user.id, now=now)
    return Principal(
        kind="user",
        actor=user.user_id,
        name=user.name,
        grants=grants,
        user_pk=user.id,
        session_id=web_session.id,
        organisation_names=names,
    )


def sign_out(
    session: Session,
    *,
    token: str | None,
    context: audit.RequestContext,
    now: dt.datetime | None = None,
) -> bool:
    """End the session behind ``token``; True when one was ended."""
    if not token or len(token) > 200:
        return False
    now = now or utcnow()
    web_session = session.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
    if web_session is None or web_session.ended_at is not None:
        return False
    web_session.ended_at = now
    user = session.get(User, web_session.user_fk)
    audit.record_in_context(
        session,
        context,
        actor=user.user_id if user else "unknown",
        role=None,
        on_behalf_of=None,
        action="sign_out",
        object_type="session",
        object_id=web_session.id,
        before={"ended_at": None},
        after={"ended_at": now},
        at=now,
    )
    return True
