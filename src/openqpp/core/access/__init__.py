"""Access: roles, organisation types, the permission matrix and the decision rule (pure).

The matrix data lives in ``openqpp/services/access/permissions.yaml``; the services layer reads
it and passes it to :meth:`PermissionMatrix.from_mapping`.
"""

from openqpp.core.access.errors import (
    AccessError,
    ActionRefused,
    BadCredentials,
    Conflict,
    Invalid,
    NotConnected,
    NotFound,
    OutsideAllowedPeriod,
    RoleNotOffered,
    SignInLocked,
    StatementOfTruthRequired,
    Unauthenticated,
)
from openqpp.core.access.matrix import (
    Cell,
    Decision,
    MatrixError,
    PermissionMatrix,
    decide,
    describe,
    describe_target,
    not_connected,
)
from openqpp.core.access.model import (
    Action,
    ClientLink,
    DataScope,
    Effect,
    Grant,
    OrganisationRef,
    OrganisationType,
    Reach,
    Role,
    Target,
)
from openqpp.core.access.statement import STATEMENT_OF_TRUTH, STATEMENT_OF_TRUTH_VERSION
from openqpp.core.access.throttle import PER_ADDRESS, PER_USER, BackOff

__all__ = [
    "PER_ADDRESS",
    "PER_USER",
    "STATEMENT_OF_TRUTH",
    "STATEMENT_OF_TRUTH_VERSION",
    "AccessError",
    "Action",
    "ActionRefused",
    "BackOff",
    "BadCredentials",
    "Cell",
    "ClientLink",
    "Conflict",
    "DataScope",
    "Decision",
    "Effect",
    "Grant",
    "Invalid",
    "MatrixError",
    "NotConnected",
    "NotFound",
    "OrganisationRef",
    "OrganisationType",
    "OutsideAllowedPeriod",
    "PermissionMatrix",
    "Reach",
    "Role",
    "RoleNotOffered",
    "SignInLocked",
    "StatementOfTruthRequired",
    "Target",
    "Unauthenticated",
    "decide",
    "describe",
    "describe_target",
    "not_connected",
]
