"""The Content-Security-Policy in a real browser: the pages work under it (every browser test's
`page` fails on a refusal), and it does refuse what it is there to refuse."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.live import LiveServer, csp_violations

pytestmark = pytest.mark.browser


def test_an_injected_inline_script_is_refused(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        refused = csp_violations(page)
        page.goto(live_server.url + "/")
        page.evaluate(
            """() => {
                const script = document.createElement('script');
                script.textContent = 'window.injected = true';
                document.head.appendChild(script);
            }"""
        )
        page.wait_for_timeout(100)
        assert page.evaluate("window.injected === undefined")
        assert any("inline script" in message for message in refused), refused
        assert page.evaluate("typeof htmx") == "object"  # the server's own script runs
    finally:
        context.close()


def test_the_pages_cannot_be_framed(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.url + "/healthz")
        page.set_content(f'<iframe src="{live_server.url}/" title="framed"></iframe>')
        page.wait_for_timeout(500)
        frame = page.frames[-1]
        assert frame.evaluate("() => document.title") != "Home · openqpp"
    finally:
        context.close()
