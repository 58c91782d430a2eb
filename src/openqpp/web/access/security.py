"""Cookies and CSRF for the pages: the session cookie (HttpOnly, SameSite=Lax, Secure over
TLS), a per-browser CSRF secret, and the check every form POST passes.

The CSRF token in a form is an HMAC of the session cookie keyed with the browser's CSRF secret
cookie, so it changes at sign-in and a token from one session is useless in another. Requests
authenticated with an API token (``Authorization: Bearer``) carry no cookies and need no token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqpp.core.errors import OpenQppError
from openqpp.services import access, database

SESSION_COOKIE = "oq_session"
CSRF_COOKIE = "oq_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_NO_COOKIE_PREFIXES = ("/static/", "/healthz")


class CsrfRefused(OpenQppError):
    http_status = 403
    code = "OQ-CSRF-001"


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(request: Request) -> str:
    """The token forms on this page must send back (templates call this)."""
    secret = getattr(request.state, "csrf_secret", "") or ""
    session = request.cookies.get(SESSION_COOKIE, "")
    mac = hmac.new(secret.encode(), b"csrf|" + session.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def check_csrf(request: Request, offered: str | None) -> None:
    secret = request.cookies.get(CSRF_COOKIE)
    if not secret or not offered or not hmac.compare_digest(offered, csrf_token(request)):
        raise CsrfRefused(
            "This form was refused because it did not carry a valid security token "
            "(it may have expired, or come from another site).",
            fix="Go back, reload the page and submit the form again.",
        )


async def require_csrf(request: Request) -> None:
    """Dependency for page routes: unsafe methods need the form field (or header) token."""
    if request.method in SAFE_METHODS:
        return
    offered = request.headers.get(CSRF_HEADER)
    if offered is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            offered = value if isinstance(value, str) else None
    check_csrf(request, offered)


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def set_csrf_cookie(request: Request, response: Response, secret: str) -> None:
    """The browser's CSRF secret cookie (HttpOnly, SameSite=Lax, Secure over TLS)."""
    response.set_cookie(
        CSRF_COOKIE, secret, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def renew_csrf_secret(request: Request, response: Response) -> None:
    """A new CSRF secret for the browser (at sign-in): nothing from before sign-in, even a
    secret cookie planted by someone else, carries over into the signed-in session."""
    set_csrf_cookie(request, response, secrets.token_urlsafe(32))


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


def _principal(database_url: str, token: str) -> access.Principal | None:
    try:
        with database.session_factory(database_url)() as session:
            return access.principal_for_session(session, token)
    except Exception:  # an unmigrated or unreachable database: treat as signed out
        return None


class AccessMiddleware:
    """Resolve the signed-in user (``request.state.principal``) and the CSRF secret, and give a
    browser without a valid secret a new one (pages only; APIs set no cookies).

    Pure ASGI, not ``BaseHTTPMiddleware`` (see ``openqpp.web.request_context``); a request
    without a session cookie costs no trip to the database or the thread pool.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path: str = scope["path"]
        request.state.principal = None
        if path.startswith(_NO_COOKIE_PREFIXES):
            await self.app(scope, receive, send)
            return
        secret = request.cookies.get(CSRF_COOKIE, "")
        fresh = None
        if not _SECRET.match(secret):
            fresh = secret = secrets.token_urlsafe(32)
        request.state.csrf_secret = secret
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            request.state.principal = await run_in_threadpool(
                _principal, request.app.state.settings.database_url, token
            )
        if fresh is None or path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        cookie = Response()
        set_csrf_cookie(request, cookie, fresh)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in cookie.raw_headers:
                    if name == b"set-cookie":
                        headers.append("set-cookie", value.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD}
