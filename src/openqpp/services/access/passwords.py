"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

import secrets
import string
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from openqpp.core.access import Invalid

MIN_LENGTH = 12


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"The password has {len(password)} characters; it needs at least {MIN_LENGTH}.",
            fix="Choose a longer password (a few unrelated words work well).",
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return hasher().hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches. Without a hash (no such user) a dummy hash is checked,
    so the answer takes as long either way."""
    try:
        return hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def generate(length: int = 16) -> str:
    """A random password of letters and digits (for demo users and `openqpp access user add`)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
