"""`GET /healthz`: is the process up and its database reachable and migrated."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openqpp.services import health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health of this server and its database")
def healthz(request: Request) -> JSONResponse:
    result = health.check(request.app.state.settings.database_url)
    body = {
        "status": "ok" if result.ok else "unavailable",
        "version": result.version,
        "database": result.database,
        "revision": result.revision,
    }
    if result.detail:
        body["detail"] = result.detail
    instance = request.app.state.settings.instance_name
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=200 if result.ok else 503)
