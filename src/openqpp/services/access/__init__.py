"""Access use cases: accounts and sign-in, roles, registry clients, API tokens, the permission
matrix and ``authorize``. Each function takes an explicit session and audits what it changes.

Other domains call :func:`authorize` before acting and :func:`practice_by_tin` to find a
practice; both are re-exported here.
"""

from sqlalchemy.orm import Session as DbSession

from openqpp.services.access.accounts import (
    SignInOutcome,
    UserInfo,
    create_user,
    find_user,
    principal_for_session,
    set_password,
    sign_in,
    sign_out,
)
from openqpp.services.access.authorize import allowed, authorize, in_submission_period
from openqpp.services.access.clients import (
    ClientAuthorisationInfo,
    ClientsPage,
    authorise,
    clients_page,
    operator_authorise,
    revoke,
)
from openqpp.services.access.matrix import load_matrix
from openqpp.services.access.organisations import (
    OrganisationInfo,
    create,
    list_all,
    organisation_type,
    practice_by_tin,
)
from openqpp.services.access.pages import (
    AccountPage,
    AuditPage,
    OrganisationPage,
    PermissionsPage,
    account_page,
    audit_page,
    organisation_page,
    permissions_page,
)
from openqpp.services.access.passwords import generate as generate_password
from openqpp.services.access.principals import OPERATOR, Principal
from openqpp.services.access.roles import RoleGrantInfo, decide, operator_grant, request_role
from openqpp.services.access.tokens import (
    CreatedToken,
    TokenInfo,
    TokensPage,
    create_token,
    list_tokens,
    principal_for_token,
    revoke_token,
)

__all__ = [
    "OPERATOR",
    "AccountPage",
    "AuditPage",
    "ClientAuthorisationInfo",
    "ClientsPage",
    "CreatedToken",
    "DbSession",
    "OrganisationInfo",
    "OrganisationPage",
    "PermissionsPage",
    "Principal",
    "RoleGrantInfo",
    "SignInOutcome",
    "TokenInfo",
    "TokensPage",
    "UserInfo",
    "account_page",
    "allowed",
    "audit_page",
    "authorise",
    "authorize",
    "clients_page",
    "create",
    "create_token",
    "create_user",
    "decide",
    "find_user",
    "generate_password",
    "in_submission_period",
    "list_all",
    "list_tokens",
    "load_matrix",
    "operator_authorise",
    "operator_grant",
    "organisation_page",
    "organisation_type",
    "permissions_page",
    "practice_by_tin",
    "principal_for_session",
    "principal_for_token",
    "request_role",
    "revoke",
    "revoke_token",
    "set_password",
    "sign_in",
    "sign_out",
]
