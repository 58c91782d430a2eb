"""Files and forms for the practice reporting tests: QPP JSON and QRDA III uploads for the
elections world's practices, and a complete PI manual entry form."""

from __future__ import annotations

import json
from typing import Any

from tests.support.qrda3 import Attestation, PiProportion, qrda3_document

CONTEXT_ID = "req-practice"
CEHRT_2015E = "0015E1234567890"
"""A CEHRT ID of the 2015 Edition format (2019: ``XX15EXXXXXXXXXX``)."""
CEHRT_CURES = "0015C1234567890"
"""A 2015 Edition Cures Update ID (``15C``): refused in 2019, accepted in 2022."""


def ia_set(
    activities: dict[str, bool], *, year: int = 2019, method: str = "registry"
) -> dict[str, Any]:
    return {
        "category": "ia",
        "submissionMethod": method,
        "performanceStart": f"{year}-01-01",
        "performanceEnd": f"{year}-12-31",
        "measurements": [{"measureId": k, "value": v} for k, v in activities.items()],
    }


def pi_set(
    measurements: dict[str, Any],
    *,
    year: int = 2019,
    method: str = "registry",
    cehrt: str = CEHRT_2015E,
) -> dict[str, Any]:
    def value(v: Any) -> Any:
        if isinstance(v, tuple):
            return {"numerator": v[0], "denominator": v[1]}
        return v

    return {
        "category": "pi",
        "submissionMethod": method,
        "cehrtId": cehrt,
        "performanceStart": f"{year}-01-01",
        "performanceEnd": f"{year}-12-31",
        "measurements": [{"measureId": k, "value": value(v)} for k, v in measurements.items()],
    }


def qpp_json(tin: str, *sets: dict[str, Any], npi: str | None = None, year: int = 2019) -> bytes:
    document: dict[str, Any] = {
        "performanceYear": year,
        "entityType": "individual" if npi else "group",
        "taxpayerIdentificationNumber": tin,
        "measurementSets": list(sets),
    }
    if npi:
        document["nationalProviderIdentifier"] = npi
    return json.dumps(document).encode()


def group_qrda3(tin: str, *, ia_answer: str = "Y", npi: str | None = None) -> bytes:
    """A 2019 QRDA III file (MIPS_GROUP, or MIPS_INDIV with ``npi``) with PI and IA data."""
    return qrda3_document(
        guide="2018-05-01",
        year=2019,
        program="MIPS_INDIV" if npi else "MIPS_GROUP",
        tin=tin,
        npi=npi,
        cehrt=CEHRT_2015E,
        ia=[Attestation("IA_EPA_1", answer=ia_answer)],
        pi=[PiProportion("PI_EP_1", 3, 4), Attestation("PI_PPHI_1")],
    )


STATEMENTS_2019 = ("PI_PPHI_1", "PI_ONCDIR_1", "PI_INFBLO_1")


def slug(measure_id: str) -> str:
    return measure_id.lower().replace("_", "-")


def pi_form(
    *,
    year: int = 2019,
    cehrt: str = CEHRT_2015E,
    statements: tuple[str, ...] = STATEMENTS_2019,
    answer: str = "yes",
    measures: dict[str, Any] | None = None,
    exclusions: dict[str, str] | None = None,
    confirm: bool = False,
) -> dict[str, str]:
    """A PI manual entry form: period, CEHRT ID, statements, proportions (tuples), yes/no
    measures (strings) and exclusions (measure -> exclusion id)."""
    form = {
        "performance_start": f"{year}-01-01",
        "performance_end": f"{year}-12-31",
        "cehrt_id": cehrt,
    }
    for statement in statements:
        form[f"answer-{slug(statement)}"] = answer
    for measure_id, value in (measures or {}).items():
        if isinstance(value, tuple):
            form[f"numerator-{slug(measure_id)}"] = str(value[0])
            form[f"denominator-{slug(measure_id)}"] = str(value[1])
        else:
            form[f"answer-{slug(measure_id)}"] = str(value)
    for measure_id, exclusion in (exclusions or {}).items():
        form[f"exclusion-{slug(measure_id)}"] = exclusion
    if confirm:
        form["confirm_reweighting"] = "yes"
    return form
