"""Schemathesis against the published OpenAPI document (``/api/openapi.json``): every operation
in it, with valid and invalid data (schemathesis's positive and negative modes) and, where an
operation has path parameters, also aimed at real objects of the elections world (a measurement
set, its measurement, submission and receipt, a token, a role grant, the practice, clinicians),
each example sent three times: anonymously, with a practice's API token and with a registry's
API token (both made through the real access service). Every answer must be no server error,
a status the document lists for the operation, the content type it lists, and a body that
matches the listed schema; and a refusal (4xx) must store nothing (row counts of the tables
in tests/support/hostile.py `STORED` are unchanged).

In process (schemathesis's ASGI transport), on SQLite and on PostgreSQL when
OPENQPP_TEST_DATABASE_URL is set. Bounded: `EXAMPLES` examples per operation (hypothesis's
profile from tests/conftest.py: no deadline; derandomized under CI). Schemathesis's pytest
plugin (`schema.parametrize`) is not used: it does not run under pytest 9; its strategies and
checks are, through hypothesis directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from tests.support.elections_world import DEBARA, KINDS, RIVERA, Templates, World
from tests.support.hostile import REGISTRY, app_for, bearer, stored, token

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.db.models import RoleGrant, User

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BASE = "/api/submissions"


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the published document (read at collection)."""
    document = app_for("sqlite://").openapi()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    ]


@dataclass
class Api:
    world: World
    app: FastAPI
    schema: Any
    callers: dict[str, dict[str, str]]
    spare_token_id: int


@pytest.fixture(scope="module", params=KINDS)
def api(
    request: pytest.FixtureRequest,
    world_templates: Templates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    """One copy of the elections world for the module, on each database kind, with a practice's
    token (Maria Garcia at Miami Medical) and a registry's (AAN, Miami Medical's registry)."""
    for url in world_templates.clone(request.param, tmp_path_factory.mktemp("schemathesis")):
        world = World(url, request.param)
        practice = token(world, "maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL)
        registry = token(world, "alex.chen", OrganisationType.REGISTRY, REGISTRY)
        spare = token(world, "maria.garcia", OrganisationType.PRACTICE, MIAMI_MEDICAL)
        app = app_for(url)
        yield Api(
            world=world,
            app=app,
            schema=schemathesis.openapi.from_asgi("/api/openapi.json", app),
            callers={
                "anonymous": {},
                "practice": bearer(practice),
                "registry": bearer(registry),
            },
            spare_token_id=spare.info.id,
        )


def _quality_set() -> dict[str, Any]:
    return {
        "category": "quality",
        "submissionMethod": "registry",
        "performanceStart": "2022-01-01",
        "performanceEnd": "2022-12-31",
        "submission": {
            "entityType": "group",
            "taxpayerIdentificationNumber": MIAMI_MEDICAL,
            "performanceYear": 2022,
        },
        "measurements": [
            {
                "measureId": "047",
                "value": {
                    "isEndToEndReported": False,
                    "performanceMet": 120,
                    "eligiblePopulationExclusion": 0,
                    "eligiblePopulationException": 0,
                    "performanceNotMet": 36,
                    "eligiblePopulation": 156,
                },
            }
        ],
    }


@pytest.fixture
def known(api: Api) -> dict[str, str]:
    """Path parameters naming real objects: the registry's quality set for Miami Medical (made
    again when an earlier operation deleted it or emptied it), its measurement, submission and
    receipt, a spare token, a role grant, the practice and two of its clinicians."""
    client = TestClient(api.app)
    registry = api.callers["registry"]
    found = client.get(f"{BASE}/measurement-sets", params={"category": "quality"}, headers=registry)
    sets = found.json()["data"]["measurementSets"]
    if not sets or not sets[0]["measurements"]:
        for emptied in sets:
            client.delete(f"{BASE}/measurement-sets/{emptied['id']}", headers=registry)
        created = client.post(f"{BASE}/measurement-sets", json=_quality_set(), headers=registry)
        assert created.status_code == 201, created.text
        sets = [created.json()["data"]["measurementSet"]]
    the_set = sets[0]
    receipts = client.get(
        f"{BASE}/submissions/{the_set['submissionId']}/receipts", headers=registry
    ).json()["data"]["receipts"]
    with api.world.factory() as session:
        grant_id = session.scalar(
            select(RoleGrant.id)
            .join(User, User.id == RoleGrant.user_fk)
            .where(User.user_id == "sam.smith")
        )
    return {
        "set_id": the_set["id"],
        "measurement_id": the_set["measurements"][0]["id"],
        "submission_id": the_set["submissionId"],
        "receipt_id": receipts[0]["receiptId"],
        "token_id": str(api.spare_token_id),
        "grant_id": str(grant_id),
        "kind": "practice",
        "identifier": MIAMI_MEDICAL,
        "tin": MIAMI_MEDICAL,
        "npi": DEBARA,
        "npis": f"{DEBARA},{RIVERA}",
    }


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_answers_as_documented_and_refusals_store_nothing(
    method: str, path: str, api: Api, known: dict[str, str]
) -> None:
    operation = api.schema[path][method]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [p.name for p in operation.path_parameters]
    if names and all(name in known for name in names):
        real = {name: known[name] for name in names}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real))

    @settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(strategies))
    def exchange(case: Any) -> None:
        before = stored(api.world)
        for caller, headers in api.callers.items():
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                assert stored(api.world) == before, (caller, response.status_code)
            elif method != "GET":
                before = stored(api.world)

    exchange()
