"""FastAPI dependencies shared by the domain folders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from openqpp.services import database
from openqpp.services.database import DbSession


def _db_session(request: Request) -> Iterator[DbSession]:
    yield from database.read_session(request.app.state.settings.database_url)


Db = Annotated[DbSession, Depends(_db_session)]
"""A database session for one request."""
