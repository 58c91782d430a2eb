"""The FastAPI application: JSON APIs and server-rendered pages, one folder per domain."""

from openqpp.web.app import create_app

__all__ = ["create_app"]
