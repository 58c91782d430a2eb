"""A practice representative reports for Miami Medical (2022, a small practice, so PI is
reweighted to 0%) in a real browser, through the 2019 data submission guide's screens: sign in,
Eligibility & Reporting, Start Reporting, the Reporting Overview; Upload a File (success); a
file for another TIN (the error indicator naming the TIN the file holds, the error report
downloaded); the Promoting Interoperability manual entry (the 0% confirmation, a mistake shown
in the error summary first, followed by keyboard); the Improvement Activities manual entry
(filter by weight, mark completed by keyboard, the in-progress points and the 40-point cap);
back on the overview every category, submitter and receipt. Every page passes the axe check
and the Content-Security-Policy; screenshots go to artifacts/screenshots.

The server runs on a copy of the elections world (tests/support/elections_world.py) with its
clock pinned inside the 2022 election window."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import PASSWORD, Templates
from tests.support.live import ARTIFACTS, LiveServer, assert_accessible, start_server, stop_server
from tests.support.practice_reporting import CEHRT_CURES, ia_set, qpp_json
from tests.support.qrda3 import Attestation, PiProportion, qrda3_document

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.db.models import SubmissionReceipt
from openqpp.services import database

pytestmark = pytest.mark.browser

CLOCK = "2023-03-19T20:00:00-04:00"
MIAMI = f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}"


@pytest.fixture
def server(world_templates: Templates, tmp_path: Path) -> Iterator[LiveServer]:
    for url in world_templates.clone("sqlite", tmp_path):
        live = start_server(
            tmp_path, database_url=url, demo=False, extra_env={"OPENQPP_CLOCK": CLOCK}
        )
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
    page.screenshot(path=str(ARTIFACTS / f"practice-reporting-{name}.png"), full_page=True)


def _file(folder: Path, name: str, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _receipts(server: LiveServer) -> int:
    with database.session_factory(server.database_url)() as session:
        return int(session.scalar(select(func.count()).select_from(SubmissionReceipt)) or 0)


def _press_on(page: Any, locator: Any, key: str) -> None:
    """Keyboard only: focus the control, then press the key."""
    locator.focus()
    page.keyboard.press(key)


def test_a_practice_uploads_and_attests_pi_and_ia_from_its_reporting_overview(
    page: Any, server: LiveServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _sign_in(page, server, "maria.garcia")
    page.get_by_role("link", name="Eligibility & Reporting").click()
    page.wait_for_url("**/eligibility-reporting")
    page.get_by_role("article", name="Miami Medical").get_by_role(
        "link", name=re.compile("^Start Reporting")
    ).click()
    page.wait_for_url(f"**{MIAMI}/reporting")
    assert page.get_by_role("heading", name="Reporting Overview", level=1).is_visible()
    statuses = page.get_by_role("region", name="Special statuses that affect your reporting")
    expect(statuses).to_contain_text("Promoting Interoperability is reweighted to 0%")
    expect(statuses).to_contain_text("Improvement activities earn 2x the points")
    expect(page.get_by_role("region", name="Receipts")).to_contain_text(
        "No data has been submitted for this group yet."
    )
    assert_accessible(page)
    _shot(page, "1-overview")

    # Upload a File: a good QPP JSON file for the group
    good = _file(
        tmp_path / "files",
        "miami-2022.json",
        qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_2": True}, year=2022), year=2022),
    )
    page.get_by_label("File", exact=True).set_input_files(good)
    page.get_by_role("button", name="Upload").click()
    success = page.get_by_role("status").filter(has_text="Upload successful")
    expect(success).to_be_visible()
    expect(success).to_contain_text("miami-2022.json was uploaded successfully")
    ia = page.get_by_role("region", name="Improvement Activities", exact=True)
    expect(ia).to_contain_text(re.compile(r"Data submitted:\s*Yes"))
    expect(ia).to_contain_text("Miami Medical (practice)")
    expect(ia).to_contain_text("IA_EPA_2")
    assert _receipts(server) == 1
    assert_accessible(page)
    _shot(page, "2-upload-success")

    # a QRDA III file for another TIN: the error indicator names the TIN it holds
    other = _file(
        tmp_path / "files",
        "greenville.xml",
        qrda3_document(
            guide="2021-07-01",
            year=2022,
            program="MIPS_GROUP",
            tin=GREENVILLE_PODIATRY,
            npi=None,
            cehrt=CEHRT_CURES,
            ia=[Attestation("IA_EPA_1")],
            pi=[PiProportion("PI_EP_1", 3, 4)],
        ),
    )
    page.get_by_label("File", exact=True).set_input_files(other)
    page.get_by_role("button", name="Upload").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="Upload failed: greenville.xml")).to_be_visible()
    expect(summary).to_contain_text(f"This file holds data for the group TIN {GREENVILLE_PODIATRY}")
    expect(summary).to_contain_text("Nothing was stored")
    assert page.title().startswith("Error: Reporting Overview")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    with page.expect_download() as caught:
        summary.get_by_role("link", name=re.compile("^Download the error report")).click()
    download = caught.value
    assert download.suggested_filename == "greenville-error-report.json"
    report = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert report["stored"] is False
    assert report["errors"][0]["code"] == "OQ-SUB-102"
    assert report["fileHolds"]["taxpayerIdentificationNumber"] == GREENVILLE_PODIATRY
    assert _receipts(server) == 1
    assert_accessible(page)
    _shot(page, "3-upload-other-tin")

    # Promoting Interoperability manual entry
    page.get_by_role("link", name="Create Manual Entry for Promoting Interoperability").click()
    page.wait_for_url(f"**{MIAMI}/reporting/pi")
    assert page.get_by_role(
        "heading", name="Promoting Interoperability: Manual Entry", level=1
    ).is_visible()
    assert page.get_by_text(
        "Your Promoting Interoperability category is weighted at 0%"
    ).is_visible()
    assert_accessible(page)
    page.get_by_label("Start date").fill("2022-01-01")
    page.get_by_label("End date").fill("2022-12-31")
    page.get_by_label("CMS EHR Certification ID (CEHRT ID)").fill(CEHRT_CURES)
    for statement in ("PI_PPHI_1", "PI_PPHI_2", "PI_ONCDIR_1", "PI_INFBLO_1"):
        slug = statement.lower().replace("_", "-")
        _press_on(page, page.locator(f"#answer-{slug}-yes"), "Space")
    page.locator("#numerator-pi-ep-1").fill("45")
    page.locator("#denominator-pi-ep-1").fill("60")
    _press_on(page, page.locator("#exclusion-pi-hie-1-pi-lvotc-1"), "Space")
    # forgot the 0% confirmation: the error summary, focused, links to the checkbox
    _press_on(
        page, page.get_by_role("button", name="Save Promoting Interoperability data"), "Enter"
    )
    summary = page.get_by_role("alert")
    expect(
        summary.get_by_role(
            "heading", name="Complete these items to save your Promoting Interoperability data:"
        )
    ).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    link = summary.get_by_role("link", name=re.compile("^Confirm that you want to enter PI data"))
    assert link.get_attribute("href") == "#confirm-reweighting"
    assert page.title().startswith("Error: Promoting Interoperability manual entry")
    assert_accessible(page)
    _shot(page, "4-pi-error")
    _press_on(page, link, "Enter")
    page.wait_for_url("**#confirm-reweighting")
    # what was typed is still there
    expect(page.locator("#numerator-pi-ep-1")).to_have_value("45")
    _press_on(page, page.locator("#confirm-reweighting"), "Space")
    _press_on(
        page, page.get_by_role("button", name="Save Promoting Interoperability data"), "Enter"
    )
    page.wait_for_url(f"**{MIAMI}/reporting/pi?saved=1")
    expect(page.get_by_role("status")).to_contain_text(
        "Your Promoting Interoperability data was saved."
    )
    progress = page.get_by_role("region", name="Your progress")
    expect(progress).to_contain_text("Complete: Required attestation statements answered Yes")
    assert _receipts(server) == 2
    assert_accessible(page)
    _shot(page, "5-pi-saved")

    # Improvement Activities manual entry: filter, mark completed, points, the cap
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Reporting Overview"
    ).click()
    page.get_by_role("link", name="Create Manual Entry for Improvement Activities").click()
    page.wait_for_url(f"**{MIAMI}/reporting/ia")
    assert page.get_by_role("heading", name="Improvement Activities: Manual Entry").is_visible()
    expect(page.locator("#ia-points")).to_contain_text("20 of 40 points")  # the uploaded IA_EPA_2
    expect(page.locator("#cap-message")).to_have_text(
        "You cannot earn more than 40 points in this category, even if you submit additional "
        "activities."
    )
    assert_accessible(page)
    page.get_by_label("Weight").select_option("high")
    page.get_by_label("Subcategory").select_option("expandedPracticeAccess")
    _press_on(page, page.get_by_role("button", name="Show activities"), "Enter")
    page.wait_for_url("**weight=high**")
    activities = page.get_by_role("heading", name=re.compile("^Activities \\("))
    expect(activities).to_contain_text("1 of")
    page.get_by_label("Start date").fill("2022-01-01")
    page.get_by_label("End date").fill("2022-06-30")
    _press_on(page, page.locator("#completed-ia-epa-1"), "Space")
    _press_on(page, page.get_by_role("button", name="Save improvement activities"), "Enter")
    page.wait_for_url("**/reporting/ia?saved=1**")
    expect(page.get_by_role("status")).to_contain_text("Your improvement activities were saved.")
    expect(page.locator("#ia-points")).to_contain_text("40 of 40 points")
    expect(page.get_by_role("region", name="You have reached the maximum score")).to_be_visible()
    assert page.locator("#completed-ia-epa-1").is_checked()
    assert _receipts(server) == 3
    assert_accessible(page)
    _shot(page, "6-ia-saved")

    # back on the overview: every category, who sent it, and every version's receipt
    page.get_by_role("link", name="Back to the Reporting Overview").click()
    page.wait_for_url(f"**{MIAMI}/reporting")
    pi = page.get_by_role("region", name="Promoting Interoperability", exact=True)
    expect(pi).to_contain_text("Miami Medical (practice) · manual attestation")
    expect(pi).to_contain_text("PI_LVOTC_1")
    expect(pi.get_by_role("link", name=re.compile("^View Manual Entry"))).to_be_visible()
    ia = page.get_by_role("region", name="Improvement Activities", exact=True)
    expect(ia).to_contain_text("IA_EPA_1")
    expect(ia).to_contain_text("IA_EPA_2")
    receipts = page.get_by_role("region", name="Receipts")
    expect(receipts.locator("tbody tr")).to_have_count(3)
    with page.expect_download() as caught:
        receipts.get_by_role("link", name="Download receipt for version 3").click()
    receipt = json.loads(Path(caught.value.path()).read_text(encoding="utf-8"))
    assert receipt["version"] == 3
    assert receipt["operation"] == "attest"
    assert_accessible(page)
    _shot(page, "7-overview-after")
