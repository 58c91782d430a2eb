"""The home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from openqpp.services import database, demo

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    organisations: list[demo.DemoOrganisation] = []
    if settings.demo:  # the made-up demo organisations; never a real server's (TINs, names)
        with database.session_factory(settings.database_url)() as session:
            organisations = demo.list_organisations(session)
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "home/index.html", {"organisations": organisations, "demo": settings.demo}
    )
    return response
