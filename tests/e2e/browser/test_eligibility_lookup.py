"""The Participation Status page in a real browser, on the demo determination the server loads."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.live import LiveServer, assert_accessible

from openqpp.batch.demo import CLINICIANS

pytestmark = pytest.mark.browser


def test_lookup_shows_each_practice_with_status_volumes_and_reasons(
    page: Any, live_server: LiveServer
) -> None:
    podiatrist = CLINICIANS[2]
    page.goto(live_server.url + "/participation-lookup")
    page.get_by_label("NPI").fill(podiatrist.npi)
    page.get_by_label("Performance year (optional)").fill("2019")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url("**/participation-lookup?npi=*")
    assert page.get_by_role("heading", name="Alex Green").is_visible()
    group = page.get_by_role("region", name="As a group (TIN)")
    assert group.get_by_text("MIPS EXEMPT · Opt-in eligible").is_visible()
    assert group.get_by_role("cell", name="$90,300.00").first.is_visible()
    group.get_by_text("Why: how we arrived at this status").click()
    assert group.get_by_text("150 Medicare patients (needs more than 200)").first.is_visible()
    assert page.get_by_role("note").get_by_text("could not be verified").is_visible()
    assert_accessible(page)


def test_lookup_of_a_mistyped_npi_shows_the_error_summary(
    page: Any, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/participation-lookup?npi=1234567890")
    summary = page.get_by_role("alert")
    assert summary.get_by_text("Complete these items to look up a clinician:").is_visible()
    assert summary.get_by_text("fails its check digit").is_visible()
    assert page.get_by_label("NPI").get_attribute("aria-invalid") == "true"
    assert_accessible(page)


def test_lookup_of_an_unknown_npi_says_there_are_no_results(
    page: Any, live_server: LiveServer
) -> None:
    response = page.goto(live_server.url + "/participation-lookup?npi=9999999995")
    assert response is not None
    assert response.status == 404
    assert page.get_by_role("heading", name="No results").is_visible()
    assert_accessible(page)
