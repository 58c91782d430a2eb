"""The application factory."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from openqpp import __version__
from openqpp.settings import Settings, get_settings
from openqpp.web import security_headers
from openqpp.web.errors import install_error_handlers
from openqpp.web.health.readiness import require_ready
from openqpp.web.logs import configure_logging, request_id_var

HERE = Path(__file__).parent
REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("openqpp.web.access")


def _request_id(request: Request) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SAFE_REQUEST_ID.match(offered) else uuid.uuid4().hex


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    app = FastAPI(
        title="openqpp",
        version=__version__,
        description="MIPS Eligibility & Reporting: eligibility, elections, submissions, scores.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        # No redirect from /path/ to /path: Starlette's would be an absolute URL built from the
        # request's Host header, which a client chooses (tests/e2e/api/test_injection.py).
        redirect_slashes=False,
        # 503 on every route but /healthz until the database is at this version's schema.
        dependencies=[Depends(require_ready)],
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.templates.env.globals.update(app_version=__version__)

    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = _request_id(request)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    install_error_handlers(app)
    security_headers.install(app, settings)
    app.mount("/static", StaticFiles(directory=HERE / "static", check_dir=False), name="static")

    from openqpp.web import access as access_web
    from openqpp.web import elections as elections_web
    from openqpp.web import scoring as scoring_web
    from openqpp.web.eligibility import api as eligibility_api
    from openqpp.web.eligibility import pages as eligibility_pages
    from openqpp.web.health import routes as health_routes
    from openqpp.web.home import routes as home_routes
    from openqpp.web.submissions import api as submissions_api
    from openqpp.web.submissions import practice as submissions_practice
    from openqpp.web.submissions import registry as registry_uploads

    app.include_router(health_routes.router)
    app.include_router(home_routes.router)
    access_web.install(app)
    app.include_router(eligibility_api.router)
    app.include_router(eligibility_pages.router)
    elections_web.install(app)
    scoring_web.install(app)  # before the Submissions API: /submissions/{id}/score, score-preview
    app.include_router(registry_uploads.router)
    app.include_router(submissions_api.router)
    app.include_router(submissions_practice.router)
    return app
