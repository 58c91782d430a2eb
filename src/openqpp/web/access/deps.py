"""FastAPI dependencies: the current user (pages) or API principal, transactions, context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from fastapi import Request

from openqpp.core.access import Unauthenticated
from openqpp.services import access, database
from openqpp.services.audit import RequestContext
from openqpp.web.access.security import CSRF_HEADER, SAFE_METHODS, check_csrf, client_address
from openqpp.web.logs import request_id_var


class SignInRequired(Exception):
    """A page needs a signed-in user: answered with a redirect to /signin."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@contextmanager
def transaction(request: Request) -> Iterator[access.DbSession]:
    """One transaction: commits when the block ends, rolls back on any error."""
    with database.session_factory(request.app.state.settings.database_url).begin() as session:
        yield session


def context(request: Request) -> RequestContext:
    return RequestContext(request_id=request_id_var.get(), client_address=client_address(request))


def page_user(request: Request) -> access.Principal:
    principal: access.Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(quote(target, safe="/?=&"))
    return principal


def api_principal(request: Request) -> access.Principal:
    """A Bearer token if one is sent (invalid: 401), else the signed-in session (unsafe methods
    then need the X-CSRF-Token header), else 401."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(
                "The Authorization header is not a Bearer token.",
                fix="Send 'Authorization: Bearer <token>' with your organisation's API token.",
            )
        # Outside a transaction (on PostgreSQL the SELECT commits on its own: no BEGIN and
        # COMMIT round trips per API call); the token's last use, written at most once a
        # minute, commits with the commit below.
        with database.reading(request.app.state.settings.database_url) as session:
            by_token = access.principal_for_token(session, value.strip())
            session.commit()
        return by_token
    principal: access.Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthenticated(
            "This API needs an API token or a signed-in session.",
            fix="Send 'Authorization: Bearer <token>'; a Security Official of your "
            "organisation creates tokens under Organisation > API tokens.",
        )
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


def optional_principal(request: Request) -> access.Principal | None:
    """The API principal when the request carries a token or a signed-in session, else None
    (public endpoints answer anonymous callers too, with less detail). A bad token is 401."""
    if (
        request.headers.get("authorization") is None
        and getattr(request.state, "principal", None) is None
    ):
        return None
    return api_principal(request)
