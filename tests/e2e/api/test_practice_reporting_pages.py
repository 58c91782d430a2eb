"""The practice's reporting pages over HTTP (no browser): the Reporting Overview at the address
"Start Reporting" links to, the upload (multipart, CSRF, the size limit before the body is
read), the success and error indicators with the error report, receipts, and the PI and IA
manual entry forms. The browser walk is tests/e2e/browser/test_practice_reporting.py."""

from __future__ import annotations

import html
import json
import re

import httpx
from fastapi.testclient import TestClient
from tests.support.access_http import csrf_from, sign_in
from tests.support.elections_world import DEBARA, PASSWORD, World
from tests.support.practice_reporting import group_qrda3, pi_form

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.settings import Settings
from openqpp.web import create_app

CLOCK = "2020-02-03T10:00:00-05:00"
MIAMI = f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}"


def _client(world: World, user_id: str = "maria.garcia", **settings: object) -> TestClient:
    client = TestClient(
        create_app(
            Settings(database_url=world.url, log_level="warning", clock=CLOCK, **settings)  # type: ignore[arg-type]
        )
    )
    sign_in(client, user_id, PASSWORD)
    return client


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _upload(client: TestClient, name: str, data: bytes, token: str) -> httpx.Response:
    return client.post(
        f"{MIAMI}/reporting/upload",
        data={"csrf_token": token},
        files={"file": (name, data, "application/xml")},
    )


def test_the_reporting_overview_lives_where_start_reporting_points(world: World) -> None:
    client = _client(world)
    details = client.get(MIAMI).text
    assert f'href="{MIAMI}/reporting"' in details
    page = client.get(f"{MIAMI}/reporting")
    assert page.status_code == 200
    text = _text(page.text)
    assert "<title>Reporting Overview · Miami Medical" in page.text
    for words in (
        "Reporting Overview",
        "MIPS ELIGIBLE",
        "Small practice: Improvement activities earn 2x the points",
        "Upload a File",
        "Promoting Interoperability",
        "Cost is calculated by CMS",
        "Create Manual Entry for Promoting Interoperability",
        "No data has been submitted for this group yet.",
        "Preliminary Total Score",
    ):
        assert words in text, words
    assert 'enctype="multipart/form-data"' in page.text


def test_upload_success_error_report_and_receipt_over_http(world: World) -> None:
    client = _client(world)
    token = csrf_from(client.get(f"{MIAMI}/reporting").text)
    good = _upload(client, "good.xml", group_qrda3(MIAMI_MEDICAL), token)
    assert good.status_code == 200
    text = _text(good.text)
    assert "Upload successful" in text
    assert "good.xml was uploaded successfully" in text
    receipt = re.search(r'href="([^"]+/reporting/receipts/[^"]+)"', good.text)
    assert receipt
    download = client.get(receipt.group(1))
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.text)["file"]["name"] == "good.xml"

    wrong = _upload(client, "greenville.xml", group_qrda3(GREENVILLE_PODIATRY), token)
    assert wrong.status_code == 422
    page = wrong.text
    assert "<title>Error: Reporting Overview" in page
    assert f"This file holds data for the group TIN {GREENVILLE_PODIATRY}" in _text(page)
    assert 'download="greenville-error-report.json"' in page
    assert 'href="data:application/json;base64,' in page

    forged = client.post(
        f"{MIAMI}/reporting/upload",
        data={"csrf_token": "nope"},
        files={"file": ("good.xml", group_qrda3(MIAMI_MEDICAL), "application/xml")},
    )
    assert forged.status_code == 403
    assert "OQ-CSRF-001" in forged.text


def test_an_upload_over_the_limit_is_refused_before_it_is_read(world: World) -> None:
    client = _client(world, max_request_bytes=2048)
    token = csrf_from(client.get(f"{MIAMI}/reporting").text)
    huge = client.post(
        f"{MIAMI}/reporting/upload",
        data={"csrf_token": token},
        files={"file": ("big.json", b"{" + b" " * (200 * 1024) + b"}", "application/json")},
    )
    assert huge.status_code == 413
    assert "OQ-SUB-202" in huge.text
    assert "larger than the 2,048 bytes" in _text(huge.text)
    over = client.post(
        f"{MIAMI}/reporting/upload",
        data={"csrf_token": token},
        files={"file": ("a.json", b"{" + b" " * 3000 + b"}", "application/json")},
    )
    assert over.status_code == 422
    assert "OQ-SUB-202" in over.text


def test_pi_and_ia_manual_entry_over_http(world: World) -> None:
    client = _client(world)
    form = client.get(f"{MIAMI}/reporting/pi")
    assert form.status_code == 200
    assert "Required attestation statements" in form.text
    token = csrf_from(form.text)
    bad = client.post(
        f"{MIAMI}/reporting/pi", data={**pi_form(cehrt="0015C1234567890"), "csrf_token": token}
    )
    assert bad.status_code == 422
    assert "Complete these items to save your Promoting Interoperability data:" in bad.text
    assert 'href="#cehrt-id"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    done = client.post(
        f"{MIAMI}/reporting/pi",
        data={**pi_form(measures={"PI_EP_1": (5, 9)}), "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{MIAMI}/reporting/pi?saved=1"
    assert (
        "Your Promoting Interoperability data was saved."
        in client.get(done.headers["location"]).text
    )

    ia = client.get(f"{MIAMI}/reporting/ia", params={"weight": "high"})
    assert ia.status_code == 200
    assert "You cannot earn more than 40 points in this category" in ia.text
    saved = client.post(
        f"{MIAMI}/reporting/ia",
        data={
            "csrf_token": csrf_from(ia.text),
            "performance_start": "2019-01-01",
            "performance_end": "2019-12-31",
            "shown": ["IA_EPA_1", "IA_EPA_3"],
            "completed": ["IA_EPA_1"],
            "weight": "high",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{MIAMI}/reporting/ia?saved=1&weight=high"
    after = _text(client.get(saved.headers["location"]).text)
    assert "40 of 40 points" in after
    assert "You have reached the maximum score" in after
    overview = _text(client.get(f"{MIAMI}/reporting").text)
    assert "View Manual Entry for Promoting Interoperability" in overview
    assert "Miami Medical (practice) · manual attestation" in overview


def test_the_clinician_role_sees_why_it_cannot_see_or_send_data(world: World) -> None:
    client = _client(world, "debara.jones")
    text = _text(client.get(f"{MIAMI}/reporting").text)
    assert "You can't see the data submitted for Miami Medical" in text
    assert "You can't submit data for Miami Medical" in text
    assert client.get(f"{MIAMI}/reporting/pi").status_code == 403


def test_an_opt_in_eligible_clinician_is_sent_to_make_an_election_first(world: World) -> None:
    client = _client(world)
    page = client.get(f"{MIAMI}/clinicians/{DEBARA}/reporting")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Make an election before submitting data" in text
    assert "Debara Jones is opt-in eligible for performance year 2019" in text
    assert f'href="{MIAMI}/clinicians/{DEBARA}/individual-options"' in page.text
    assert "Uploads open once the election is made." in text
    assert 'action="' + f"{MIAMI}/clinicians/{DEBARA}/reporting/upload" not in page.text
    assert "reporting as an individual" in text
