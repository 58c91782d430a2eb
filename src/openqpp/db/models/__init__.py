"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from openqpp.db.models.eligibility import (
    DeterminationRun,
    EligibilityResultRow,
    RunApmParticipant,
    RunClinician,
    RunVirtualGroupMember,
)
from openqpp.db.models.organisations import Organisation, OrganisationKind

__all__ = [
    "DeterminationRun",
    "EligibilityResultRow",
    "Organisation",
    "OrganisationKind",
    "RunApmParticipant",
    "RunClinician",
    "RunVirtualGroupMember",
]
