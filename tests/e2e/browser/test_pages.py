"""The pages a newcomer sees first, in a real browser, with the accessibility check."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.live import LiveServer, assert_accessible

pytestmark = pytest.mark.browser


def test_home_page_shows_the_demo_organisations_and_is_accessible(
    page: Any, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/")
    assert page.title() == "Home · openqpp"
    assert page.get_by_role("heading", name="MIPS Eligibility & Reporting").is_visible()
    table = page.get_by_role("table")
    assert table.get_by_text("Miami Medical").is_visible()
    assert table.get_by_text("Greenville Podiatry").is_visible()
    assert table.get_by_text("American Academy of Neurology").is_visible()
    assert_accessible(page)


def test_design_system_styles_are_served_locally(page: Any, live_server: LiveServer) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    external: list[str] = []
    page.on(
        "request",
        lambda request: (
            external.append(request.url) if not request.url.startswith(live_server.url) else None
        ),
    )
    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")
    assert not failed
    assert not external
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Open Sans" in font
    assert page.evaluate("typeof htmx") == "object"


def test_sign_in_page_shows_the_statement_of_truth_and_is_accessible(
    page: Any, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    page.wait_for_url("**/signin")
    assert page.get_by_text("Statement of Truth").first.is_visible()
    assert page.get_by_label("User ID").is_visible()
    assert_accessible(page)


def test_missing_page_is_a_readable_accessible_error(page: Any, live_server: LiveServer) -> None:
    response = page.goto(live_server.url + "/no-such-page")
    assert response is not None
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert_accessible(page)


def test_accessibility_check_catches_a_violation(page: Any) -> None:
    """The checker itself must be able to fail: an unlabelled field and an image without alt."""
    page.set_content(
        '<html lang="en"><head><title>bad</title></head><body><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<input type="text"></main></body></html>'
    )
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
