"""Data for the preliminary score tests in the elections world: CMS's example submission (in
PY2019 vocabulary), a complete PI set, improvement activities, and storing them through the one
door (``store.accept``) as the practice or its registry."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from openqpp.core.submissions import Submission
from openqpp.services import audit
from openqpp.services.submissions import store
from tests.support.elections_world import NOW_2019, World
from tests.support.reference import QPP_API_REFERENCE, missing

DOCS = QPP_API_REFERENCE / "submissions-docs"
EXAMPLE_INPUT = DOCS / "scoring-example-submission-input.json"
CONTEXT = audit.RequestContext(request_id="req-scoring", client_address="127.0.0.1")
CEHRT_2015E = "0015E1234567890"
#: After the 2019 submission period (cost feedback is shown outside it).
AFTER_2019_PERIOD = dt.datetime(2020, 6, 1, 12, 0, tzinfo=dt.UTC)


def example_input() -> dict[str, Any]:
    """CMS's scoring example input as published (a PY2017 group submission)."""
    if not EXAMPLE_INPUT.is_file():
        missing(str(EXAMPLE_INPUT))
    data: dict[str, Any] = json.loads(EXAMPLE_INPUT.read_text(encoding="utf-8"))
    return data


def example_as_2019(tin: str | None = None) -> dict[str, Any]:
    """The example's quality and IA sets in PY2019 vocabulary (its PY2017 ACI set does not
    validate under the 2019 rules: no CEHRT ID, ACI_HIE_2/3 retired), for ``tin``."""
    text = json.dumps(example_input()["data"]["submission"])
    text = text.replace("2017-", "2019-").replace(
        '"performanceYear": 2017', '"performanceYear": 2019'
    )
    submission = json.loads(text)
    submission["measurementSets"] = [
        s for s in submission["measurementSets"] if s["category"] in ("quality", "ia")
    ]
    if tin:
        submission["taxpayerIdentificationNumber"] = tin
    return dict(submission)


def document(
    tin: str, *sets: dict[str, Any], npi: str | None = None, year: int = 2019
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "performanceYear": year,
        "entityType": "individual" if npi else "group",
        "taxpayerIdentificationNumber": tin,
        "measurementSets": list(sets),
    }
    if npi:
        out["nationalProviderIdentifier"] = npi
    return out


def ia_set(*activities: str, year: int = 2019) -> dict[str, Any]:
    return {
        "category": "ia",
        "submissionMethod": "registry",
        "performanceStart": f"{year}-01-01",
        "performanceEnd": f"{year}-12-31",
        "measurements": [{"measureId": a, "value": True} for a in activities],
    }


def quality_set(measures: dict[str, tuple[int, int]], *, year: int = 2019) -> dict[str, Any]:
    """A MIPS CQM (registry) quality set: measure -> (performance met, eligible population)."""
    return {
        "category": "quality",
        "submissionMethod": "registry",
        "performanceStart": f"{year}-01-01",
        "performanceEnd": f"{year}-12-31",
        "measurements": [
            {
                "measureId": measure_id,
                "value": {
                    "isEndToEndReported": False,
                    "performanceMet": met,
                    "performanceNotMet": population - met,
                    "eligiblePopulationExclusion": 0,
                    "eligiblePopulationException": 0,
                    "eligiblePopulation": population,
                },
            }
            for measure_id, (met, population) in measures.items()
        ],
    }


def pi_set_2019() -> dict[str, Any]:
    """A complete 2019 PI set: 51 points from the required measures and a 5-point bonus."""
    values: dict[str, Any] = {
        "PI_PPHI_1": True,
        "PI_ONCDIR_1": True,
        "PI_INFBLO_1": True,
        "PI_EP_1": {"numerator": 3, "denominator": 4},
        "PI_EP_2": True,
        "PI_HIE_1": {"numerator": 5, "denominator": 9},
        "PI_HIE_4": {"numerator": 1, "denominator": 9},
        "PI_PEA_1": {"numerator": 20, "denominator": 40},
        "PI_PHCDRR_1": True,
        "PI_PHCDRR_2": True,
    }
    return {
        "category": "pi",
        "submissionMethod": "registry",
        "cehrtId": CEHRT_2015E,
        "performanceStart": "2019-01-01",
        "performanceEnd": "2019-12-31",
        "measurements": [{"measureId": k, "value": v} for k, v in values.items()],
    }


def accept(
    world: World, user: str, data: dict[str, Any], *, now: dt.datetime = NOW_2019
) -> store.Accepted:
    with world.factory.begin() as session:
        return store.accept(
            session,
            principal=world.principal(user),
            submission=Submission.from_qpp_json(data),
            context=CONTEXT,
            channel="api",
            now=now,
        )


def store_at_url(url: str, principal_user: str, data: dict[str, Any]) -> None:
    """``accept`` for a database given by URL (the browser tests' server copy)."""
    world = World(url, "sqlite")
    accept(world, principal_user, data)


def write_cost_file(folder: Path, rows: list[str]) -> Path:
    path = folder / "cost-results.csv"
    path.write_text(
        "tin,npi,measure_id,case_count,case_minimum,points\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return path
