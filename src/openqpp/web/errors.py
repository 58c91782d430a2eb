"""Errors as the API documents them (`{"error": {"type", "message", ...}}`), never HTML, and
error pages for people."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from openqpp.core.errors import OpenQppError
from openqpp.services import database_unavailable
from openqpp.web.logs import request_id_var

log = logging.getLogger("openqpp.web")

ERROR_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "TooManyRequests",
    500: "ServerError",
    503: "ServiceUnavailable",
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_body(
    status: int, message: str, *, code: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": ERROR_TYPES.get(status, "Error"), "message": message}
    if code:
        error["code"] = code
    if details:
        error["details"] = details
    request_id = request_id_var.get()
    if request_id:
        error["requestId"] = request_id
    return {"error": error}


def _respond(
    request: Request,
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if wants_json(request):
        return JSONResponse(
            error_body(status, message, code=code, details=details),
            status_code=status,
            headers=headers,
        )
    templates = request.app.state.templates
    return HTMLResponse(
        templates.get_template("errors/error.html").render(
            request=request,
            status=status,
            message=message,
            code=code,
            request_id=request_id_var.get(),
            details=details or [],
        ),
        status_code=status,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = (
            exc.detail if isinstance(exc.detail, str) else ERROR_TYPES.get(exc.status_code, "Error")
        )
        if exc.status_code == 404 and message == "Not Found":
            message = f"There is nothing at {request.url.path}. Check the address."
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}."
        return _respond(
            request,
            exc.status_code,
            message,
            code=f"OQ-REQ-{exc.status_code}",  # 404, 405, an unreadable form (400), ...
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "message": str(err.get("msg")),
                "path": "$." + ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            }
            for err in exc.errors()
        ]
        return _respond(
            request,
            422,
            "The request is not valid; see details for each problem.",
            code="OQ-REQ-001",
            details=details,
        )

    @app.exception_handler(OpenQppError)
    async def domain_error(request: Request, exc: OpenQppError) -> Response:
        status = getattr(exc, "http_status", 400)
        headers = getattr(exc, "headers", None)
        return _respond(
            request, status, f"{exc.message} {exc.fix}".strip(), code=exc.code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return _respond(
            request,
            500,
            "Something went wrong on our side and nothing was changed. Try again; if it keeps "
            "happening, give the request id to your administrator.",
            code="OQ-SERVER-001",
        )

    async def database_error(request: Request, exc: Exception) -> Response:
        """The database unreachable (restarting, stopped, pool exhausted): 503 OQ-DB-002 with
        Retry-After, not a server error; any other database error stays one."""
        refusal = database_unavailable.from_exception(exc)
        if refusal is None:
            return await unexpected(request, exc)
        cause = type(exc.__cause__ or exc).__name__
        log.warning("database unavailable: %s", cause, extra={"path": request.url.path})
        return await domain_error(request, refusal)

    for kind in database_unavailable.ERRORS:
        app.add_exception_handler(kind, database_error)
