"""The preliminary score pages in a real browser: the total with each category's score and
weight, one page per category saying how every number was arrived at (quality measures with
their rate, decile, points, bonus and cap; PI measures with their formulas; activities with
their weights; cost measures from CMS's results), and the what-if page, with and without
JavaScript (htmx replaces only the result), including an opt-in eligible practice comparing
opting in with reporting voluntarily. Every page passes axe and the Content-Security-Policy.

The server runs on a copy of the elections world (SQLite) holding Miami Medical's 2019 data
(CMS's example quality measures and activities from the practice, PI from its registry) and
CMS cost results, with its clock pinned after the 2019 submission period (so the practice
sees cost feedback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.elections_world import PASSWORD, Templates, World
from tests.support.live import (
    ARTIFACTS,
    LiveServer,
    assert_accessible,
    csp_violations,
    start_server,
    stop_server,
)
from tests.support.scoring_world import (
    accept,
    document,
    example_as_2019,
    pi_set_2019,
    write_cost_file,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.services import database, scoring_costs

pytestmark = pytest.mark.browser

CLOCK = "2020-06-01T08:00:00-04:00"
MIAMI = f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/reporting"
GREENVILLE_2022 = f"/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}/reporting"


@pytest.fixture(scope="module")
def server(
    world_templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("score-pages")
    for url in world_templates.clone("sqlite", tmp):
        world = World(url, "sqlite")
        accept(world, "maria.garcia", example_as_2019(MIAMI_MEDICAL))
        accept(world, "jordan.rivera", document(MIAMI_MEDICAL, pi_set_2019()))
        path = write_cost_file(
            tmp, [f"{MIAMI_MEDICAL},,TPCC_1,45,,8", f"{MIAMI_MEDICAL},,MSPB_1,20,,"]
        )
        with world.factory.begin() as session:
            scoring_costs.load_cost_file(session, path=path, year=2019)
        database.engine_for(url).dispose()
        live = start_server(tmp, database_url=url, demo=False, extra_env={"OPENQPP_CLOCK": CLOCK})
        try:
            yield live
        finally:
            stop_server(live)


def _sign_in(page: Any, server: LiveServer, user_id: str) -> None:
    page.goto(server.url + "/signin")
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Yes, I agree to the Statement of Truth").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"score-{name}.png"), full_page=True)


def test_the_total_and_each_category_say_how_every_number_was_arrived_at(
    page: Any, server: LiveServer
) -> None:
    _sign_in(page, server, "maria.garcia")
    page.goto(server.url + MIAMI + "/score")
    assert page.get_by_role("heading", name="Preliminary Total Score", level=1).is_visible()
    table = page.get_by_role("table").first
    assert table.get_by_role("link", name="Quality").is_visible()
    assert "45%" in table.inner_text()  # cost is scored here: the 2019 default weights
    assert page.get_by_text("Payment adjustment").first.is_visible()
    assert page.get_by_text("Small practice").first.is_visible()
    assert_accessible(page)
    _shot(page, "summary")

    table.get_by_role("link", name="Quality").click()
    page.wait_for_url("**/score/quality")
    assert page.get_by_role("heading", name="Quality preliminary score").is_visible()
    text = page.locator("main").inner_text()
    for expected in ("Performance rate", "Decile", "Data completeness", "topped out", "191"):
        assert expected in text, expected
    assert "Preliminary Quality score calculation" in text
    assert "x 45% (the category weight)" in text
    assert_accessible(page)
    _shot(page, "quality")

    page.get_by_role("navigation", name="Preliminary score pages").get_by_role(
        "link", name="Promoting Interoperability"
    ).click()
    page.wait_for_url("**/score/pi")
    text = page.locator("main").inner_text()
    assert "((3/4)*10) = 8" in text
    assert page.locator(".oq-unverified").first.is_visible()
    assert_accessible(page)
    _shot(page, "pi")

    page.goto(server.url + MIAMI + "/score/ia")
    text = page.locator("main").inner_text()
    assert "IA_AHE_1" in text
    assert "high" in text
    assert "capped at 40" in text
    assert_accessible(page)
    _shot(page, "ia")

    page.goto(server.url + MIAMI + "/score/cost")
    text = page.locator("main").inner_text()
    assert "TPCC_1" in text
    assert "Below case minimum" in text  # MSPB_1: 20 cases, minimum 35
    assert "cost-results.csv" in text
    assert_accessible(page)
    _shot(page, "cost")

    page.locator("details summary").last.click()
    assert page.locator(".oq-rule").first.is_visible()


def test_what_if_works_as_a_plain_form_without_javascript(browser: Any, server: LiveServer) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    refused = csp_violations(page)
    try:
        _sign_in(page, server, "maria.garcia")
        page.goto(server.url + MIAMI + "/what-if")
        page.get_by_label("Activity").select_option("IA_BE_4")
        page.get_by_label("Scaling factor").fill("2")
        page.get_by_role("button", name="Show the estimate").click()
        page.wait_for_url("**/what-if?**")
        assert "activity=IA_BE_4" in page.url
        result = page.locator("#what-if-result").inner_text()
        assert "With your changes" in result
        assert "Attest improvement activity IA_BE_4" in result
        assert "scaling factor 2 =" in (page.locator("main").text_content() or "")
        _shot(page, "what-if-no-js")
    finally:
        context.close()
    assert not refused


def test_what_if_with_htmx_replaces_only_the_result(page: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect

    _sign_in(page, server, "maria.garcia")
    page.goto(server.url + MIAMI + "/what-if")
    assert_accessible(page)
    page.evaluate("window.__stillHere = true")
    page.get_by_label("Reported measure").select_option("110")
    page.get_by_label("New performance rate").fill("20")
    page.get_by_role("button", name="Show the estimate").click()
    page.get_by_text("Change the performance rate of measure 110 to 20%.").wait_for()
    assert page.evaluate("window.__stillHere") is True  # no page load: htmx swapped the result
    assert "improve=110" in page.url  # hx-push-url keeps the address shareable
    assert page.get_by_label("New performance rate").input_value() == "20"
    result = page.locator("#what-if-result").inner_text()
    # Quality stays at its cap: bonuses (small practice, end to end, high priority) cover the loss.
    assert "With your changes the final score would be the same" in result
    assert_accessible(page)
    _shot(page, "what-if-htmx")

    page.get_by_label("Scaling factor").fill("9")
    page.get_by_role("button", name="Show the estimate").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "at most 3" in summary.inner_text()
    # expect() polls from Playwright's side: a string predicate is eval'd in the page, which
    # the Content Security Policy refuses whenever the first check is not already true
    expect(summary).to_be_focused()
    assert_accessible(page)
    _shot(page, "what-if-error")


def test_an_opt_in_eligible_practice_compares_opting_in_with_reporting_voluntarily(
    page: Any, server: LiveServer
) -> None:
    _sign_in(page, server, "lee.wong")
    page.goto(server.url + GREENVILLE_2022 + "/what-if?activity=IA_EPA_1")
    text = page.locator("main").inner_text()
    assert "Opt in or report voluntarily?" in text
    assert "If you opt in" in text
    assert "If you report voluntarily" in text
    assert "0% (no payment adjustment applies)" in text
    assert_accessible(page)
    _shot(page, "what-if-opt-in")
    page.goto(server.url + GREENVILLE_2022 + "/score")
    assert page.get_by_role("heading", name="No data to score yet").is_visible()
    assert_accessible(page)
