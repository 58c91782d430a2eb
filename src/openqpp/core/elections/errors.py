"""Why an election is refused: one class and one stable code per reason, each with a message
that says what is wrong and how to fix it, and the HTTP status the web layer answers with.

| code | refusal |
|---|---|
| OQ-ELECT-001 | the entity is not opt-in eligible at its level in the determination run |
| OQ-ELECT-002 | the entity already has an election for the year (final) |
| OQ-ELECT-003 | the election window is not open yet |
| OQ-ELECT-004 | the election window has closed |
| OQ-ELECT-005 | the person or token is not allowed to elect for this entity |
| OQ-ELECT-006 | elections are not made at this level (virtual group; APM entity in the year) |
| OQ-ELECT-007 | the reporting pathway is not available with this election (voluntary APP, MVP) |
| OQ-ELECT-008 | CONFIRM was not typed |
| OQ-ELECT-009 | the decision is not opt-in or voluntary |
| OQ-ELECT-010 | an idempotency key was reused for a different request |
| OQ-ELECT-011 | the request is malformed (empty, too many entities, an entity twice) |
| OQ-ELECT-012 | there is no election to show |
| OQ-ELECT-020..022 | public reporting opt-out refusals |
| OQ-ELECT-030 | an APM entity's opt-in letter is incomplete |
"""

from __future__ import annotations

from openqpp.core.elections.model import ExistingElection
from openqpp.core.errors import OpenQppError


class ElectionRefused(OpenQppError):
    """Base class of every election refusal."""

    http_status: int = 422
    code = "OQ-ELECT-000"


class NotOptInEligible(ElectionRefused):
    code = "OQ-ELECT-001"


class AlreadyElected(ElectionRefused):
    """Exactly one election per (performance year, entity); ``existing`` is the one there is."""

    http_status = 409
    code = "OQ-ELECT-002"

    def __init__(self, message: str, *, fix: str, existing: ExistingElection) -> None:
        super().__init__(message, fix=fix)
        self.existing = existing


class WindowNotOpenYet(ElectionRefused):
    code = "OQ-ELECT-003"


class WindowClosed(ElectionRefused):
    code = "OQ-ELECT-004"


class ElectionNotAuthorised(ElectionRefused):
    """``access_code`` keeps the permission matrix's own code (OQ-ACCESS-001/002) when the
    refusal came from it."""

    http_status = 403
    code = "OQ-ELECT-005"

    def __init__(self, message: str, *, fix: str, access_code: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.access_code = access_code


class WrongLevel(ElectionRefused):
    code = "OQ-ELECT-006"


class PathwayNotAvailable(ElectionRefused):
    code = "OQ-ELECT-007"


class ConfirmationRequired(ElectionRefused):
    code = "OQ-ELECT-008"


class InvalidDecision(ElectionRefused):
    http_status = 400
    code = "OQ-ELECT-009"


class IdempotencyKeyReused(ElectionRefused):
    code = "OQ-ELECT-010"


class InvalidElectionRequest(ElectionRefused):
    http_status = 400
    code = "OQ-ELECT-011"


class NoElection(ElectionRefused):
    http_status = 404
    code = "OQ-ELECT-012"


class NotVoluntaryReporter(ElectionRefused):
    code = "OQ-ELECT-020"


class OutsidePreviewPeriod(ElectionRefused):
    code = "OQ-ELECT-021"


class AlreadyOptedOutOfPublicReporting(ElectionRefused):
    http_status = 409
    code = "OQ-ELECT-022"


class LetterIncomplete(ElectionRefused):
    http_status = 400
    code = "OQ-ELECT-030"
