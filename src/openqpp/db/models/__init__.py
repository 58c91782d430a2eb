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
from openqpp.db.models.scoring import CostMeasureResultRow
from openqpp.db.models.submissions import (
    MeasurementRow,
    MeasurementSetRow,
    SubmissionReceipt,
    SubmissionRow,
    Upload,
    UploadFile,
)

__all__ = [
    "ApiToken",
    "ApmElectionLetter",
    "AuditRecord",
    "ClientAuthorisation",
    "CostMeasureResultRow",
    "DeterminationRun",
    "Election",
    "EligibilityResultRow",
    "EmailOutbox",
    "IdempotencyRecord",
    "MeasurementRow",
    "MeasurementSetRow",
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
    "SubmissionReceipt",
    "SubmissionRow",
    "Upload",
    "UploadFile",
    "User",
    "WebSession",
]
