"""Access on the web: sign-in, accounts, roles, API tokens, client authorisations, audit."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from openqpp.web.access import api, routes
from openqpp.web.access.deps import SignInRequired
from openqpp.web.access.security import AccessMiddleware, template_globals


def install(app: FastAPI) -> None:
    """Add the session/CSRF middleware, template helpers, routes and the sign-in redirect."""
    app.add_middleware(AccessMiddleware)
    app.state.templates.env.globals.update(template_globals())

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(f"/signin?next={quote(exc.next_path, safe='/')}", status_code=303)

    app.include_router(routes.router)
    app.include_router(api.router)
