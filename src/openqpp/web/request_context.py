"""The request id and the access log line of every HTTP request (pure ASGI middleware).

The id is the client's ``X-Request-ID`` when it is a safe token, else a new one; it is set in
``request_id_var`` for everything that runs for the request (error bodies carry it as
``requestId``, log records as ``request_id``), sent back in ``X-Request-ID``, and the request
ends with one ``request`` record in ``openqpp.web.access`` (method, path, status, duration).

It wraps Starlette's error middleware, so a 500 page carries the id and is logged too. It is a
plain ASGI callable, not ``BaseHTTPMiddleware``: that class runs the application in a task of
its own and copies each response through a memory stream, which cost more per request than the
NPI lookup's own work on the application side (bench/load.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openqpp.web.logs import request_id_var

REQUEST_ID_HEADER: Final = "X-Request-ID"
_SAFE_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_OFFERED: Final = REQUEST_ID_HEADER.lower().encode("latin-1")

access_log = logging.getLogger("openqpp.web.access")


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` if it is a safe token (no header injection), else new."""
    for name, value in scope.get("headers", ()):
        if name == _OFFERED:
            offered = bytes(value).decode("latin-1")
            if _SAFE_REQUEST_ID.match(offered):
                return offered
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if status is not None:
                access_log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)
