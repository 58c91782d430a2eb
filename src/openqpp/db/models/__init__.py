"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from openqpp.db.models.access import (
    ApiToken,
    AuditRecord,
    ClientAuthorisation,
    RoleGrant,
    SignInThrottle,
    User,
    WebSession,
)
from openqpp.db.models.elections import (
    ApmElectionLetter,
    Election,
    IdempotencyRecord,
    PublicReportingOptOut,
    PublicReportingPreview,
)
from openqpp.db.models.eligibility import (
    DeterminationRun,
    EligibilityResultRow,
    RunApmParticipant,
    RunClinician,
    RunVirtualGroupMember,
)
from openqpp.db.models.notifications import EmailOutbox, Notification
from openqpp.db.models.organisations import Organisation, OrganisationKind

__all__ = [
    "ApiToken",
    "ApmElectionLetter",
    "AuditRecord",
    "ClientAuthorisation",
    "DeterminationRun",
    "Election",
    "EligibilityResultRow",
    "EmailOutbox",
    "IdempotencyRecord",
    "Notification",
    "Organisation",
    "OrganisationKind",
    "PublicReportingOptOut",
    "PublicReportingPreview",
    "RoleGrant",
    "RunApmParticipant",
    "RunClinician",
    "RunVirtualGroupMember",
    "SignInThrottle",
    "User",
    "WebSession",
]
