"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from openqpp import __version__
from openqpp.settings import Settings, get_settings
from openqpp.web import security_headers
from openqpp.web.errors import install_error_handlers
from openqpp.web.health.readiness import require_ready
from openqpp.web.logs import configure_logging
from openqpp.web.request_context import RequestContextMiddleware

HERE = Path(__file__).parent


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Database work runs in the thread pool: as many threads as pooled connections
        # (OPENQPP_DB_POOL_SIZE), so a busy process queues requests for a thread instead of
        # opening and closing an overflow connection for each (anyio's default is 40 threads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        yield

    app = FastAPI(
        lifespan=lifespan,
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

    install_error_handlers(app)
    # Outside Starlette's error middleware: the request id and access log, then the headers.
    security_headers.install(app, settings, inside=RequestContextMiddleware)
    app.mount("/static", StaticFiles(directory=HERE / "static", check_dir=False), name="static")

    from openqpp.web import access as access_web
    from openqpp.web import elections as elections_web
    from openqpp.web import scoring as scoring_web
    from openqpp.web.eligibility import api as eligibility_api
    from openqpp.web.eligibility import pages as eligibility_pages
    from openqpp.web.eligibility.direct import DirectNpiLookup
    from openqpp.web.health import routes as health_routes
    from openqpp.web.home import routes as home_routes
    from openqpp.web.submissions import api as submissions_api
    from openqpp.web.submissions import practice as submissions_practice
    from openqpp.web.submissions import registry as registry_uploads

    app.include_router(health_routes.router)
    app.include_router(home_routes.router)
    # Inside the access middleware (installed next), so a signed-in session is resolved first.
    app.add_middleware(DirectNpiLookup)
    access_web.install(app)
    app.include_router(eligibility_api.router)
    app.include_router(eligibility_pages.router)
    elections_web.install(app)
    scoring_web.install(app)  # before the Submissions API: /submissions/{id}/score, score-preview
    app.include_router(registry_uploads.router)
    app.include_router(submissions_api.router)
    app.include_router(submissions_practice.router)
    return app
