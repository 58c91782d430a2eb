"""`GET /api/eligibility/npi/{npi}` without query parameters, answered before FastAPI's router.

The NPI lookup is the busiest call by far (registries look up whole rosters, one clinician at a
time, in deadline week). Measured in process, FastAPI's routing and dependency solving cost
~0.16 ms of its ~1 ms of CPU per request (bench/README.md, decision 0011); this middleware
answers the plain form of the request with the route's own function, `api.npi_answer`, so the
two cannot answer differently:

- only `GET`, only the exact path, only without a query string (a `year` or `runNum` is
  validated by FastAPI, with its 422 answers), and only once the application has found its
  database at this version's schema (until then the route's readiness check answers 503);
- it sits inside the request id, access log, security headers, Starlette's error middleware
  and the access middleware (the signed-in session), so the answer carries the same headers
  and is logged the same way;
- an exception is answered by the application's own handler for its type (a bad token 401, the
  database unreachable 503); one without a handler goes on to the error middleware (500).

Everything else goes on to the application unchanged.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Final

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from openqpp.web.eligibility import api

_PATH: Final = re.compile(re.escape(api.router.prefix) + r"/npi/([^/]+)")
"""The route's path (`/npi/{npi}` under the Eligibility API's prefix) with its parameter as
Starlette matches it (any text but `/`)."""


class DirectNpiLookup:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if (
            match is None
            or scope["method"] != "GET"
            or scope["query_string"]
            or not getattr(scope["app"].state, "ready", False)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await run_in_threadpool(api.npi_answer, request, match.group(1), None, None)
        except Exception as exc:
            response = await _handled(request, exc)
        await response(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The application's answer to ``exc``: its handler for the exception's class or nearest
    base, as Starlette's exception middleware finds it. The catch-all (`Exception`) belongs to
    the error middleware outside, so an exception without a narrower handler is raised on."""
    handlers: dict[Any, Any] = request.app.exception_handlers
    kind = next((k for k in type(exc).__mro__ if k in handlers and k is not Exception), None)
    if kind is None:
        raise exc
    answer = handlers[kind](request, exc)
    response: Response = await answer if inspect.isawaitable(answer) else answer
    return response
