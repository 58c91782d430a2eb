"""The Eligibility & Reporting pages over HTTP (no browser): the practice summary and the
guide's buttons, connected clinicians with search, filters and CSV, the options, "Are you
sure?" with its error summary, CSRF, the confirmation, refusals as pages, and the public
reporting opt-out. The browser walk is tests/e2e/browser/test_elections.py."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

from fastapi.testclient import TestClient
from tests.support.access_http import csrf_from, sign_in
from tests.support.elections_world import DEBARA, GREEN, PASSWORD, RIVERA, World

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.services import elections
from openqpp.settings import Settings
from openqpp.web import create_app

CLOCK = "2023-03-19T20:00:00-04:00"
GREENVILLE = f"/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}"
MIAMI = f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}"


def _client(world: World, user_id: str, clock: str = CLOCK) -> TestClient:
    client = TestClient(
        create_app(Settings(database_url=world.url, log_level="warning", clock=clock))
    )
    sign_in(client, user_id, PASSWORD)
    return client


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_home_page_shows_each_practice_summary_with_the_guides_buttons(world: World) -> None:
    client = _client(world, "sam.smith")
    response = client.get("/eligibility-reporting")
    assert response.status_code == 200
    text = _text(response.text)
    assert "Eligibility & Reporting" in text
    assert "closes in 12 days, March 31 at 8:00 PM ET" in text
    assert "Practices (2)" in text
    greenville = text[text.index("Greenville Podiatry") : text.index("Miami Medical")]
    for fact in (
        f"TIN: #{GREENVILLE_PODIATRY} | 5200 Manchester Ln., Greenville, OH 01234",
        "MIPS EXEMPT · Opt-in eligible",
        "Exceeds low volume threshold: No",
        "Total Medicare Patients at This Practice: 150",
        "Total Allowed Charges at This Practice: $90,300",
        "Covered Services at This Practice: 234",
        "Special Statuses, Exceptions, and other factors: Small practice, Rural",
        "APM Participation at the practice level: 1 APM entity (A1234)",
        "View Group Options",
        "View Connected Clinicians",
        "You don't need to make an election for individual clinicians unless they are also "
        "submitting individual data.",
    ):
        assert fact in greenville, fact
    miami = text[text.index("Miami Medical") :]
    assert "MIPS ELIGIBLE" in miami
    assert "Start Reporting" in miami
    assert "View Group Options" not in miami
    assert f'href="{GREENVILLE}/group-options"' in response.text
    assert f'href="{MIAMI}/reporting"' in response.text


def test_connected_clinicians_are_searched_filtered_and_downloaded(world: World) -> None:
    client = _client(world, "sam.smith")
    page = _text(client.get(MIAMI).text)
    assert "Connected Clinicians (3)" in page
    assert "Debara Jones at Miami Medical" in page
    assert "This clinician is not required to report because they do not exceed" in page
    assert "because the practice exceeds the low-volume threshold" in page
    found = client.get(MIAMI, params={"q": "jones"}).text
    assert "1 Clinician " in _text(found)
    assert f'href="{MIAMI}/clinicians/{DEBARA}/individual-options"' in found
    eligible = _text(client.get(MIAMI, params={"status": "eligible"}).text)
    assert "Sam Rivera" in eligible
    assert "Debara Jones" not in eligible
    download = client.get(f"{MIAMI}/clinicians.csv", params={"status": "opt_in_eligible"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["npi"], r["individual_status"]) for r in rows] == [(DEBARA, "opt_in_eligible")]
    # only clinicians opt-in eligible as individuals get "View Individual Options"
    assert f"{RIVERA}/individual-options" not in client.get(MIAMI).text


def test_group_opt_in_through_every_page(world: World) -> None:
    client = _client(world, "lee.wong")
    options = client.get(f"{GREENVILLE}/group-options")
    text = _text(options.text)
    assert "Group Reporting Options" in text
    assert "Elect to Opt-In" in text
    assert "You will receive a MIPS final score and a payment adjustment in 2024" in text
    assert "Choose to Report Voluntarily" in text
    assert "You can't voluntarily report the APP." in text
    assert "Cancel and go back" in text
    form = client.get(f"{GREENVILLE}/group-options/confirm", params={"decision": "opt_in"})
    text = _text(form.text)
    assert "Are you sure?" in text
    assert (
        "By opting-in, Greenville Podiatry will become MIPS eligible for the 2022 performance "
        "year and will receive a final score and 2024 payment adjustment" in text
    )
    assert 'To proceed, please type "CONFIRM"' in text
    assert "I'm sure, confirm opt-in" in text
    assert "Cancel Opt In" in text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
    assert key
    data = {
        "csrf_token": csrf_from(form.text),
        "decision": "opt_in",
        "typed": "confirmd",
        "idempotency_key": key.group(1),
    }
    # no CSRF token: refused, nothing recorded
    forged = client.post(
        f"{GREENVILLE}/group-options/confirm", data={**data, "csrf_token": "x", "typed": "CONFIRM"}
    )
    assert forged.status_code == 403
    assert "OQ-CSRF-001" in forged.text
    # mistyped: the page again with the CMS Design System error summary
    mistyped = client.post(f"{GREENVILLE}/group-options/confirm", data=data)
    assert mistyped.status_code == 422
    assert "<title>Error: Are you sure?" in mistyped.text
    assert "Complete these items to confirm your election:" in mistyped.text
    assert 'href="#confirm-text"' in mistyped.text
    assert 'aria-invalid="true"' in mistyped.text
    assert "OQ-ELECT-008" in mistyped.text
    done = client.post(
        f"{GREENVILLE}/group-options/confirm",
        data={**data, "typed": "confirm"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{GREENVILLE}/confirmed"
    confirmed = _text(client.get(done.headers["location"]).text)
    assert "Opt-In Confirmed" in confirmed
    assert (
        "Greenville Podiatry has been successfully opted in to report for the 2022 performance "
        "year." in confirmed
    )
    assert "Start Reporting" in confirmed
    # a double-submitted form shows the same confirmation, and nothing is recorded twice
    twice = client.post(
        f"{GREENVILLE}/group-options/confirm",
        data={**data, "typed": "confirm"},
        follow_redirects=False,
    )
    assert twice.headers["location"] == f"{GREENVILLE}/confirmed"
    reporting = _text(client.get(f"{GREENVILLE}/reporting").text)
    assert "MIPS eligible via opt-in" in reporting
    assert "Lee Wong (security official, Greenville Podiatry)" in reporting
    assert "This election is final and cannot be changed." in reporting
    home = _text(client.get("/eligibility-reporting").text)
    assert "MIPS eligible via opt-in" in home
    assert "View Group Options" not in home
    lookup = _text(client.get("/participation-lookup", params={"npi": GREEN, "year": 2022}).text)
    assert "MIPS eligible via opt-in" in lookup
    assert "decided March 19, 2023 at 8:00 PM ET" in lookup
    assert "PY 2022 election deadline: closes in 12 days, March 31 at 8:00 PM ET." in lookup
    # the options are gone for good
    again = client.get(f"{GREENVILLE}/group-options/confirm", params={"decision": "voluntary"})
    assert again.status_code == 409
    assert "OQ-ELECT-002" in again.text
    assert "already has an election" in again.text
    with world.factory() as session:
        assert len(elections.list_elections(session, year=2022)) == 1


def test_individual_voluntary_election_and_the_public_reporting_opt_out(world: World) -> None:
    client = _client(world, "maria.garcia")
    base = f"{MIAMI}/clinicians/{DEBARA}"
    options = _text(client.get(f"{base}/individual-options").text)
    assert "Individual Reporting Options" in options
    assert f"Debara Jones at Miami Medical NPI: {DEBARA} | TIN: {MIAMI_MEDICAL}" in options
    form = client.get(f"{base}/individual-options/confirm", params={"decision": "voluntary"})
    assert "I'm sure, report voluntarily" in _text(form.text)
    done = client.post(
        f"{base}/individual-options/confirm",
        data={"csrf_token": csrf_from(form.text), "decision": "voluntary", "typed": "CONFIRM"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Voluntary Reporting Confirmed" in client.get(done.headers["location"]).text
    with world.factory.begin() as session:
        elections.set_preview_period(
            session,
            year=2022,
            opens_at=dt.datetime(2023, 11, 1, tzinfo=dt.UTC),
            closes_at=dt.datetime(2023, 12, 1, tzinfo=dt.UTC),
            source="test",
        )
    during = _client(world, "maria.garcia", clock="2023-11-15T12:00:00Z")
    page = during.get(f"{base}/reporting")
    assert "Opt out of public reporting" in page.text
    opted = during.post(
        f"{base}/public-reporting-opt-out",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert opted.status_code == 303
    after = _text(during.get(opted.headers["location"]).text)
    assert "Public reporting: Opted out" in after
    twice = during.post(
        f"{base}/public-reporting-opt-out", data={"csrf_token": csrf_from(page.text)}
    )
    assert twice.status_code == 409
    assert "OQ-ELECT-022" in twice.text
    before = client.post(
        f"{base}/public-reporting-opt-out", data={"csrf_token": csrf_from(form.text)}
    )
    assert before.status_code == 422
    assert "OQ-ELECT-021" in before.text
    assert "Complete these items to opt out of public reporting:" in before.text
    assert "<title>Error: Reporting Overview" in before.text


def test_the_clinician_role_sees_eligibility_but_cannot_elect(world: World) -> None:
    client = _client(world, "debara.jones")
    page = client.get(MIAMI).text
    assert "Debara Jones at Miami Medical" in page
    assert "individual-options" not in page
    refused = client.get(f"{MIAMI}/clinicians/{DEBARA}/individual-options")
    assert refused.status_code == 403
    assert "OQ-ELECT-005" in refused.text
    assert "view-only" in refused.text


def test_a_closed_window_shows_the_options_without_the_buttons(world: World) -> None:
    client = _client(world, "lee.wong", clock="2023-04-01T00:00:00Z")
    page = client.get(f"{GREENVILLE}/group-options")
    assert page.status_code == 200
    text = _text(page.text)
    assert "closed on March 31, 2023 at 8:00 PM ET" in text
    assert "Elections can be made only while the election window is open." in text
    assert "group-options/confirm" not in page.text
    form = client.get(f"{GREENVILLE}/group-options/confirm", params={"decision": "opt_in"})
    refused = client.post(
        f"{GREENVILLE}/group-options/confirm",
        data={"csrf_token": csrf_from(form.text), "decision": "opt_in", "typed": "CONFIRM"},
    )
    assert refused.status_code == 422
    assert "OQ-ELECT-004" in refused.text
    assert "Complete these items to confirm your election:" in refused.text


def test_bad_addresses_are_user_errors(world: World) -> None:
    client = _client(world, "lee.wong")
    for path, code in (
        ("/eligibility-reporting/20x2/practices/454599323", "OQ-YEAR-001"),
        ("/eligibility-reporting/2030/practices/454599323/group-options", "OQ-POLICY-002"),
        ("/eligibility-reporting/2022/practices/4545/group-options", "OQ-TIN-001"),
        (f"{GREENVILLE}/clinicians/1234567890/individual-options", "OQ-NPI-002"),
        (f"{GREENVILLE}/group-options/confirm?decision=maybe", "OQ-ELECT-009"),
        (f"{MIAMI}/group-options", "OQ-ELECT-005"),
        (f"{GREENVILLE}/confirmed", "OQ-ELECT-012"),
        ("/eligibility-reporting?year=2030", "OQ-POLICY-002"),
    ):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert code in response.text, (path, response.text[-600:])


def test_a_registry_user_without_practices_sees_none(world: World) -> None:
    text = _text(_client(world, "alex.chen").get("/eligibility-reporting").text)
    assert "You have no role at a practice yet." in text
