"""The registry upload pages over HTTP, without a browser and so without JavaScript: Upload
Data (multipart, CSRF, the 50-file and size limits), the participant table with the counts,
Submit Elections (GET, every choice required), "Are you sure?" (CONFIRM), the confirmation,
Cancel File Upload, error reports, and Registry Submission Details with its CSV and receipt.
The browser walk is tests/e2e/browser/test_registry_upload.py."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
from fastapi.testclient import TestClient
from tests.support.access_http import csrf_from, sign_in
from tests.support.elections_world import DEBARA, PASSWORD, RIVERA, World
from tests.support.registry_uploads import bad_qpp_json, qpp_json, qrda3_with_converter_errors

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.settings import Settings
from openqpp.web import create_app

CLOCK = "2023-03-19T20:00:00-04:00"
REGISTRY = "/organisations/registry/AAN-QCDR"
DEBARA_FIELD = f"choice-{MIAMI_MEDICAL}-{DEBARA}"


def _client(world: World, user_id: str = "alex.chen", **settings: Any) -> TestClient:
    client = TestClient(
        create_app(Settings(database_url=world.url, log_level="warning", clock=CLOCK, **settings))
    )
    sign_in(client, user_id, PASSWORD)
    return client


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _upload(
    client: TestClient, files: list[tuple[str, bytes]], *, year: str = "2022"
) -> httpx.Response:
    token = csrf_from(client.get(f"{REGISTRY}/uploads").text)
    return client.post(
        f"{REGISTRY}/uploads",
        data={"csrf_token": token, "year": year},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        follow_redirects=False,
    )


def _files() -> list[tuple[str, bytes]]:
    return [
        ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
        ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
        ("broken.json", bad_qpp_json(MIAMI_MEDICAL, year=2022)),
        ("ia-missing.xml", qrda3_with_converter_errors()),
    ]


def test_the_whole_flow_works_without_javascript(world: World) -> None:
    client = _client(world)
    details = client.get(f"{REGISTRY}/submission-details?year=2022")
    assert details.status_code == 200
    assert "2022 Registry Submission Details" in _text(details.text)
    assert "No TIN data uploaded." in _text(details.text)
    assert "Vendor ID: #AAN-QCDR" in _text(details.text)

    staged = _upload(client, _files())
    assert staged.status_code == 303
    upload = staged.headers["location"]
    page = client.get(upload)
    text = _text(page.text)
    assert "Opt-In Eligible Participants" in text
    assert 'The following clinicians or groups have been identified as "opt-in eligible"' in text
    assert f"TIN {MIAMI_MEDICAL} NPI {DEBARA}" in text
    assert "Success" in text
    assert "Error: " in text
    assert text.count("Download error report") == 2
    assert f'name="{DEBARA_FIELD}"' in page.text
    assert "Not chosen yet: 1" in text
    assert "MIPS ELIGIBLE" in text  # Rivera, under the other participants

    # the counts as htmx asks for them
    counts = client.get(f"{upload}/counts", params={DEBARA_FIELD: "opt_in"})
    assert counts.status_code == 200
    assert 'data-count="opt_in">1<' in counts.text
    assert "<html" not in counts.text

    # Submit Elections without a choice: the participant table again, with the error summary
    missing = client.get(f"{upload}/confirm")
    assert missing.status_code == 422
    assert "Complete these items to submit your elections:" in _text(missing.text)
    assert f'href="#{DEBARA_FIELD}-no_decision"' in missing.text

    sure = client.get(f"{upload}/confirm", params={DEBARA_FIELD: "opt_in"})
    assert sure.status_code == 200
    text = _text(sure.text)
    assert "Are you sure?" in text
    assert "These selections are permanent and cannot be changed later." in text
    assert "I'm Sure, Confirm Selections" in text
    assert f'href="{upload}?{DEBARA_FIELD}=opt_in"' in sure.text  # Change my selections

    token = csrf_from(sure.text)
    wrong = client.post(
        f"{upload}/confirm", data={"csrf_token": token, DEBARA_FIELD: "opt_in", "typed": "conf"}
    )
    assert wrong.status_code == 422
    assert 'href="#confirm-text"' in wrong.text
    assert "OQ-ELECT-008" in wrong.text

    done = client.post(
        f"{upload}/confirm",
        data={"csrf_token": token, DEBARA_FIELD: "opt_in", "typed": "Confirm"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{upload}/confirmed"
    confirmed = _text(client.get(done.headers["location"]).text)
    assert "Participation Selections Confirmed" in confirmed
    assert "1 opted in" in confirmed
    assert "View Submission" in confirmed

    details = _text(client.get(f"{REGISTRY}/submission-details?year=2022").text)
    assert f"TIN {MIAMI_MEDICAL} NPI {DEBARA} MIPS ELIGIBLE VIA OPT-IN" in details
    assert f"TIN {MIAMI_MEDICAL} NPI {RIVERA} MIPS ELIGIBLE" in details
    assert "UPLOAD DATE" not in details  # dates are shown as MM/DD/YYYY
    assert "03/19/2023" in details
    csv_text = client.get(f"{REGISTRY}/submission-details.csv?year=2022").text
    assert csv_text.count("\n") == 3
    receipt = _text(client.get(f"{REGISTRY}/submission-details/receipt?year=2022").text)
    assert "Submission Receipt" in receipt
    assert "debara.json" in receipt


def test_error_reports_download_in_the_converter_shape_and_as_findings(world: World) -> None:
    client = _client(world)
    upload = _upload(client, _files()).headers["location"]
    xml_report = client.get(f"{upload}/files/4/report")
    assert xml_report.status_code == 200
    assert "ia-missing-error.json" in xml_report.headers["content-disposition"]
    document = json.loads(xml_report.text)
    assert document["errors"][0]["sourceIdentifier"] == "ia-missing.xml"
    assert [d["errorCode"] for d in document["errors"][0]["details"]] == [43]
    json_report = client.get(f"{upload}/files/3/report").json()
    assert all(item["severity"] in ("error", "warning") for item in json_report)
    assert client.get(f"{upload}/files/99/report").status_code == 404


def test_cancel_needs_the_csrf_token_and_drops_the_upload(world: World) -> None:
    client = _client(world)
    upload = _upload(client, _files()).headers["location"]
    refused = client.post(f"{upload}/cancel", data={}, follow_redirects=False)
    assert refused.status_code == 403
    token = csrf_from(client.get(upload).text)
    cancelled = client.post(f"{upload}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 200
    assert "File Upload Cancelled" in _text(cancelled.text)
    assert 'name="choice-' not in cancelled.text
    assert "No TIN data uploaded." in _text(client.get(f"{REGISTRY}/submission-details").text)


def test_51_files_and_files_over_the_limit_are_refused_on_the_form(world: World) -> None:
    client = _client(world, upload_max_file_bytes=2048)
    many = [(f"r{i}.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)) for i in range(51)]
    refused = _upload(client, many)
    assert refused.status_code == 422
    text = _text(refused.text)
    assert "a maximum of 50 files can be processed in a single upload request" in text
    assert 'href="#upload-files"' in refused.text
    big = _upload(
        client, [("big.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022) + b" " * 4096)]
    )
    assert big.status_code == 413
    assert "big.json" in _text(big.text)
    none = _upload(client, [])
    assert none.status_code == 422
    assert "No file was chosen" in _text(none.text)
    assert "Uploads waiting" not in _text(client.get(f"{REGISTRY}/submission-details").text)


def test_people_without_a_role_at_the_registry_are_refused(world: World) -> None:
    client = _client(world, "maria.garcia")
    assert client.get(f"{REGISTRY}/submission-details").status_code == 403
    assert client.get(f"{REGISTRY}/uploads").status_code == 403


def test_the_registry_page_links_to_its_submission_details(world: World) -> None:
    client = _client(world, "jordan.rivera")
    page = client.get(REGISTRY)
    assert f'href="{REGISTRY}/submission-details"' in page.text
