"""The Eligibility API's opt-in endpoint over HTTP: CMS's read call (`GET /api/eligibility/opt-in`
with `Qpp-Opt-In-Entities`), openqpp's write call (`PUT`, and `POST`) for one or many entities,
all or nothing with a result per entity, idempotency keys, the error envelope, and the iCalendar
deadline feed."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.access_http import sign_in
from tests.support.elections_world import DEBARA, GREEN, PASSWORD, RIVERA, World

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.settings import Settings
from openqpp.web import create_app

CLOCK = "2023-03-19T20:00:00-04:00"
HEADER = "Qpp-Opt-In-Entities"


def _client(world: World, clock: str = CLOCK) -> TestClient:
    return TestClient(
        create_app(Settings(database_url=world.url, log_level="warning", clock=clock))
    )


@pytest.fixture
def registry(world: World) -> dict[str, str]:
    """Headers of the American Academy of Neurology's API token (a QCDR)."""
    return world.bearer("alex.chen", OrganisationType.REGISTRY, "AAN-QCDR")


def _put(client: TestClient, headers: dict[str, str], body: dict[str, Any], key: str | None = None):  # type: ignore[no-untyped-def]
    extra = {"Idempotency-Key": key} if key else {}
    return client.put("/api/eligibility/opt-in", json=body, headers={**headers, **extra})


def test_read_answers_the_documented_shape(world: World, registry: dict[str, str]) -> None:
    client = _client(world)
    response = client.get(
        "/api/eligibility/opt-in?year=2022",
        headers={**registry, HEADER: f"{MIAMI_MEDICAL}|{DEBARA},{MIAMI_MEDICAL}"},
    )
    assert response.status_code == 200, response.text
    individual, group = response.json()["data"]
    assert set(individual) == {
        "tin", "npi", "isOptInEligible", "optInDecisionDate", "isOptedIn", "year", "runNum",
        "explanation",
    }  # fmt: skip
    assert (individual["tin"], individual["npi"]) == (MIAMI_MEDICAL, DEBARA)
    assert individual["isOptInEligible"] is True
    assert individual["isOptedIn"] is None
    assert individual["optInDecisionDate"] is None
    assert (individual["year"], individual["runNum"]) == (2022, 1)
    assert individual["explanation"]["statusText"] == "MIPS EXEMPT · Opt-in eligible"
    assert "npi" not in group
    assert group["isOptInEligible"] is False
    assert group["explanation"]["status"] == "eligible"


def test_read_refuses_entities_the_caller_may_not_see_and_needs_the_header(
    world: World, registry: dict[str, str]
) -> None:
    client = _client(world)
    response = client.get(
        "/api/eligibility/opt-in?year=2022",
        headers={**registry, HEADER: f"{GREENVILLE_PODIATRY}|{GREEN},{GREENVILLE_PODIATRY}"},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "OQ-ACCESS-001"
    (detail,) = error["details"]
    assert detail["path"] == "Qpp-Opt-In-Entities[1]"
    assert detail["tin"] == "*****" + GREENVILLE_PODIATRY[-4:]  # masked, as in the message
    missing = client.get("/api/eligibility/opt-in", headers=registry)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "OQ-ELECT-011"
    bad = client.get("/api/eligibility/opt-in", headers={**registry, HEADER: "12345"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "OQ-TIN-001"
    anonymous = client.get("/api/eligibility/opt-in", headers={HEADER: MIAMI_MEDICAL})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "OQ-AUTH-001"


def test_write_records_elections_and_a_repeat_with_the_key_returns_the_same_result(
    world: World, registry: dict[str, str]
) -> None:
    client = _client(world)
    body = {
        "data": [
            {"tin": MIAMI_MEDICAL, "npi": DEBARA, "decision": "opt_in"},
            {"tin": GREENVILLE_PODIATRY, "npi": GREEN, "isOptedIn": False},
        ],
        "year": 2022,
        "confirm": "confirm",
    }
    key = str(uuid.uuid4())
    first = _put(client, registry, body, key)
    assert first.status_code == 200, first.text
    assert "Idempotency-Replayed" not in first.headers
    debara, green = first.json()["data"]
    assert (debara["isOptedIn"], green["isOptedIn"]) == (True, False)
    assert (debara["decision"], green["decision"]) == ("opt_in", "voluntary")
    assert re.fullmatch(r"2023-03-20T00:00:00\.000Z", debara["optInDecisionDate"])
    assert debara["explanation"]["election"]["actingOrganisation"] == (
        "American Academy of Neurology"
    )
    again = _put(client, registry, body, key)
    assert again.status_code == 200
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    other = _put(client, registry, {**body, "data": body["data"][:1]}, key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "OQ-ELECT-010"
    # without the key, the same request is a second attempt: already elected
    repeat = _put(client, registry, body)
    assert repeat.status_code == 409
    error = repeat.json()["error"]
    assert error["code"] == "OQ-ELECT-002"
    assert [d["existing"]["decision"] for d in error["details"]] == ["opt_in", "voluntary"]
    # the read call and the v6 lookup show the elections
    read = client.get(
        "/api/eligibility/opt-in?year=2022",
        headers={**registry, HEADER: f"{MIAMI_MEDICAL}|{DEBARA}"},
    ).json()["data"][0]
    assert read["isOptedIn"] is True
    assert read["optInDecisionDate"] == debara["optInDecisionDate"]
    v6 = client.get(f"/api/eligibility/npi/{DEBARA}?year=2022").json()["data"]
    scenario = v6["organizations"][0]["individualScenario"]
    assert scenario["isOptedIn"] is True
    assert scenario["optInDecisionDate"] == "2023-03-20T00:00:00Z"
    assert scenario["explanation"]["statusText"] == "MIPS eligible via opt-in"


def test_write_is_all_or_nothing_with_a_result_per_entity(
    world: World, registry: dict[str, str]
) -> None:
    client = _client(world)
    response = _put(
        client,
        registry,
        {
            "data": [
                {"tin": MIAMI_MEDICAL, "npi": DEBARA, "decision": "opt_in"},
                {"tin": MIAMI_MEDICAL, "npi": RIVERA, "decision": "voluntary"},
                {"tin": "12345", "decision": "opt_in"},
                {"tin": MIAMI_MEDICAL, "npi": DEBARA, "decision": "voluntary"},
            ],
            "year": 2022,
            "confirm": "CONFIRM",
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "OQ-ELECT-100"
    outcomes = [(d["path"], d["outcome"], d.get("code")) for d in error["details"]]
    assert outcomes == [
        ("$.data[0]", "not_recorded", None),
        ("$.data[1]", "refused", "OQ-ELECT-001"),
        ("$.data[2]", "refused", "OQ-TIN-001"),
        ("$.data[3]", "refused", "OQ-ELECT-011"),
    ]
    read = client.get(
        "/api/eligibility/opt-in?year=2022",
        headers={**registry, HEADER: f"{MIAMI_MEDICAL}|{DEBARA}"},
    ).json()["data"][0]
    assert read["isOptedIn"] is None


DEBARA_OPT_IN = {"tin": MIAMI_MEDICAL, "npi": DEBARA, "decision": "opt_in"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"data": [], "confirm": "CONFIRM"}, 400, "OQ-ELECT-011"),
        ({"data": [{"tin": MIAMI_MEDICAL, "npi": DEBARA}], "confirm": "CONFIRM"}, 400,
         "OQ-ELECT-009"),
        ({"data": [DEBARA_OPT_IN]}, 422, "OQ-ELECT-008"),
        ({"data": [{**DEBARA_OPT_IN, "x": 1}]}, 422, "OQ-REQ-001"),
        ({"data": "everyone", "confirm": "CONFIRM"}, 422, "OQ-REQ-001"),
        ({"data": [DEBARA_OPT_IN] * 101, "confirm": "CONFIRM"}, 400, "OQ-ELECT-011"),
        ({"data": [DEBARA_OPT_IN], "year": 1999, "confirm": "CONFIRM"}, 400, "OQ-YEAR-001"),
        ({"data": [DEBARA_OPT_IN], "year": 2030, "confirm": "CONFIRM"}, 400, "OQ-POLICY-002"),
        ({"data": [{**DEBARA_OPT_IN, "pathway": "scenic"}], "confirm": "CONFIRM"}, 400,
         "OQ-ELECT-009"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_code_and_a_fix_never_a_500(
    world: World, registry: dict[str, str], body: dict[str, Any], status: int, code: str
) -> None:
    response = _put(_client(world), registry, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_post_works_too_and_a_practice_token_elects_for_its_own_practice(world: World) -> None:
    token = world.bearer("lee.wong", OrganisationType.PRACTICE, GREENVILLE_PODIATRY)
    client = _client(world)
    response = client.post(
        "/api/eligibility/opt-in",
        json={"data": [{"tin": GREENVILLE_PODIATRY, "decision": "opt_in"}], "confirm": "CONFIRM"},
        headers=token,
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()["data"]
    assert item["year"] == 2022  # the year whose window is open at the server's clock
    assert item["explanation"]["election"]["role"] == "staff_user"


def test_outside_the_window_the_api_refuses(world: World, registry: dict[str, str]) -> None:
    client = _client(world, clock="2023-04-01T00:00:00Z")
    response = _put(
        client,
        registry,
        {
            "data": [{"tin": MIAMI_MEDICAL, "npi": DEBARA, "decision": "opt_in"}],
            "year": 2022,
            "confirm": "CONFIRM",
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "OQ-ELECT-004"


def test_a_signed_in_session_needs_the_csrf_header_to_write(world: World) -> None:
    client = _client(world)
    csrf = sign_in(client, "lee.wong", PASSWORD)
    body = {"data": [{"tin": GREENVILLE_PODIATRY, "decision": "opt_in"}], "confirm": "CONFIRM"}
    refused = client.put("/api/eligibility/opt-in", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "OQ-CSRF-001"
    allowed = client.put("/api/eligibility/opt-in", json=body, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 200


def test_elections_cannot_be_changed_or_deleted_through_the_api(
    world: World, registry: dict[str, str]
) -> None:
    client = _client(world)
    for method in ("DELETE", "PATCH"):
        response = client.request(method, "/api/eligibility/opt-in", headers=registry)
        assert response.status_code == 405
        assert response.json()["error"]["type"] == "MethodNotAllowed"
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/eligibility/opt-in"]) == {"get", "put", "post"}
    assert not [p for p, ops in paths.items() if "election" in p and {"delete", "patch"} & set(ops)]


def test_the_openapi_description_documents_the_write_call(world: World) -> None:
    spec = _client(world).get("/api/openapi.json").json()
    put = spec["paths"]["/api/eligibility/opt-in"]["put"]
    assert "all or nothing" in put["description"]
    assert "Idempotency-Key" in put["description"]
    assert "OQ-ELECT-002" in put["description"]
    names = {p["name"] for p in put["parameters"]}
    assert "Idempotency-Key" in names
    get = spec["paths"]["/api/eligibility/opt-in"]["get"]
    assert "Qpp-Opt-In-Entities" in {p["name"] for p in get["parameters"]}


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.split("\r\n"):
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def test_the_calendar_feed_is_rfc_5545_with_the_window_and_the_deadline(
    world: World, registry: dict[str, str]
) -> None:
    token = world.bearer("maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL)
    client = _client(world)
    response = client.get(
        f"/organisations/practice/{MIAMI_MEDICAL}/elections.ics",
        headers=token,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    raw = response.text
    assert raw.endswith("\r\n")
    assert "\n" not in raw.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n"))
    lines = _unfold(raw)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert lines.count("BEGIN:VEVENT") == 4  # window and deadline for 2019 and 2022
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT")
    assert "DTSTART:20230103T150000Z" in lines  # January 3, 2023 10:00 EST
    assert "DTEND:20230401T000000Z" in lines  # March 31, 2023 8:00 PM EDT
    assert "DTEND:20200501T000000Z" in lines  # the 2019 extension, April 30, 2020 8:00 PM EDT
    assert "TRIGGER:-P7D" in lines
    uids = [line for line in lines if line.startswith("UID:")]
    assert len(uids) == len(set(uids)) == 4
    assert any("1 opt-in eligible clinician(s) or group(s)" in line for line in lines)
    # an organisation the caller has no role at: the usual refusal, same words as a missing one
    other = client.get(
        f"/organisations/practice/{GREENVILLE_PODIATRY}/elections.ics",
        headers=token,
    )
    assert other.status_code == 403
    assert client.get(f"/organisations/practice/{MIAMI_MEDICAL}/elections.ics").status_code == 401
