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
from openqpp.db.models.eligibility import (
    DeterminationRun,
    EligibilityResultRow,
    RunApmParticipant,
    RunClinician,
    RunVirtualGroupMember,
)
from openqpp.db.models.organisations import Organisation, OrganisationKind

__all__ = [
    "ApiToken",
    "AuditRecord",
    "ClientAuthorisation",
    "DeterminationRun",
    "EligibilityResultRow",
    "Organisation",
    "OrganisationKind",
    "RoleGrant",
    "RunApmParticipant",
    "RunClinician",
    "RunVirtualGroupMember",
    "SignInThrottle",
    "User",
    "WebSession",
]
