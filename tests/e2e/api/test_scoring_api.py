"""The Submissions API's scoring calls over HTTP: ``POST /submissions/score-preview`` answering
CMS's documented score shape for CMS's example input (and 422 with details for the input as
published, which the 2019 rules refuse), nothing stored by a preview; ``GET
/submissions/{id}/score`` for the practice (every submitter's data) and for a registry (its own
sets only), refusals in the JSON envelope, and no clash with ``GET /submissions/{id}``
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.support.access_http import sign_in
from tests.support.elections_world import PASSWORD, World
from tests.support.practice_reporting import group_qrda3
from tests.support.scoring_world import (
    DOCS,
    accept,
    document,
    example_as_2019,
    example_input,
    pi_set_2019,
)

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.db.models import AuditRecord, MeasurementSetRow, SubmissionReceipt, SubmissionRow
from openqpp.settings import Settings
from openqpp.web import create_app

BASE = "/api/submissions/submissions"
CLOCK_2019 = "2020-02-03T10:00:00-05:00"
ROWS = (SubmissionRow, MeasurementSetRow, SubmissionReceipt, AuditRecord)


def _client(world: World) -> TestClient:
    return TestClient(
        create_app(
            Settings(
                database_url=world.url,
                log_level="warning",
                clock=CLOCK_2019,
                rate_limit_per_second=1000.0,
                rate_limit_burst=1000,
            )
        )
    )


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with _client(world) as made:
        yield made


@pytest.fixture
def miami(world: World) -> dict[str, str]:
    return world.bearer("maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL)


@pytest.fixture
def aan(world: World) -> dict[str, str]:
    return world.bearer("alex.chen", OrganisationType.REGISTRY, "AAN-QCDR")


@pytest.fixture
def other(world: World) -> dict[str, str]:
    return world.bearer("olga.other", OrganisationType.REGISTRY, "OTHER-QR")


def _counts(world: World) -> tuple[int, ...]:
    with world.factory() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(m)) or 0) for m in ROWS)


def _cms_output(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DOCS / name).read_text(encoding="utf-8"))
    return data


def _part(score: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in score["parts"] if p["name"] == name)
    return found


# ---------------------------------------------------------------- score-preview


def test_score_preview_answers_cms_documented_shape_for_the_example_input(
    world: World, client: TestClient, miami: dict[str, str]
) -> None:
    """CMS's example input (its quality and IA sets in 2019 vocabulary), wrapped as CMS writes
    it: ``{"data": {"submission": ...}}``."""
    body = {"data": {"submission": example_as_2019(MIAMI_MEDICAL)}}
    before = _counts(world)
    response = client.post(f"{BASE}/score-preview", json=body, headers=miami)
    assert response.status_code == 200, response.text
    assert _counts(world) == before  # nothing stored, not even an audit record
    score = response.json()["data"]["score"]
    documented = _cms_output("scoring-example-output-quality.json")
    for key in ("name", "title", "detail", "value", "parts", "metadata", "warnings", "errors"):
        assert key in score, key
    assert score["name"] == "total"
    assert score["title"] == "Total Score"
    assert score["errors"] == []
    assert score["warnings"][0].startswith("Disclaimer:")
    quality = _part(score, "quality")
    cms_quality = _part(documented, "quality")
    assert set(cms_quality) <= set(quality)
    assert quality["title"] == cms_quality["title"] == "QUALITY component of total score"
    assert quality["detail"] == "Scoring based on weight of 60%."
    assert quality["metadata"]["maxContribution"] == 60
    original = quality["original"]
    assert original["value"] == 60
    assert quality["value"] == pytest.approx(original["value"] / original["maximum"] * 60)
    ia = _part(score, "ia")
    assert ia["detail"] == "Scoring based on weight of 15%."
    assert ia["value"] == 15
    assert ia["original"]["value"] == 40
    assert {p["name"] for p in ia["original"]["parts"]} == {
        "IA_AHE_1",
        "IA_AHE_2",
        "IA_AHE_3",
        "IA_AHE_4",
    }
    # openqpp's explanation beside CMS's fields, on every part
    for part in (quality, original, *original["parts"]):
        for key in ("rule", "explanation", "maximum", "inputs", "unverified"):
            assert key in part, (part["name"], key)
    measure = original["parts"][0]["parts"][0]
    assert measure["metadata"]["measureId"] == measure["name"]
    assert score["value"] == pytest.approx(
        sum(p["value"] for p in score["parts"] if p["name"] != "bonuses")
        + _part(score, "bonuses")["value"]
    )
    metadata = score["metadata"]
    assert metadata["maxTotalScore"] == 100
    assert metadata["maxContributionQuality"] == 60
    assert metadata["policyYear"] == 2019
    assert "qpp-measures-data" in metadata["measuresData"]
    assert metadata["preview"] is True
    assert metadata["paymentAdjustment"]["estimate"] is True
    labels = {f["label"]: f["value"] for f in metadata["entityFacts"]}
    assert labels["Special statuses"] == "Small practice"  # Miami Medical's facts were used


def test_score_preview_of_the_example_as_published_is_422_with_details(
    client: TestClient, miami: dict[str, str]
) -> None:
    """As published the input is PY2017 with an ``aci`` set: openqpp validates as an upload
    (no PY2017 rules, ``aci`` is not a category) and answers every finding."""
    response = client.post(f"{BASE}/score-preview", json=example_input(), headers=miami)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["code"] == "OQ-SCORE-001"
    paths = [d["path"] for d in error["details"]]
    assert "$.measurementSets[2].category" in paths
    for detail in error["details"]:
        assert detail["location"]["path"] == detail["path"]
        assert detail["message"]


def test_score_preview_without_access_to_the_entity_uses_the_default_context(
    client: TestClient, other: dict[str, str]
) -> None:
    response = client.post(
        f"{BASE}/score-preview", json=example_as_2019(MIAMI_MEDICAL), headers=other
    )
    assert response.status_code == 200
    score = response.json()["data"]["score"]
    assert any("default context" in w for w in score["warnings"])
    assert "entityFacts" not in score["metadata"]


def test_score_preview_takes_a_qrda_iii_document_too(
    client: TestClient, miami: dict[str, str]
) -> None:
    response = client.post(
        f"{BASE}/score-preview",
        content=group_qrda3(MIAMI_MEDICAL),
        headers={**miami, "Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    score = response.json()["data"]["score"]
    assert {p["name"] for p in _part(score, "ia")["original"]["parts"]} == {"IA_EPA_1"}
    assert _part(score, "pi")["original"]["rule"].startswith("pi.")


def test_score_preview_needs_a_token_and_refuses_bad_input(
    client: TestClient, miami: dict[str, str]
) -> None:
    assert client.post(f"{BASE}/score-preview", json={}).status_code == 401
    broken = client.post(f"{BASE}/score-preview", content=b"{not json", headers=miami)
    assert broken.status_code == 422
    assert broken.json()["error"]["details"]
    factor = client.post(
        f"{BASE}/score-preview?scalingFactor=-2", json=example_as_2019(), headers=miami
    )
    assert factor.status_code == 422
    assert factor.json()["error"]["code"] == "OQ-SCORE-004"
    scaled = client.post(
        f"{BASE}/score-preview?scalingFactor=2", json=example_as_2019(), headers=miami
    )
    assert scaled.json()["data"]["score"]["metadata"]["paymentAdjustment"]["scalingFactor"] == 2


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_score_preview_refuses_a_body_over_the_limit_as_it_arrives(
    world: World, miami: dict[str, str], declared: bool
) -> None:
    """4 KiB limit: 64 KiB of JSON, its length declared or streamed in 1 KiB chunks, is 413
    OQ-REQ-413 (the same reader, web/limits.read_body, as the other JSON APIs)."""
    app = create_app(
        Settings(database_url=world.url, log_level="warning", clock=CLOCK_2019,
                 max_request_bytes=4096)
    )  # fmt: skip
    body = b'{"pad": "' + b"x" * (64 << 10) + b'"}'
    chunks = (body[i : i + 1024] for i in range(0, len(body), 1024))
    response = TestClient(app).post(
        f"{BASE}/score-preview",
        content=body if declared else chunks,
        headers={**miami, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "OQ-REQ-413"


def test_a_session_posting_a_preview_sends_the_csrf_header(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "maria.garcia", PASSWORD)
    body = example_as_2019(MIAMI_MEDICAL)
    assert client.post(f"{BASE}/score-preview", json=body).status_code == 403
    done = client.post(f"{BASE}/score-preview", json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200


# ---------------------------------------------------------------- a stored submission


def _stored(world: World) -> str:
    accept(world, "maria.garcia", example_as_2019(MIAMI_MEDICAL))
    return accept(world, "jordan.rivera", document(MIAMI_MEDICAL, pi_set_2019())).submission_id


def test_the_practice_gets_the_score_of_the_whole_submission(
    world: World, client: TestClient, miami: dict[str, str]
) -> None:
    submission_id = _stored(world)
    response = client.get(f"{BASE}/{submission_id}/score", headers=miami)
    assert response.status_code == 200, response.text
    score = response.json()["data"]["score"]
    assert score["metadata"]["submissionId"] == submission_id
    assert score["metadata"]["scope"] == "all"
    assert _part(score, "pi")["original"]["value"] == 56
    assert _part(score, "quality")["original"]["value"] == 60
    assert _part(score, "pi")["detail"] == "Scoring based on weight of 25%."
    with_program = client.get(f"{BASE}/{submission_id}/score?program=mips", headers=miami)
    assert with_program.status_code == 200
    assert with_program.json()["data"]["score"]["value"] == score["value"]


def test_a_registry_gets_the_score_of_its_own_sets_only(
    world: World, client: TestClient, aan: dict[str, str], miami: dict[str, str]
) -> None:
    submission_id = _stored(world)
    mine = client.get(f"{BASE}/{submission_id}/score", headers=aan).json()["data"]["score"]
    whole = client.get(f"{BASE}/{submission_id}/score", headers=miami).json()["data"]["score"]
    assert mine["metadata"]["scope"] == "own_submissions"
    assert "data your organisation submitted" in mine["metadata"]["scopeNote"]
    assert _part(mine, "pi")["original"]["value"] == 56
    assert _part(mine, "quality")["original"]["value"] == 0
    assert mine["value"] < whole["value"]


def test_refusals_are_json_404_422_and_401(
    world: World, client: TestClient, other: dict[str, str], miami: dict[str, str]
) -> None:
    submission_id = _stored(world)
    stranger = client.get(f"{BASE}/{submission_id}/score", headers=other)
    missing = client.get(f"{BASE}/00000000-0000-0000-0000-000000000000/score", headers=miami)
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json()["error"]["type"] == "NotFound"
    assert stranger.json()["error"]["message"].replace(submission_id, "X") == missing.json()[
        "error"
    ]["message"].replace("00000000-0000-0000-0000-000000000000", "X")
    program = client.get(f"{BASE}/{submission_id}/score?program=app1", headers=miami)
    assert program.status_code == 422
    assert program.json()["error"]["code"] == "OQ-SCORE-003"
    assert client.get(f"{BASE}/{submission_id}/score").status_code == 401
    sign_in(client, "debara.jones", PASSWORD)
    clinician = client.get(f"{BASE}/{submission_id}/score")
    assert clinician.status_code == 404  # the Clinician role sees neither submissions nor scores
    assert clinician.json()["error"]["message"] == stranger.json()["error"]["message"]
    assert clinician.headers["content-type"].startswith("application/json")


def test_the_score_routes_do_not_shadow_the_submissions_api(
    world: World, client: TestClient, miami: dict[str, str]
) -> None:
    submission_id = _stored(world)
    one = client.get(f"{BASE}/{submission_id}", headers=miami)
    assert one.status_code == 200
    assert one.json()["data"]["submission"]["id"] == submission_id
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "post" in paths[f"{BASE}/score-preview"]
    assert "get" in paths[f"{BASE}/{{submission_id}}/score"]
    assert "get" in paths[f"{BASE}/{{submission_id}}"]
