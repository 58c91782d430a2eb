"""Every HTML page the app serves, read from its routes: GET routes whose response class is
``HTMLResponse`` (the server-rendered pages, ``include_in_schema=False``), and any other
non-API GET route kept out of the schema unless it is listed in ``NOT_PAGES`` with the reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from openqpp.settings import Settings
from openqpp.web import create_app

NOT_PAGES = {
    "/api/openapi.json": "the OpenAPI document (JSON), not a page",
    "/api/docs": "FastAPI's Swagger UI, loaded from its CDN (third-party, not reachable offline)",
    "/docs/oauth2-redirect": "Swagger UI's OAuth2 helper, not a page",
}


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None:  # FastAPI's included router
            yield from _walk(context.included_router.routes, prefix + context.prefix)
        elif not isinstance(route, Mount):
            yield prefix + route.path, route


def _response_class(route: APIRoute) -> type:
    value = route.response_class
    return value.value if isinstance(value, DefaultPlaceholder) else value  # type: ignore[no-any-return]


def page_routes(database_url: str = "sqlite://") -> tuple[list[str], list[str]]:
    """(the HTML page paths as the app declares them, e.g. ``/eligibility-reporting/{year}``;
    the non-API routes listed in ``NOT_PAGES``)."""
    app = create_app(Settings(database_url=database_url, log_json=True))  # type: ignore[call-arg]
    pages: list[str] = []
    excluded: list[str] = []
    for path, route in _walk(app.routes):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue
        if isinstance(route, APIRoute):
            if issubclass(_response_class(route), HTMLResponse):
                pages.append(path)
        elif isinstance(route, Route):
            (excluded if path in NOT_PAGES else pages).append(path)
    return sorted(set(pages)), sorted(set(excluded))
