"""The Submissions API over HTTP (/api/submissions), compatible with CMS's: bearer tokens, the
tutorial payloads answered in the tutorials' shapes, find-or-create, PUT replace, PATCH merge
by measureId, a registry's own sets only, 401 for registries on POST /submissions, 422 details
with paths, the opt-in gate, 413, 429, the dry-run validator (QPP JSON and QRDA III), receipts,
idempotency, and fuzzed bodies that never give a 5xx nor a partial write (SQLite and
PostgreSQL)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.support.access_http import sign_in
from tests.support.elections_world import DEBARA, PASSWORD, RIVERA, World
from tests.support.reference import QPP_API_REFERENCE, QRDA3_REFERENCE, SHARED, missing

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.db.models import MeasurementRow, MeasurementSetRow, SubmissionReceipt, SubmissionRow
from openqpp.settings import Settings
from openqpp.web import create_app

CLOCK_2022 = "2023-03-19T20:00:00-04:00"
CLOCK_2019 = "2020-02-03T10:00:00-05:00"
BASE = "/api/submissions"
DOCS = QPP_API_REFERENCE / "submissions-docs"
QRDA3 = QRDA3_REFERENCE
SHARED_MEASURES = SHARED / "data" / "qpp-measures-data"
TIN_HEADER = "qpp-taxpayer-identification-number"
ROW_TYPES = (SubmissionRow, MeasurementSetRow, MeasurementRow, SubmissionReceipt)


# ---------------------------------------------------------------- helpers


def _client(world: World, clock: str = CLOCK_2022, **overrides: Any) -> TestClient:
    options: dict[str, Any] = {
        "database_url": world.url,
        "log_level": "warning",
        "clock": clock,
        "rate_limit_per_second": 1000.0,
        "rate_limit_burst": 1000,
        **overrides,
    }
    return TestClient(create_app(Settings(**options)))


@pytest.fixture
def aan(world: World) -> dict[str, str]:
    """The American Academy of Neurology's token (a QCDR; Miami Medical's registry)."""
    return world.bearer("alex.chen", OrganisationType.REGISTRY, "AAN-QCDR")


@pytest.fixture
def other(world: World) -> dict[str, str]:
    """Another registry's token: no client authorisations."""
    return world.bearer("olga.other", OrganisationType.REGISTRY, "OTHER-QR")


@pytest.fixture
def miami(world: World) -> dict[str, str]:
    """Miami Medical's own token (its Security Official's)."""
    return world.bearer("maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL)


def _counts(world: World) -> tuple[int, ...]:
    with world.factory() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(kind)) or 0 for kind in ROW_TYPES
        )


def _tutorial(name: str, *, year: int = 2022, tin: str = MIAMI_MEDICAL) -> Any:
    """A tutorial payload with its year placeholder and sandbox TIN made this world's."""
    text = (DOCS / name).read_text(encoding="utf-8")
    text = text.replace('"< performanceYearToBeReported >"', str(year))
    text = text.replace("< performanceYearToBeReported >", str(year))
    for sandbox in ("000000002", "000456789"):
        text = text.replace(f'"{sandbox}"', f'"{tin}"')
    return json.loads(text)


def _ia_set(year: int = 2022, *activities: str, tin: str = MIAMI_MEDICAL) -> dict[str, Any]:
    return {
        "category": "ia",
        "submissionMethod": "registry",
        "performanceStart": f"{year}-01-01",
        "performanceEnd": f"{year}-12-31",
        "submission": {
            "entityType": "group",
            "taxpayerIdentificationNumber": tin,
            "performanceYear": year,
        },
        "measurements": [{"measureId": a, "value": True} for a in activities or ("IA_EPA_1",)],
    }


def _quality(measure: str, met: int, not_met: int) -> dict[str, Any]:
    return {
        "measureId": measure,
        "value": {
            "isEndToEndReported": False,
            "performanceMet": met,
            "eligiblePopulationExclusion": 0,
            "eligiblePopulationException": 0,
            "performanceNotMet": not_met,
            "eligiblePopulation": met + not_met,
        },
    }


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def assert_same_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Every key of the CMS payload is in ours with a value of the same JSON type (ids and
    values aside). A CMS ``null`` may be a string in ours (e.g. an unset ``cehrtId``)."""
    want, got = _shape(expected), _shape(actual)
    _compare(got, want, where)


def _compare(got: Any, want: Any, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{where}: expected an object, got {got!r}"
        missing = set(want) - set(got)
        assert not missing, f"{where}: missing keys {sorted(missing)}"
        for key in want:
            _compare(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list), f"{where}: expected an array, got {got!r}"
        if want and got:
            _compare(got[0], want[0], f"{where}[0]")
    elif want == "null":
        assert got in ("null", "str"), f"{where}: expected null, got {got!r}"
    else:
        assert got == want, f"{where}: expected {want}, got {got}"


# ---------------------------------------------------------------- authentication


def test_every_call_needs_a_token_and_errors_are_the_json_envelope(
    world: World, aan: dict[str, str]
) -> None:
    client = _client(world)
    anonymous = client.get(f"{BASE}/submissions")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/json")
    assert anonymous.json()["error"]["type"] == "Unauthorized"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get(f"{BASE}/measurement-sets", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"].startswith("OQ-AUTH")
    fine = client.get(
        f"{BASE}/submissions",
        headers={**aan, "Accept": "application/vnd.qpp.cms.gov.v1+json"},
    )
    assert fine.status_code == 200
    assert fine.json() == {
        "data": {"submissions": [], "totalItems": 0, "startIndex": 0, "itemsPerPage": 100}
    }
    v2 = client.get(
        f"{BASE}/submissions", headers={**aan, "Accept": "application/vnd.qpp.cms.gov.v2+json"}
    )
    assert v2.status_code == 406
    assert v2.json()["error"]["type"] == "NotAcceptable"
    missing = client.get(f"{BASE}/submissions/no-such-id", headers=aan)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NotFound"
    assert "Traceback" not in missing.text


def test_a_signed_in_session_reads_and_needs_the_csrf_header_to_write(world: World) -> None:
    client = _client(world)
    csrf = sign_in(client, "maria.garcia", PASSWORD)
    assert client.get(f"{BASE}/submissions").status_code == 200
    body = _ia_set()
    refused = client.post(f"{BASE}/measurement-sets", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "OQ-CSRF-001"
    created = client.post(f"{BASE}/measurement-sets", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["measurementSet"]["submitterType"] == "practice"


# ---------------------------------------------------------------- the tutorials


def test_the_current_tutorial_is_accepted_and_answered_in_its_shape(
    world: World, aan: dict[str, str]
) -> None:
    client = _client(world)
    basic1 = client.post(
        f"{BASE}/measurement-sets",
        json=_tutorial("tutorial-payloads/basic1-request.json"),
        headers=aan,
    )
    assert basic1.status_code == 201, basic1.text
    expected = _tutorial("tutorial-payloads/basic1-response.json")
    assert_same_shape(basic1.json(), expected)
    created = basic1.json()["data"]["measurementSet"]
    assert set(created) == set(expected["data"]["measurementSet"])
    (measurement,) = created["measurements"]
    assert measurement["value"] == {
        **expected["data"]["measurementSet"]["measurements"][0]["value"]
    }
    assert (created["submitterType"], created["submitterId"]) == ("organization", "AAN-QCDR")

    advanced2 = client.patch(
        f"{BASE}/measurement-sets/{created['id']}",
        json=_tutorial("tutorial-payloads/advanced2-request.json"),
        headers=aan,
    )
    assert advanced2.status_code == 200, advanced2.text
    expected2 = _tutorial("tutorial-payloads/advanced2-response.json")
    assert_same_shape(advanced2.json(), expected2)
    merged = advanced2.json()["data"]["measurementSet"]
    assert merged["id"] == created["id"]
    assert [m["measureId"] for m in merged["measurements"]] == ["047", "001"]
    assert [m["value"] for m in merged["measurements"]] == [
        m["value"] for m in expected2["data"]["measurementSet"]["measurements"]
    ]
    assert merged["measurements"][0]["id"] == measurement["id"]

    ia = client.post(
        f"{BASE}/measurement-sets", json=_ia_set(2022, "IA_EPA_3", "IA_EPA_4"), headers=aan
    )
    assert ia.status_code == 201, ia.text
    ia_set = ia.json()["data"]["measurementSet"]
    target = next(m for m in ia_set["measurements"] if m["measureId"] == "IA_EPA_4")
    request = {
        **_tutorial("tutorial-payloads/advanced4-request.json"),
        "measurementSetId": ia_set["id"],
    }
    advanced4 = client.patch(f"{BASE}/measurements/{target['id']}", json=request, headers=aan)
    assert advanced4.status_code == 200, advanced4.text
    expected4 = _tutorial("tutorial-payloads/advanced4-response.json")
    assert_same_shape(advanced4.json(), expected4)
    assert set(advanced4.json()["data"]["measurement"]) == set(expected4["data"]["measurement"])
    assert advanced4.json()["data"]["measurement"]["value"] is False


def test_the_2021_tutorial_is_accepted_and_answered_in_its_shape(
    world: World, aan: dict[str, str]
) -> None:
    client = _client(world)
    request = _tutorial("tutorial-payloads-2021/basic1-request.json")
    request["submission"].update(performanceYear=2022, nationalProviderIdentifier=RIVERA)
    for key in ("performanceStart", "performanceEnd"):
        request[key] = request[key].replace("2018", "2022")
    request["performanceEnd"] = "2022-12-31"
    basic1 = client.post(f"{BASE}/measurement-sets", json=request, headers=aan)
    assert basic1.status_code == 201, basic1.text
    assert_same_shape(basic1.json(), _tutorial("tutorial-payloads-2021/basic1-response.json"))
    created = basic1.json()["data"]["measurementSet"]

    invalid = _tutorial("tutorial-payloads-2021/advanced1-request.json")
    invalid.update(submissionId=created["submissionId"], performanceStart="2022-01-01")
    invalid["performanceEnd"] = "2022-12-31"
    refused = client.post(f"{BASE}/measurement-sets", json=invalid, headers=aan)
    assert refused.status_code == 422
    expected = _tutorial("tutorial-payloads-2021/advanced1-response.json")
    assert_same_shape(refused.json(), expected)
    (detail,) = refused.json()["error"]["details"]
    assert (
        detail["path"] == expected["error"]["details"][0]["path"] == "$.measurements[0].measureId"
    )
    assert detail["message"].startswith(
        "field 'measureId' in MeasurementSet.measurements[0] is invalid:"
    )
    assert detail["location"] == {"path": "$.measurements[0].measureId"}
    assert (detail["code"], detail["severity"]) == ("OQ-SUB-051", "error")
    assert "IA_EPA_10" in detail["fix"]

    # CMS's 2021 flow POSTs the same set again to add IA_EPA_3; here that is a PATCH (a second
    # POST of the same set is a DuplicateEntryError), answered in the same shape.
    more = _tutorial("tutorial-payloads-2021/advanced2-request.json")
    more.update(submissionId=created["submissionId"], performanceStart="2022-01-01")
    more["performanceEnd"] = "2022-12-31"
    duplicate = client.post(f"{BASE}/measurement-sets", json=more, headers=aan)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["type"] == "DuplicateEntryError"
    assert duplicate.json()["error"]["details"]["measurementSetId"] == created["id"]
    patched = client.patch(f"{BASE}/measurement-sets/{created['id']}", json=more, headers=aan)
    assert patched.status_code == 200, patched.text
    assert_same_shape(patched.json(), _tutorial("tutorial-payloads-2021/advanced2-response.json"))
    assert [m["measureId"] for m in patched.json()["data"]["measurementSet"]["measurements"]] == [
        "IA_EPA_4",
        "IA_EPA_3",
    ]


def test_the_file_upload_clients_flow_works(world: World, aan: dict[str, str]) -> None:
    """CMS's qpp-file-upload-api-client: validate, look the submission up by the TIN header,
    then POST new sets and PUT existing ones (§2.5)."""
    client = _client(world)
    upload = {
        "entityType": "group",
        "taxpayerIdentificationNumber": MIAMI_MEDICAL,
        "performanceYear": 2022,
        "measurementSets": [
            {k: v for k, v in _ia_set(2022, "IA_EPA_1").items() if k != "submission"},
        ],
    }
    validated = client.post(f"{BASE}/public/validate-submission", json=upload, headers=aan)
    assert validated.status_code == 200, validated.text
    submission = validated.json()["data"]["submission"]
    query = {"entityType": "group", "performanceYear": 2022}
    found = client.get(
        f"{BASE}/submissions", params=query, headers={**aan, TIN_HEADER: MIAMI_MEDICAL}
    )
    assert found.json()["data"]["totalItems"] == 0
    entity = {
        k: submission[k] for k in ("entityType", "taxpayerIdentificationNumber", "performanceYear")
    }
    first = client.post(
        f"{BASE}/measurement-sets",
        json={**submission["measurementSets"][0], "submission": {**entity, "entityId": None}},
        headers=aan,
    )
    assert first.status_code == 201, first.text
    found = client.get(
        f"{BASE}/submissions", params=query, headers={**aan, TIN_HEADER: MIAMI_MEDICAL}
    ).json()["data"]
    assert found["totalItems"] == 1
    existing = found["submissions"][0]["measurementSets"][0]
    # the client echoes read-only fields; PUT ignores them
    again = copy.deepcopy(existing)
    again["measurements"] = [{"measureId": "IA_EPA_2", "value": True}]
    put = client.put(f"{BASE}/measurement-sets/{existing['id']}", json=again, headers=aan)
    assert put.status_code == 200, put.text
    assert [m["measureId"] for m in put.json()["data"]["measurementSet"]["measurements"]] == [
        "IA_EPA_2"
    ]


# ---------------------------------------------------------------- writes


def test_post_finds_or_creates_the_submission(world: World, aan: dict[str, str]) -> None:
    client = _client(world)
    ia = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan)
    assert ia.status_code == 201, ia.text
    submission_id = ia.json()["data"]["measurementSet"]["submissionId"]
    quality = {
        "category": "quality",
        "submissionMethod": "registry",
        "performanceStart": "2022-01-01",
        "performanceEnd": "2022-12-31",
        "submissionId": submission_id,
        "measurements": [_quality("047", 120, 36)],
    }
    by_id = client.post(f"{BASE}/measurement-sets", json=quality, headers=aan)
    assert by_id.status_code == 201, by_id.text
    assert by_id.json()["data"]["measurementSet"]["submissionId"] == submission_id
    one = client.get(f"{BASE}/submissions/{submission_id}", headers=aan).json()["data"]
    assert [s["category"] for s in one["submission"]["measurementSets"]] == ["ia", "quality"]
    neither = client.post(
        f"{BASE}/measurement-sets",
        json={k: v for k, v in quality.items() if k != "submissionId"},
        headers=aan,
    )
    assert neither.status_code == 422
    assert neither.json()["error"]["details"][0]["path"] == "$.submission"


def test_put_replaces_the_whole_set_and_its_key_cannot_change(
    world: World, aan: dict[str, str]
) -> None:
    client = _client(world)
    created = client.post(
        f"{BASE}/measurement-sets", json=_ia_set(2022, "IA_EPA_1", "IA_EPA_2"), headers=aan
    ).json()["data"]["measurementSet"]
    body = {
        "performanceStart": "2022-01-01",
        "performanceEnd": "2022-12-31",
        "measurements": [{"measureId": "IA_EPA_3", "value": True}],
    }
    put = client.put(f"{BASE}/measurement-sets/{created['id']}", json=body, headers=aan)
    assert put.status_code == 200, put.text
    replaced = put.json()["data"]["measurementSet"]
    assert [m["measureId"] for m in replaced["measurements"]] == ["IA_EPA_3"]
    assert replaced["id"] == created["id"]
    moved = client.put(
        f"{BASE}/measurement-sets/{created['id']}", json={**body, "category": "pi"}, headers=aan
    )
    assert moved.status_code == 422
    assert moved.json()["error"]["details"][0]["path"] == "$.category"


def test_patch_merges_measurements_by_measure_id(world: World, aan: dict[str, str]) -> None:
    client = _client(world)
    body = _tutorial("tutorial-payloads/basic1-request.json")
    created = client.post(f"{BASE}/measurement-sets", json=body, headers=aan).json()["data"]
    set_id = created["measurementSet"]["id"]
    client.patch(
        f"{BASE}/measurement-sets/{set_id}",
        json={"measurements": [_quality("001", 36, 120)]},
        headers=aan,
    )
    changed = client.patch(
        f"{BASE}/measurement-sets/{set_id}",
        json={"measurements": [_quality("047", 150, 6)]},
        headers=aan,
    )
    assert changed.status_code == 200, changed.text
    values = {
        m["measureId"]: m["value"]["performanceMet"]
        for m in changed.json()["data"]["measurementSet"]["measurements"]
    }
    assert values == {"047": 150, "001": 36}
    bad = client.patch(
        f"{BASE}/measurement-sets/{set_id}",
        json={
            "measurements": [
                {
                    "measureId": "047",
                    "value": {
                        "isEndToEndReported": False,
                        "performanceMet": 5,
                        "eligiblePopulation": 2,
                    },
                }
            ]
        },
        headers=aan,
    )
    assert bad.status_code == 422
    paths = [d["path"] for d in bad.json()["error"]["details"]]
    assert all(p.startswith("$.measurements[0]") for p in paths), paths


def test_measurement_endpoints_change_their_set(
    world: World, aan: dict[str, str], other: dict[str, str]
) -> None:
    client = _client(world)
    ia_set = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan).json()["data"][
        "measurementSet"
    ]
    added = client.post(
        f"{BASE}/measurements",
        json={"measurementSetId": ia_set["id"], "measureId": "IA_EPA_2", "value": True},
        headers=aan,
    )
    assert added.status_code == 201, added.text
    measurement = added.json()["data"]["measurement"]
    again = client.post(
        f"{BASE}/measurements",
        json={"measurementSetId": ia_set["id"], "measureId": "IA_EPA_2", "value": True},
        headers=aan,
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"]["measurementId"] == measurement["id"]
    listed = client.get(
        f"{BASE}/measurements", params={"measurementSetId": ia_set["id"]}, headers=aan
    )
    assert [m["measureId"] for m in listed.json()["data"]["measurements"]] == [
        "IA_EPA_1",
        "IA_EPA_2",
    ]
    put = client.put(f"{BASE}/measurements/{measurement['id']}", json={"value": False}, headers=aan)
    assert put.status_code == 200, put.text
    assert put.json()["data"]["measurement"]["value"] is False
    wrong = client.put(
        f"{BASE}/measurements/{measurement['id']}", json={"value": {"numerator": "x"}}, headers=aan
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["path"].startswith("$.value")
    assert client.get(f"{BASE}/measurements/{measurement['id']}", headers=other).status_code == 404
    assert (
        client.delete(f"{BASE}/measurements/{measurement['id']}", headers=other).status_code == 404
    )
    deleted = client.delete(f"{BASE}/measurements/{measurement['id']}", headers=aan)
    assert deleted.status_code == 204
    remaining = client.get(f"{BASE}/measurement-sets/{ia_set['id']}", headers=aan).json()
    assert [m["measureId"] for m in remaining["data"]["measurementSet"]["measurements"]] == [
        "IA_EPA_1"
    ]


def test_delete_removes_only_the_callers_own_set(
    world: World, aan: dict[str, str], other: dict[str, str], miami: dict[str, str]
) -> None:
    client = _client(world)
    created = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan).json()["data"]
    set_id = created["measurementSet"]["id"]
    before = _counts(world)
    for stranger in (other, miami):
        refused = client.delete(f"{BASE}/measurement-sets/{set_id}", headers=stranger)
        assert refused.status_code == 404
        assert refused.json()["error"]["type"] == "NotFound"
    assert _counts(world) == before
    assert client.delete(f"{BASE}/measurement-sets/{set_id}", headers=aan).status_code == 204
    assert client.get(f"{BASE}/measurement-sets/{set_id}", headers=aan).status_code == 404
    assert client.delete(f"{BASE}/measurement-sets/{set_id}", headers=aan).status_code == 404


def test_registries_get_401_on_post_submissions_and_duplicates_are_refused(
    world: World, aan: dict[str, str], miami: dict[str, str]
) -> None:
    client = _client(world)
    whole = {
        "entityType": "group",
        "taxpayerIdentificationNumber": MIAMI_MEDICAL,
        "performanceYear": 2022,
        "measurementSets": [{k: v for k, v in _ia_set().items() if k != "submission"}],
    }
    refused = client.post(f"{BASE}/submissions", json=whole, headers=aan)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "Unauthorized"
    assert refused.json()["error"]["message"].startswith("Current user cannot create this object")
    created = client.post(f"{BASE}/submissions", json=whole, headers=miami)
    assert created.status_code == 201, created.text
    submission = created.json()["data"]["submission"]
    assert submission["taxpayerIdentificationNumber"] == MIAMI_MEDICAL
    assert submission["measurementSets"][0]["submitterType"] == "practice"
    duplicate = client.post(f"{BASE}/submissions", json=whole, headers=miami)
    assert duplicate.status_code == 409
    error = duplicate.json()["error"]
    assert error["type"] == "DuplicateEntryError"
    assert error["details"] == {"submissionId": submission["id"]}


def test_a_registry_sees_only_its_own_sets_and_the_practice_sees_all(
    world: World, aan: dict[str, str], other: dict[str, str], miami: dict[str, str]
) -> None:
    client = _client(world)
    by_registry = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan)
    practice_set = {
        **_ia_set(2022, "IA_EPA_2"),
        "category": "quality",
        "measurements": [_quality("047", 120, 36)],
    }
    by_practice = client.post(f"{BASE}/measurement-sets", json=practice_set, headers=miami)
    assert by_practice.status_code == 201, by_practice.text
    registry_set = by_registry.json()["data"]["measurementSet"]
    practice_id = by_practice.json()["data"]["measurementSet"]["id"]
    tin = {TIN_HEADER: MIAMI_MEDICAL}

    seen = client.get(f"{BASE}/submissions", headers={**aan, **tin}).json()["data"]
    assert seen["totalItems"] == 1
    assert [s["id"] for s in seen["submissions"][0]["measurementSets"]] == [registry_set["id"]]
    everything = client.get(f"{BASE}/submissions", headers=miami).json()["data"]
    sets = everything["submissions"][0]["measurementSets"]
    assert {s["submitterId"] for s in sets} == {"AAN-QCDR", MIAMI_MEDICAL}
    own = client.get(f"{BASE}/measurement-sets", headers=aan).json()["data"]
    assert [s["id"] for s in own["measurementSets"]] == [registry_set["id"]]
    assert client.get(f"{BASE}/measurement-sets/{practice_id}", headers=aan).status_code == 404
    assert client.get(f"{BASE}/measurement-sets/{practice_id}", headers=miami).status_code == 200
    assert (
        client.get(f"{BASE}/submissions", headers={**other, **tin}).json()["data"]["totalItems"]
        == 0
    )
    submission_id = registry_set["submissionId"]
    assert client.get(f"{BASE}/submissions/{submission_id}", headers=other).status_code == 404
    # authorised for the TIN but no data in the submission: it comes with no sets
    client.delete(f"{BASE}/measurement-sets/{registry_set['id']}", headers=aan)
    empty = client.get(f"{BASE}/submissions", headers={**aan, **tin}).json()["data"]
    assert empty["submissions"][0]["measurementSets"] == []
    query = client.get(
        f"{BASE}/submissions",
        params={"taxpayerIdentificationNumber": MIAMI_MEDICAL, "performanceYear": 2019},
        headers=aan,
    )
    assert query.json()["data"]["totalItems"] == 0


# ---------------------------------------------------------------- refusals


def test_invalid_data_is_answered_422_with_a_path_per_finding_and_nothing_stored(
    world: World, aan: dict[str, str]
) -> None:
    client = _client(world)
    before = _counts(world)
    body = _ia_set(2022, "IA_NOPE_1", "IA_EPA_1", "IA_NOPE_2")
    body["performanceEnd"] = "2021-12-31"
    refused = client.post(f"{BASE}/measurement-sets", json=body, headers=aan)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["type"] == "ValidationError"
    by_path = {d["path"]: d["code"] for d in error["details"]}
    assert by_path["$.measurements[0].measureId"] == "OQ-SUB-051"
    assert by_path["$.measurements[2].measureId"] == "OQ-SUB-051"
    assert any(p.startswith("$.performance") for p in by_path)
    for item in error["details"]:
        assert item["location"]["path"] == item["path"]
        assert all(item[key] for key in ("message", "fix", "code"))
    shape = client.post(
        f"{BASE}/measurement-sets",
        json={**_ia_set(), "submission": {"entityType": "group", "performanceYear": "2022"}},
        headers=aan,
    )
    assert shape.status_code == 422
    assert shape.json()["error"]["details"][0]["path"] == "$.submission.performanceYear"
    not_json = client.post(
        f"{BASE}/measurement-sets",
        content=b'{"category": ',
        headers={**aan, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    assert not_json.json()["error"]["details"][0]["code"] == "OQ-JSON-003"
    assert _counts(world) == before


def test_an_opt_in_eligible_clinician_without_an_election_gets_no_data_stored(
    world: World, aan: dict[str, str]
) -> None:
    """Debara Jones is opt-in eligible as an individual in 2019 and has not elected."""
    client = _client(world, clock=CLOCK_2019)
    before = _counts(world)
    body = _ia_set(2019, "IA_EPA_1")
    body["submission"]["nationalProviderIdentifier"] = DEBARA
    body["submission"]["entityType"] = "individual"
    refused = client.post(f"{BASE}/measurement-sets", json=body, headers=aan)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "OQ-SUB-101"
    assert "election" in error["message"].lower()
    assert error["details"][0]["path"] == "$.submission"
    assert _counts(world) == before


def test_greenville_podiatrys_group_data_waits_for_its_election(world: World) -> None:
    """Greenville Podiatry (TIN 454599323) is opt-in eligible as a group in 2022."""
    client = _client(world)
    token = world.bearer("lee.wong", OrganisationType.PRACTICE, GREENVILLE_PODIATRY)
    before = _counts(world)
    whole = {
        "entityType": "group",
        "taxpayerIdentificationNumber": GREENVILLE_PODIATRY,
        "performanceYear": 2022,
        "measurementSets": [{k: v for k, v in _ia_set().items() if k != "submission"}],
    }
    refused = client.post(f"{BASE}/submissions", json=whole, headers=token)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "OQ-SUB-101"
    assert _counts(world) == before


def test_a_body_over_the_limit_is_refused_with_413(world: World, aan: dict[str, str]) -> None:
    client = _client(world, max_request_bytes=2048)
    before = _counts(world)
    body = _ia_set(2022, *[f"IA_EPA_{i}" for i in range(1, 200)])
    declared = client.post(f"{BASE}/measurement-sets", json=body, headers=aan)
    assert declared.status_code == 413
    assert declared.json()["error"]["type"] == "PayloadTooLarge"
    assert "2,048" in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:
        yield json.dumps(body).encode()

    streamed = client.post(
        f"{BASE}/public/validate-submission",
        content=chunks(),
        headers={**aan, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert _counts(world) == before


def test_too_many_requests_get_429_with_retry_after(
    world: World, aan: dict[str, str], miami: dict[str, str]
) -> None:
    client = _client(world, rate_limit_per_second=0.01, rate_limit_burst=2)
    assert [client.get(f"{BASE}/submissions", headers=aan).status_code for _ in range(2)] == [
        200,
        200,
    ]
    limited = client.get(f"{BASE}/submissions", headers=aan)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["type"] == "TooManyRequests"
    assert client.get(f"{BASE}/submissions", headers=miami).status_code == 200


# ---------------------------------------------------------------- validation (dry run)


def test_validate_submission_answers_the_normalised_json_or_the_findings(
    world: World, aan: dict[str, str]
) -> None:
    client = _client(world)
    before = _counts(world)
    whole = {
        "programName": "mips",
        "entityType": "group",
        "taxpayerIdentificationNumber": MIAMI_MEDICAL,
        "performanceYear": 2022,
        "measurementSets": [
            {
                **{k: v for k, v in _ia_set().items() if k != "submission"},
                "measurements": [{"measureId": "IA_EPA_1", "value": True}],
            }
        ],
    }
    ok = client.post(f"{BASE}/public/validate-submission", json=whole)
    assert ok.status_code == 200, ok.text
    normalised = ok.json()["data"]["submission"]
    assert "programName" not in normalised
    assert normalised["measurementSets"][0]["measurements"] == [
        {"measureId": "IA_EPA_1", "value": True}
    ]
    legacy = client.post(f"{BASE}/submissions/validate", json=whole, headers=aan)
    assert legacy.status_code == 200
    assert legacy.json() == ok.json()
    whole["measurementSets"][0]["measurements"][0]["measureId"] = "IA_EPA_10"
    bad = client.post(f"{BASE}/public/validate-submission", json=whole)
    assert bad.status_code == 422
    (detail,) = bad.json()["error"]["details"]
    assert (
        detail["path"]
        == detail["location"]["path"]
        == "$.measurementSets[0].measurements[0].measureId"
    )
    assert _counts(world) == before


def test_validate_submission_converts_a_qrda_iii_file(world: World) -> None:
    """A 2025 CMS sample (APM entity, MVP G0053) converts and validates with the 2025 measures
    data; a file whose IA section has no activity is answered with its XPath."""
    if not (SHARED_MEASURES / "measures" / "2025").is_dir() or not QRDA3.is_dir():
        missing("shared/data/qpp-measures-data (PY2025) and shared/reference/qrda3")
    client = _client(world, measures_data=str(SHARED_MEASURES))
    xml = {"Content-Type": "application/xml"}
    sample = (QRDA3 / "Mvp_Mips-APM-Sample.xml").read_bytes()
    ok = client.post(f"{BASE}/public/validate-submission", content=sample, headers=xml)
    assert ok.status_code == 200, ok.text
    submission = ok.json()["data"]["submission"]
    expected = json.loads((QRDA3 / "Mvp_Mips-APM-Sample.expected.qpp.json").read_text())
    assert (submission["entityType"], submission["performanceYear"]) == ("apm", 2025)
    assert (
        submission["measurementSets"][0]["programName"]
        == expected["measurementSets"][0]["programName"]
    )
    broken = (QRDA3 / "iaSectionMissingMeasures.xml").read_bytes()
    refused = client.post(f"{BASE}/public/validate-submission", content=broken, headers=xml)
    assert refused.status_code == 422
    detail = refused.json()["error"]["details"][0]
    assert detail["code"] == "CT043"
    assert detail["location"]["xpath"].startswith("/*[local-name() = 'ClinicalDocument'")


# ---------------------------------------------------------------- receipts, idempotency


def test_receipts_list_every_version_and_download_as_a_file(
    world: World, aan: dict[str, str], miami: dict[str, str]
) -> None:
    client = _client(world)
    created = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan).json()["data"]
    set_id = created["measurementSet"]["id"]
    submission_id = created["measurementSet"]["submissionId"]
    client.patch(
        f"{BASE}/measurement-sets/{set_id}",
        json={"measurements": [{"measureId": "IA_EPA_2", "value": True}]},
        headers=aan,
    )
    client.post(
        f"{BASE}/measurement-sets",
        json={
            **_ia_set(2022, "IA_EPA_3"),
            "category": "quality",
            "measurements": [_quality("047", 1, 1)],
        },
        headers=miami,
    )
    mine = client.get(f"{BASE}/submissions/{submission_id}/receipts", headers=aan).json()["data"]
    assert [(r["version"], r["operation"]) for r in mine["receipts"]] == [
        (1, "create"),
        (2, "merge"),
    ]
    everyone = client.get(f"{BASE}/submissions/{submission_id}/receipts", headers=miami).json()
    assert everyone["data"]["totalItems"] == 3
    receipt = mine["receipts"][1]
    download = client.get(
        f"{BASE}/submissions/{submission_id}/receipts/{receipt['receiptId']}", headers=aan
    )
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        f'attachment; filename="receipt-{submission_id}-v2.json"'
    )
    document = download.json()
    assert document["received"]["measurementSets"][0]["measurements"][0]["measureId"] == "IA_EPA_2"
    assert "submission" not in document  # the practice's whole submission is not the registry's
    third = everyone["data"]["receipts"][2]["receiptId"]
    assert (
        client.get(f"{BASE}/submissions/{submission_id}/receipts/{third}", headers=aan).status_code
        == 404
    )
    whole = client.get(f"{BASE}/submissions/{submission_id}/receipts/{third}", headers=miami).json()
    assert len(whole["submission"]["measurementSets"]) == 2


def test_an_idempotency_key_makes_a_retried_post_safe(world: World, aan: dict[str, str]) -> None:
    client = _client(world)
    headers = {**aan, "Idempotency-Key": "6f1c8a52-0b1e-4f7e-9a77-1f0e2a3b4c5d"}
    first = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=headers)
    assert first.status_code == 201
    counts = _counts(world)
    again = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert _counts(world) == counts
    other_body = client.post(
        f"{BASE}/measurement-sets", json=_ia_set(2022, "IA_EPA_2"), headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "OQ-ELECT-010"


# ---------------------------------------------------------------- OpenAPI, fuzzing


def test_every_route_is_documented(world: World) -> None:
    document = _client(world).get("/api/openapi.json").json()
    routes = {
        path: {m: op for m, op in operations.items() if "submissions" in op.get("tags", ())}
        for path, operations in document["paths"].items()
        if path.startswith(BASE)
    }
    assert f"{BASE}/public/validate-submission" in routes
    assert sum(len(operations) for operations in routes.values()) == 19
    for path, operations in routes.items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path}"
            statuses = set(operation["responses"])
            assert statuses & {"200", "201", "204"}, f"{method} {path}"
            if method in ("post", "put", "patch"):
                assert {"401", "422"} <= statuses, f"{method} {path}"
                assert "requestBody" in operation, f"{method} {path}"


json_leaves = (
    st.none() | st.booleans() | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(["2022-01-01", "registry", "ia", "IA_EPA_1", "group"])
)  # fmt: skip
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
VALID_SET = _ia_set()
FIELDS = [
    ("category",), ("submissionMethod",), ("performanceStart",), ("performanceEnd",),
    ("programName",), ("cehrtId",), ("measurements",), ("submission",),
    ("submission", "performanceYear"), ("submission", "entityType"),
    ("submission", "taxpayerIdentificationNumber"), ("measurements", 0),
    ("measurements", 0, "value"), ("measurements", 0, "measureId"),
]  # fmt: skip


@st.composite
def fuzzed_sets(draw: st.DrawFn) -> Any:
    """Random JSON, or a valid measurement set with one field replaced by random JSON."""
    if draw(st.booleans()):
        return draw(json_values)
    body = copy.deepcopy(VALID_SET)
    path = draw(st.sampled_from(FIELDS))
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = draw(json_values)
    return body


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    body=fuzzed_sets(),
    target=st.sampled_from(
        [
            "post-set",
            "put-set",
            "patch-set",
            "post-measurement",
            "patch-measurement",
            "post-submission",
            "validate",
        ]
    ),
)
def test_fuzzed_bodies_never_give_a_server_error_nor_a_partial_write(
    world: World, aan: dict[str, str], body: Any, target: str
) -> None:
    client = _fuzz_client(world)
    ids = _fuzz_targets(world, client, aan)
    routes = {
        "post-set": ("POST", f"{BASE}/measurement-sets"),
        "put-set": ("PUT", f"{BASE}/measurement-sets/{ids['set']}"),
        "patch-set": ("PATCH", f"{BASE}/measurement-sets/{ids['set']}"),
        "post-measurement": ("POST", f"{BASE}/measurements"),
        "patch-measurement": ("PATCH", f"{BASE}/measurements/{ids['measurement']}"),
        "post-submission": ("POST", f"{BASE}/submissions"),
        "validate": ("POST", f"{BASE}/public/validate-submission"),
    }
    method, url = routes[target]
    if target == "post-measurement" and isinstance(body, dict):
        body = {**body, "measurementSetId": ids["set"]}
    before = _counts(world)
    response = client.request(method, url, json=body, headers=aan)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code >= 400:
        assert response.json()["error"]["type"]
        assert _counts(world) == before


_FUZZ_STATE: dict[str, Any] = {}


def _fuzz_client(world: World) -> TestClient:
    if _FUZZ_STATE.get("url") != world.url:
        _FUZZ_STATE.clear()
        _FUZZ_STATE["url"] = world.url
        _FUZZ_STATE["client"] = _client(world)
    client: TestClient = _FUZZ_STATE["client"]
    return client


def _fuzz_targets(world: World, client: TestClient, aan: dict[str, str]) -> dict[str, str]:
    """One quality set of the registry's to PUT and PATCH (made again if a fuzzed PUT emptied
    it of measurements)."""
    found = client.get(f"{BASE}/measurement-sets", params={"category": "quality"}, headers=aan)
    sets = found.json()["data"]["measurementSets"]
    if not sets or not sets[0]["measurements"]:
        for old in sets:
            client.delete(f"{BASE}/measurement-sets/{old['id']}", headers=aan)
        created = client.post(
            f"{BASE}/measurement-sets",
            json={**_ia_set(), "category": "quality", "measurements": [_quality("047", 120, 36)]},
            headers=aan,
        )
        assert created.status_code == 201, created.text
        sets = [created.json()["data"]["measurementSet"]]
    return {"set": sets[0]["id"], "measurement": sets[0]["measurements"][0]["id"]}


def test_responses_match_the_openapi_document(
    world: World, aan: dict[str, str], other: dict[str, str]
) -> None:
    """Each answer validates against the schema the OpenAPI document declares for its status."""
    from jsonschema import Draft202012Validator

    client = _client(world)
    document = client.get("/api/openapi.json").json()

    def check(method: str, template: str, response: Any) -> None:
        operation = document["paths"][template][method]
        declared = operation["responses"][str(response.status_code)]
        if response.status_code == 204:
            return
        schema = declared["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        problems = [e.message for e in validator.iter_errors(response.json())]
        assert not problems, (method, template, response.status_code, problems)

    created = client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan)
    check("post", f"{BASE}/measurement-sets", created)
    the_set = created.json()["data"]["measurementSet"]
    set_path = f"{BASE}/measurement-sets/{{set_id}}"
    check("get", set_path, client.get(f"{BASE}/measurement-sets/{the_set['id']}", headers=aan))
    check("get", set_path, client.get(f"{BASE}/measurement-sets/{the_set['id']}", headers=other))
    check(
        "patch",
        set_path,
        client.patch(
            f"{BASE}/measurement-sets/{the_set['id']}",
            json={"measurements": [{"measureId": "IA_EPA_2", "value": True}]},
            headers=aan,
        ),
    )
    check(
        "put",
        set_path,
        client.put(
            f"{BASE}/measurement-sets/{the_set['id']}", json={"category": "pi"}, headers=aan
        ),
    )
    check(
        "post",
        f"{BASE}/measurement-sets",
        client.post(f"{BASE}/measurement-sets", json=_ia_set(), headers=aan),
    )
    check("get", f"{BASE}/measurement-sets", client.get(f"{BASE}/measurement-sets", headers=aan))
    check("get", f"{BASE}/submissions", client.get(f"{BASE}/submissions", headers=aan))
    check("get", f"{BASE}/submissions", client.get(f"{BASE}/submissions"))
    sub_path = f"{BASE}/submissions/{{submission_id}}"
    check("get", sub_path, client.get(f"{BASE}/submissions/{the_set['submissionId']}", headers=aan))
    check("post", f"{BASE}/submissions", client.post(f"{BASE}/submissions", json={}, headers=aan))
    check("get", f"{BASE}/measurements", client.get(f"{BASE}/measurements", headers=aan))
    measurement = the_set["measurements"][0]
    m_path = f"{BASE}/measurements/{{measurement_id}}"
    check("get", m_path, client.get(f"{BASE}/measurements/{measurement['id']}", headers=aan))
    check(
        "patch",
        m_path,
        client.patch(
            f"{BASE}/measurements/{measurement['id']}", json={"value": False}, headers=aan
        ),
    )
    receipts = f"{BASE}/submissions/{{submission_id}}/receipts"
    check(
        "get",
        receipts,
        client.get(f"{BASE}/submissions/{the_set['submissionId']}/receipts", headers=aan),
    )
    validate = f"{BASE}/public/validate-submission"
    check("post", validate, client.post(validate, json={"entityType": "group"}))
    limited = _client(world, rate_limit_per_second=0.01, rate_limit_burst=1)
    limited.get(f"{BASE}/measurements", headers=aan)
    check("get", f"{BASE}/measurements", limited.get(f"{BASE}/measurements", headers=aan))
