"""Fixtures for end-to-end tests: the live server and the browser (see tests/support/live.py)."""

from tests.support.live import browser, live_server, page

__all__ = ["browser", "live_server", "page"]
