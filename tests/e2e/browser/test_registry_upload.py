"""A registry uploads its clients' files in a real browser, through the screens of the 2019
election guide's "Registry Election Process" (Steps 3-8) and the 2022 guide's Steps 2-6:
Registry Submission Details, Upload File(s), the Opt-In Eligible Participants table (No
Decision / Report Voluntarily / Opt-In per participant, counts that follow the choices), Submit
Elections, "Are you sure?" (CONFIRM, a mistake shown first), "Participation Selections
Confirmed", and Registry Submission Details with the new rows, search, CSV and receipt. Also
Cancel File Upload, No Decision by keyboard, and the 50-file limit. Every page passes the axe
check and the Content-Security-Policy.

The server runs on a copy of the elections world (tests/support/elections_world.py) with its
clock pinned inside the 2022 election window."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import (
    DEBARA,
    GREEN,
    PASSWORD,
    RIVERA,
    Templates,
)
from tests.support.live import ARTIFACTS, LiveServer, assert_accessible, start_server, stop_server
from tests.support.registry_uploads import bad_qpp_json, qpp_json, qrda3_from_reference

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.db.models import Election, SubmissionReceipt, SubmissionRow
from openqpp.services import access, database

pytestmark = pytest.mark.browser

CLOCK = "2023-03-19T20:00:00-04:00"
REGISTRY = "/organisations/registry/AAN-QCDR"


@pytest.fixture
def server(world_templates: Templates, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server on a fresh copy of the world (SQLite), with AAN-QCDR also authorised for
    the Greenville Podiatry group in 2022 (the world authorises only Alex Green there)."""
    for url in world_templates.clone("sqlite", tmp_path):
        with database.session_factory(url).begin() as session:
            access.operator_authorise(
                session,
                practice_tin=GREENVILLE_PODIATRY,
                registry_vendor_id="AAN-QCDR",
                performance_year=2022,
                evidence="test agreement (group)",
            )
        database.engine_for(url).dispose()
        live = start_server(
            tmp_path, database_url=url, demo=False, extra_env={"OPENQPP_CLOCK": CLOCK}
        )
        try:
            yield live
        finally:
            stop_server(live)


def _counts(server: LiveServer) -> dict[str, int]:
    with database.session_factory(server.database_url)() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("elections", Election),
                ("submissions", SubmissionRow),
                ("receipts", SubmissionReceipt),
            )
        }


def _files(folder: Path, files: dict[str, bytes]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def _sign_in(page: Any, server: LiveServer, user_id: str) -> None:
    page.goto(server.url + "/signin")
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Yes, I agree to the Statement of Truth").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"registry-upload-{name}.png"), full_page=True)


def _count_of(page: Any, kind: str) -> Any:
    return page.locator(f'#election-counts [data-count="{kind}"]')


def test_a_registry_uploads_files_elects_per_participant_and_sees_its_submission_details(
    page: Any, server: LiveServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    _sign_in(page, server, "alex.chen")
    page.goto(server.url + REGISTRY)
    page.get_by_role("link", name="Registry Submission Details and file uploads").click()
    page.wait_for_url(f"**{REGISTRY}/submission-details")
    assert page.get_by_role(
        "heading", name="2022 Registry Submission Details", level=1
    ).is_visible()
    assert page.get_by_text("Vendor ID: #AAN-QCDR").is_visible()
    assert page.get_by_text("No TIN data uploaded.").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Upload File(s)").first.click()
    page.wait_for_url(f"**{REGISTRY}/uploads?year=2022")
    assert page.get_by_role("heading", name="Upload Data").is_visible()
    assert page.get_by_text("A maximum of 50 files can be processed").is_visible()
    assert_accessible(page)
    page.get_by_label("Upload data").set_input_files(
        _files(
            tmp_path / "files",
            {
                "debara.json": qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022),
                "green.xml": qrda3_from_reference(tin=GREENVILLE_PODIATRY, npi=GREEN, year=2022),
                "greenville-group.json": qpp_json(GREENVILLE_PODIATRY, year=2022),
                "rivera.json": qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022),
                "miami-group.json": qpp_json(MIAMI_MEDICAL, year=2022),
                "broken.json": bad_qpp_json(MIAMI_MEDICAL, year=2022),
            },
        )
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/uploads/[0-9a-f-]{36}$"))
    assert page.get_by_role("heading", name="Opt-In Eligible Participants", level=1).is_visible()
    files = page.get_by_role("table", name="Files of this upload and their results")
    assert files.get_by_text("Success").count() == 5
    assert files.get_by_text("Error: 2 errors").is_visible()
    # the error report of the broken file
    with page.expect_download() as download:
        files.get_by_role("link", name="Download error report for broken.json").click()
    report = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert download.value.suggested_filename == "broken-report.json"
    assert {item["code"] for item in report} == {"OQ-SUB-051"}
    others = page.get_by_role("table", name="Participants who need no election")
    assert others.get_by_text(f"TIN {MIAMI_MEDICAL} NPI {RIVERA}").is_visible()
    expect(page.locator('#election-counts [data-count="unchosen"]')).to_have_text(
        "Not chosen yet: 3"
    )
    assert_accessible(page)

    # by mouse: Debara opts in; the counts follow (htmx)
    page.get_by_role("radio", name=f"Opt-In: TIN {MIAMI_MEDICAL} NPI {DEBARA}").check()
    expect(_count_of(page, "opt_in")).to_have_text("1")
    # by keyboard: Alex Green reports voluntarily (arrow from No Decision), the group No Decision
    green = page.get_by_role("radio", name=f"No Decision: TIN {GREENVILLE_PODIATRY} NPI {GREEN}")
    green.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    assert page.get_by_role(
        "radio", name=f"Report Voluntarily: TIN {GREENVILLE_PODIATRY} NPI {GREEN}"
    ).is_checked()
    expect(_count_of(page, "voluntary")).to_have_text("1")
    group = page.get_by_role("radio", name=f"No Decision: TIN {GREENVILLE_PODIATRY}", exact=True)
    group.focus()
    page.keyboard.press("Space")
    expect(_count_of(page, "no_decision")).to_have_text("1")
    expect(page.locator('#election-counts [data-count="unchosen"]')).to_have_count(0)
    _shot(page, "participants")
    assert_accessible(page)

    page.get_by_role("button", name="Submit Elections").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/confirm?*")
    assert page.get_by_role("heading", name="Are you sure?").is_visible()
    assert page.get_by_text(
        "These selections are permanent and cannot be changed later."
    ).is_visible()
    assert_accessible(page)
    box = page.get_by_label('Please type "CONFIRM"')
    box.fill("confirn")
    page.get_by_role("button", name="I'm Sure, Confirm Selections").click()
    summary = page.get_by_role("alert")
    assert summary.get_by_role(
        "heading", name="Complete these items to confirm your selections:"
    ).is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.title().startswith("Error: Are you sure?")
    assert _counts(server) == {"elections": 0, "submissions": 0, "receipts": 0}
    assert_accessible(page)
    _shot(page, "confirm-error")

    page.get_by_label(re.compile('Please type "CONFIRM"')).fill("confirm")
    page.get_by_label(re.compile('Please type "CONFIRM"')).press("Enter")
    page.wait_for_url("**/confirmed")
    assert page.get_by_role("heading", name="Participation Selections Confirmed").is_visible()
    assert page.get_by_text("1 opted in and 1 reporting voluntarily").is_visible()
    assert page.get_by_text("1 participant with No Decision was not uploaded").is_visible()
    assert _counts(server) == {"elections": 2, "submissions": 4, "receipts": 4}
    _shot(page, "confirmed")
    assert_accessible(page)

    page.get_by_role("link", name="View Submission").click()
    page.wait_for_url(f"**{REGISTRY}/submission-details?year=2022")
    miami = page.get_by_role("article", name=f"TIN {MIAMI_MEDICAL} · Miami Medical")
    assert miami.get_by_text(
        f"TIN {MIAMI_MEDICAL} NPI {DEBARA} MIPS ELIGIBLE VIA OPT-IN"
    ).is_visible()
    greenville = page.get_by_role(
        "article", name=f"TIN {GREENVILLE_PODIATRY} · Greenville Podiatry"
    )
    assert greenville.get_by_text("MIPS EXEMPT · REPORTING VOLUNTARILY").is_visible()
    assert greenville.get_by_text(f"TIN {GREENVILLE_PODIATRY} MIPS").count() == 0  # No Decision
    _shot(page, "details")
    assert_accessible(page)

    page.get_by_label(re.compile("^Search")).fill(GREEN)
    page.get_by_label("Filter upload date").select_option(label="03/19/2023")
    page.get_by_role("button", name="Show TINs").click()
    page.wait_for_url("**q=*")
    assert page.get_by_role("article").count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these participants as CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [r[1] for r in rows[1:]] == [GREEN]

    page.get_by_role("link", name="Print receipt", exact=True).click()
    page.wait_for_url("**/submission-details/receipt?*")
    assert page.get_by_role("heading", name="Submission Receipt").is_visible()
    assert page.get_by_role("button", name="Print this receipt").is_visible()
    assert page.get_by_text("green.xml").is_visible()
    assert_accessible(page)


def test_cancel_file_upload_drops_everything_even_eligible_participants(
    page: Any, server: LiveServer, tmp_path: Path
) -> None:
    _sign_in(page, server, "jordan.rivera")
    page.goto(server.url + REGISTRY + "/uploads?year=2022")
    page.get_by_label("Upload data").set_input_files(
        _files(
            tmp_path / "cancel",
            {
                "debara.json": qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022),
                "rivera.json": qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022),
            },
        )
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r".*/uploads/[0-9a-f-]{36}$"))
    page.get_by_role("radio", name=f"Opt-In: TIN {MIAMI_MEDICAL} NPI {DEBARA}").check()
    assert page.get_by_text("Change your mind?").is_visible()
    page.get_by_role("button", name="Cancel File Upload").click()
    assert page.get_by_role("heading", name="File Upload Cancelled").is_visible()
    assert page.get_by_role("radio").count() == 0
    assert _counts(server) == {"elections": 0, "submissions": 0, "receipts": 0}
    _shot(page, "cancelled")
    assert_accessible(page)
    page.get_by_role("link", name="Registry Submission Details", exact=True).click()
    assert page.get_by_text("No TIN data uploaded.").is_visible()
    assert page.get_by_role("cell", name="Cancelled").is_visible()


def test_no_decision_by_keyboard_and_the_50_file_limit(
    page: Any, server: LiveServer, tmp_path: Path
) -> None:
    _sign_in(page, server, "alex.chen")
    page.goto(server.url + REGISTRY + "/uploads?year=2022")
    many = {
        f"rivera-{i:02d}.json": qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022) for i in range(51)
    }
    page.get_by_label("Upload data").set_input_files(_files(tmp_path / "many", many))
    page.get_by_role("button", name="Upload", exact=True).click()
    summary = page.get_by_role("alert")
    assert summary.get_by_role("heading", name="There is a problem with your upload:").is_visible()
    assert (
        summary.get_by_role(
            "link",
            name=re.compile("a maximum of 50 files can be processed in a single upload request"),
        ).get_attribute("href")
        == "#upload-files"
    )
    assert page.evaluate("document.activeElement.id") == "error-summary"
    _shot(page, "too-many-files")
    assert_accessible(page)

    page.get_by_label("Upload data").set_input_files(
        _files(
            tmp_path / "two",
            {
                "debara.json": qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022),
                "rivera.json": qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022),
            },
        )
    )
    page.get_by_role("button", name="Upload", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/uploads/[0-9a-f-]{36}$"))
    # Submit Elections without a choice: the error summary links to the row
    page.get_by_role("button", name="Submit Elections").focus()
    page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    link = summary.get_by_role("link", name=re.compile(f"TIN {MIAMI_MEDICAL} NPI {DEBARA}"))
    assert link.get_attribute("href") == f"#choice-{MIAMI_MEDICAL}-{DEBARA}-no_decision"
    assert_accessible(page)
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_role("radio", name=f"No Decision: TIN {MIAMI_MEDICAL} NPI {DEBARA}").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Submit Elections").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/confirm?*")
    # nothing to elect: no CONFIRM to type
    assert page.get_by_label(re.compile('Please type "CONFIRM"')).count() == 0
    page.get_by_role("button", name="I'm Sure, Confirm Selections").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/confirmed")
    assert page.get_by_text("1 participant with No Decision was not uploaded").is_visible()
    assert _counts(server) == {"elections": 0, "submissions": 1, "receipts": 1}
    assert_accessible(page)
