"""Access errors a person or API client can meet; each carries its HTTP status."""

from __future__ import annotations

import datetime as dt

from openqpp.core.errors import OpenQppError


class AccessError(OpenQppError):
    """Base class: ``http_status`` is what the web layer answers with."""

    http_status: int = 403
    code = "OQ-ACCESS-000"

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class NotConnected(AccessError):
    """No role at the target and no client authorisation for it. The message is the same whether
    or not the target exists, so a refusal never tells an outsider that an organisation is there."""

    code = "OQ-ACCESS-001"


class ActionRefused(AccessError):
    """The caller is connected to the target, but the permission matrix refuses the action."""

    code = "OQ-ACCESS-002"


class OutsideAllowedPeriod(AccessError):
    """The action is allowed only outside the submission period."""

    code = "OQ-ACCESS-003"


class NotFound(AccessError):
    """Something inside an organisation the caller may manage is not there (e.g. a token id)."""

    http_status = 404
    code = "OQ-ACCESS-005"


class RoleNotOffered(AccessError):
    """The role does not exist for this organisation type (e.g. Clinician at a registry)."""

    http_status = 400
    code = "OQ-ACCESS-004"


class Conflict(AccessError):
    http_status = 409
    code = "OQ-ACCESS-009"


class Invalid(AccessError):
    """Input a person typed that cannot be used (a form field, a date)."""

    http_status = 400
    code = "OQ-ACCESS-010"


class Unauthenticated(AccessError):
    """No valid session or API token."""

    http_status = 401
    code = "OQ-AUTH-001"

    @property
    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Bearer realm="openqpp"'}


class BadCredentials(AccessError):
    http_status = 401
    code = "OQ-AUTH-002"


class StatementOfTruthRequired(AccessError):
    http_status = 400
    code = "OQ-AUTH-004"


class SignInLocked(AccessError):
    """Too many failed sign-ins: refused until ``until`` without checking the password."""

    http_status = 429
    code = "OQ-AUTH-003"

    def __init__(self, message: str, *, fix: str, until: dt.datetime, now: dt.datetime) -> None:
        super().__init__(message, fix=fix)
        self.until = until
        self.retry_after = max(1, int((until - now).total_seconds() + 0.999))

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}
