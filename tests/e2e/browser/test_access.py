"""Access in a real browser: sign in with the Statement of Truth (refused without it, with the
CMS Design System error summary), see your organisations, request a role, a Security Official
approves it, and creates an API token that is shown once. Every page passes the axe check."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.support.live import LiveServer, assert_accessible

pytestmark = pytest.mark.browser

CREDENTIAL = re.compile(r"user ID (\S+)\s+password (\S+)")


def demo_passwords(server: LiveServer) -> dict[str, str]:
    found = dict(CREDENTIAL.findall(server.log.read_text(encoding="utf-8")))
    assert "maria.garcia" in found, server.log.read_text(encoding="utf-8")[-2000:]
    return found


def sign_in(page: Any, server: LiveServer, user_id: str, password: str) -> None:
    page.goto(server.url + "/signin")
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Yes, I agree to the Statement of Truth").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")


def test_sign_in_needs_the_statement_of_truth_and_shows_the_error_summary(
    page: Any, live_server: LiveServer
) -> None:
    passwords = demo_passwords(live_server)
    page.goto(live_server.url + "/signin")
    assert page.get_by_text("Statement of Truth").first.is_visible()
    page.get_by_label("User ID").fill("sam.smith")
    page.get_by_label("Password", exact=True).fill(passwords["sam.smith"])
    page.get_by_role("button", name="Sign in").click()
    summary = page.get_by_role("alert")
    assert summary.get_by_role("heading", name="Complete these items to sign in:").is_visible()
    link = summary.get_by_role("link", name="You must agree to the Statement of Truth to sign in.")
    assert link.get_attribute("href") == "#sot-agree"
    assert page.title().startswith("Error: Sign in")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert (
        page.get_by_label("Yes, I agree to the Statement of Truth").get_attribute("aria-invalid")
        == "true"
    )
    assert_accessible(page)
    # the form kept the user ID; agreeing lets Sam in, to both practices
    assert page.get_by_label("User ID").input_value() == "sam.smith"
    page.get_by_label("Password", exact=True).fill(passwords["sam.smith"])
    page.get_by_label("Yes, I agree to the Statement of Truth").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")
    practices = page.get_by_role("table", name="Practices you have access to")
    assert practices.get_by_role("link", name="Miami Medical", exact=True).is_visible()
    assert practices.get_by_role("link", name="Greenville Podiatry", exact=True).is_visible()
    assert practices.get_by_text("Staff User").first.is_visible()
    assert_accessible(page)


def test_a_security_official_approves_a_request_and_creates_a_token_shown_once(
    page: Any, browser: Any, live_server: LiveServer
) -> None:
    passwords = demo_passwords(live_server)
    # Chris Taylor has no role yet and asks to be Staff User at Miami Medical
    sign_in(page, live_server, "chris.taylor", passwords["chris.taylor"])
    assert page.get_by_text("You have no role at any organisation yet.").is_visible()
    page.get_by_role("link", name="Request a role at an organisation").click()
    page.get_by_label("Organisation type").select_option("practice")
    page.get_by_label("TIN, vendor ID or entity ID").fill("123456789")
    page.get_by_label("Staff User").check()
    page.get_by_label("Why you need it").fill("New billing lead")
    assert_accessible(page)
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/account?requested=*")
    assert page.get_by_role("status").get_by_text("was sent").is_visible()
    requests = page.get_by_role("table", name="Your role requests and grants")
    assert requests.get_by_role("row", name=re.compile("Miami Medical.*Pending")).is_visible()
    assert_accessible(page)

    # Maria Garcia, Security Official of Miami Medical, approves it
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        so = context.new_page()
        sign_in(so, live_server, "maria.garcia", passwords["maria.garcia"])
        waiting = so.get_by_role("table", name=re.compile("Pending role requests"))
        row = waiting.get_by_role("row", name=re.compile("Chris Taylor"))
        assert row.get_by_text("New billing lead").is_visible()
        assert_accessible(so)
        row.get_by_role("button", name=re.compile("^Approve")).click()
        so.wait_for_url("**/account")
        assert so.get_by_text("Chris Taylor").count() == 0

        # and creates an API token for the practice, shown once
        so.get_by_role("link", name=re.compile("^API tokens")).click()
        so.wait_for_url("**/organisations/practice/123456789/tokens")
        assert_accessible(so)
        so.get_by_label("Name").fill("EHR nightly upload")
        so.get_by_role("button", name="Create token").click()
        assert so.get_by_role("heading", name="API token created").is_visible()
        assert so.get_by_text("shown only once").first.is_visible()
        token = so.locator("#new-token-value").inner_text().strip()
        assert token.startswith("oqp_")
        assert_accessible(so)
        so.get_by_role("link", name="Back to the API tokens").click()
        table = so.get_by_role("table", name="API tokens of Miami Medical")
        assert table.get_by_role("rowheader", name=re.compile("EHR nightly upload")).is_visible()
        assert token not in so.content()
        me = httpx.get(
            live_server.url + "/api/access/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.status_code == 200
        assert me.json()["roles"][0]["identifier"] == "123456789"

        # the practice's audit log shows the approval and the token, not the token itself
        so.goto(live_server.url + "/organisations/practice/123456789/audit")
        log = so.get_by_role("table", name="Audit records of Miami Medical")
        assert log.get_by_text("role.approved").is_visible()
        assert log.get_by_text("api_token.created").is_visible()
        assert token not in so.content()
        assert_accessible(so)
    finally:
        context.close()

    # Chris now sees Miami Medical among their organisations
    page.reload()
    practices = page.get_by_role("table", name="Practices you have access to")
    assert practices.get_by_role("link", name="Miami Medical", exact=True).is_visible()
    assert token not in live_server.log.read_text(encoding="utf-8")


def test_permissions_page_is_accessible(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/docs/permissions")
    assert page.get_by_role("heading", name="Who may do what").is_visible()
    assert page.get_by_role("heading", name="Staff User for a Registry").is_visible()
    assert page.get_by_text("Download your API token (security officials only)").first.is_visible()
    assert_accessible(page)
