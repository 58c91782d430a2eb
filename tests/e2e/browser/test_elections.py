"""A practice representative opts Greenville Podiatry in, in a real browser, through every
screen of the 2019 election guide's group flow: Eligibility & Reporting, the practice summary,
View Group Options, Group Reporting Options, "Are you sure?" (CONFIRM typed, a mistake shown in
the error summary first), "Opt-In Confirmed", Start Reporting; then the Participation Status
page reads "MIPS eligible via opt-in". Every page passes the axe check.

The demo determinations are for 2019 and 2022, whose windows are in the past, so this server's
clock is pinned inside the 2022 window with OPENQPP_CLOCK."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.live import LiveServer, assert_accessible, start_server, stop_server

from openqpp.batch.demo import CLINICIANS, GREENVILLE_PODIATRY

pytestmark = pytest.mark.browser

CLOCK = "2023-03-19T20:00:00-04:00"
CREDENTIAL = re.compile(r"user ID (\S+)\s+password (\S+)")


@pytest.fixture(scope="module")
def pinned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("elections-live"), extra_env={"OPENQPP_CLOCK": CLOCK}
    )
    yield server
    stop_server(server)


def _sign_in(page: Any, server: LiveServer, user_id: str) -> None:
    log = server.log.read_text(encoding="utf-8")
    password = dict(CREDENTIAL.findall(log))[user_id]
    page.goto(server.url + "/signin")
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Yes, I agree to the Statement of Truth").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")


def test_serve_demo_says_which_election_window_is_open(pinned_server: LiveServer) -> None:
    log = pinned_server.log.read_text(encoding="utf-8")
    assert "clock pinned by OPENQPP_CLOCK" in log
    assert "PY 2022 election window is open: closes in 12 days, March 31 at 8:00 PM ET." in log
    assert "PY 2019 election window is closed: closed on April 30, 2020 at 8:00 PM ET." in log


def test_a_practice_opts_in_as_a_group_through_every_screen(
    page: Any, pinned_server: LiveServer
) -> None:
    server = pinned_server
    _sign_in(page, server, "lee.wong")
    page.get_by_role("link", name="Eligibility & Reporting").click()
    page.wait_for_url("**/eligibility-reporting")
    assert page.get_by_role("heading", name="Eligibility & Reporting", level=1).is_visible()
    deadline = page.get_by_role("region", name=re.compile("election and submission window"))
    assert deadline.get_by_text("closes in 12 days, March 31 at 8:00 PM ET").is_visible()
    practice = page.get_by_role("article", name="Greenville Podiatry")
    assert practice.get_by_text(f"TIN: #{GREENVILLE_PODIATRY}").is_visible()
    assert practice.get_by_text("MIPS EXEMPT · Opt-in eligible").is_visible()
    assert practice.get_by_text("Total Allowed Charges at This Practice:").is_visible()
    assert practice.get_by_text("$90,300").is_visible()
    assert practice.get_by_text("Is your practice participating as a group?").is_visible()
    assert_accessible(page)

    # the practice details with its connected clinicians (search, filter, download)
    practice.get_by_role("link", name=re.compile("^View Connected Clinicians")).click()
    page.wait_for_url(f"**/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}")
    clinicians = page.get_by_role("region", name=re.compile("Connected Clinicians"))
    assert clinicians.get_by_role("heading", name="Alex Green at Greenville Podiatry").is_visible()
    assert clinicians.get_by_role("link", name=re.compile("^Download")).is_visible()
    assert_accessible(page)
    page.go_back()

    page.get_by_role("article", name="Greenville Podiatry").get_by_role(
        "link", name=re.compile("^View Group Options")
    ).click()
    page.wait_for_url("**/group-options")
    assert page.get_by_role("heading", name="Group Reporting Options").is_visible()
    assert page.get_by_text(
        "By electing to Opt-In, you become MIPS eligible. You will receive a MIPS final score "
        "and a payment adjustment in 2024."
    ).is_visible()
    assert page.get_by_role("link", name="Cancel and go back").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Opt-In", exact=True).click()
    page.wait_for_url("**/group-options/confirm?decision=opt_in")
    assert page.get_by_role("heading", name="Are you sure?").is_visible()
    assert page.get_by_text(
        "By opting-in, Greenville Podiatry will become MIPS eligible for the 2022 performance year"
    ).is_visible()
    assert_accessible(page)

    # a mistyped confirmation: the CMS Design System error summary, focused, with a link
    box = page.get_by_label('To proceed, please type "CONFIRM"')
    box.fill("confirn")
    page.get_by_role("button", name="I'm sure, confirm opt-in").click()
    summary = page.get_by_role("alert")
    assert summary.get_by_role(
        "heading", name="Complete these items to confirm your election:"
    ).is_visible()
    assert (
        summary.get_by_role("link", name=re.compile('type "CONFIRM"')).get_attribute("href")
        == "#confirm-text"
    )
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.title().startswith("Error: Are you sure?")
    assert_accessible(page)

    page.get_by_label(re.compile('To proceed, please type "CONFIRM"')).fill("confirm")
    page.get_by_role("button", name="I'm sure, confirm opt-in").click()
    page.wait_for_url("**/confirmed")
    assert page.get_by_role("heading", name="Opt-In Confirmed").is_visible()
    assert page.get_by_text(
        "Greenville Podiatry has been successfully opted in to report for the 2022 "
        "performance year."
    ).is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Start Reporting").click()
    page.wait_for_url("**/reporting")
    assert page.get_by_role("heading", name="Reporting Overview").is_visible()
    assert page.get_by_text("MIPS eligible via opt-in").first.is_visible()
    assert page.get_by_text("This election is final and cannot be changed.").is_visible()
    assert_accessible(page)

    page.goto(server.url + "/eligibility-reporting")
    practice = page.get_by_role("article", name="Greenville Podiatry")
    assert practice.get_by_text("MIPS eligible via opt-in").is_visible()
    assert practice.get_by_role("link", name=re.compile("^View Group Options")).count() == 0

    page.goto(server.url + "/participation-lookup")
    page.get_by_label("NPI").fill(CLINICIANS[2].npi)
    page.get_by_label("Performance year (optional)").fill("2022")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url("**/participation-lookup?npi=*")
    group = page.get_by_role("region", name="As a group (TIN)")
    assert group.get_by_text("MIPS eligible via opt-in").is_visible()
    assert group.get_by_text("decided March 19, 2023 at 8:00 PM ET").is_visible()
    assert_accessible(page)
