"""Security headers on every response: Content-Security-Policy, framing, MIME sniffing,
referrer, browser features, and HSTS when the request arrived over TLS.

The pages load nothing but files from this server (the CMS Design System, htmx and
``/static/js/openqpp.js``), carry no inline scripts, no inline styles and no event-handler
attributes, so the policy is "self" only with no ``'unsafe-inline'`` and no ``'unsafe-eval'``
(``base.html`` tells htmx not to inject its indicator ``<style>`` and not to ``eval``; the
indicator rules are in ``openqpp.css``).

The one exception is FastAPI's interactive API documentation (``/api/docs`` and its OAuth2
redirect page): it loads Swagger UI from its CDN and starts it with an inline script that
FastAPI writes from the app's own settings. Only for those pages the policy also allows that
CDN and the SHA-256 hashes of the inline scripts in the page actually sent.

HSTS is sent only over TLS: when the ASGI scope's scheme is ``https`` (uvicorn sets it from
``X-Forwarded-Proto`` for the proxies in ``--forwarded-allow-ips``) or when the request comes
from a proxy listed in ``OPENQPP_FORWARDED_ALLOW_IPS`` with ``X-Forwarded-Proto: https``.

The middleware wraps the whole application, outside Starlette's error middleware, so error
pages (404, 500, ...) carry the headers too.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqpp.settings import Settings

HSTS_MAX_AGE: Final = 31_536_000
"""One year, the common minimum; see docs/operations.md before adding includeSubDomains."""

CSP_DIRECTIVES: Final[Mapping[str, str]] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

SWAGGER_CDN: Final = "https://cdn.jsdelivr.net"
SWAGGER_FAVICON_HOST: Final = "https://fastapi.tiangolo.com"

PERMISSIONS_POLICY: Final = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)

STATIC_HEADERS: Final[Mapping[str, str]] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
}

_INLINE_SCRIPT: Final = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def content_security_policy(extra: Mapping[str, Iterable[str]] | None = None) -> str:
    """The policy, with ``extra`` sources appended to some directives."""
    parts = []
    for directive, sources in CSP_DIRECTIVES.items():
        more = " ".join((extra or {}).get(directive, ()))
        parts.append(f"{directive} {sources}{' ' + more if more else ''}")
    return "; ".join(parts)


CONTENT_SECURITY_POLICY: Final = content_security_policy()


def script_hashes(html: bytes) -> list[str]:
    """CSP hash sources for the inline ``<script>`` elements of ``html``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: bytes) -> str:
    """The policy for FastAPI's Swagger UI page: its CDN and its own inline scripts."""
    return content_security_policy(
        {
            "script-src": [SWAGGER_CDN, *script_hashes(html)],
            "style-src": [SWAGGER_CDN],
            "img-src": [SWAGGER_FAVICON_HOST],
        }
    )


class TrustedProxies:
    """The proxies whose ``X-Forwarded-Proto`` is believed: IPs, networks, ``*`` for any."""

    def __init__(self, spec: str) -> None:
        self.any = False
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            if item == "*":
                self.any = True
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.names.add(item)  # e.g. a unix socket peer name

    def __contains__(self, host: str | None) -> bool:
        if host is None:
            return False
        if self.any or host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _forwarded_proto(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            # Each proxy sets or appends; the nearest (trusted) one's value is the last.
            proto: str = bytes(value).decode("latin-1").split(",")[-1].strip().lower()
            return proto
    return None


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding the security headers to every HTTP response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_proxies: str = "127.0.0.1",
        docs_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted_proxies)
        self.docs_paths = frozenset(docs_paths)

    def over_tls(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        return (
            client is not None
            and client[0] in self.trusted
            and _forwarded_proto(scope) == ("https")
        )

    def _add(self, message: Message, *, tls: bool, policy: str) -> None:
        headers = MutableHeaders(scope=message)
        headers["Content-Security-Policy"] = policy
        for name, value in STATIC_HEADERS.items():
            headers[name] = value
        if tls:
            headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE}"
        elif "strict-transport-security" in headers:
            del headers["Strict-Transport-Security"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = self.over_tls(scope)
        if scope.get("path") in self.docs_paths:
            await self._docs(scope, receive, send, tls=tls)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(message, tls=tls, policy=CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send, *, tls: bool) -> None:
        """Hold the (small) docs page until it is complete, then hash its inline scripts."""
        start: Message | None = None
        body: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content = b"".join(body)
            self._add(start, tls=tls, policy=docs_policy(content))
            await send(start)
            await send({"type": "http.response.body", "body": content, "more_body": False})

        await self.app(scope, receive, buffer)


def install(
    app: FastAPI, settings: Settings, *, inside: Callable[[ASGIApp], ASGIApp] | None = None
) -> None:
    """Wrap the whole application (error responses included) in the security headers, with
    ``inside`` (other whole-application middleware) between them and Starlette's stack."""
    docs = [path for path in (app.docs_url, app.swagger_ui_oauth2_redirect_url) if path]
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        stack = build()
        return SecurityHeadersMiddleware(
            inside(stack) if inside else stack,
            trusted_proxies=settings.forwarded_allow_ips,
            docs_paths=docs,
        )

    # Starlette builds the stack lazily on the first request; wrapping the builder puts these
    # headers outside ServerErrorMiddleware, which add_middleware cannot.
    setattr(app, "build_middleware_stack", build_with_headers)  # noqa: B010
