"""A small in-memory measures year and submission builders for the submission tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openqpp.core.submissions import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    Submission,
    SubmissionMethod,
)
from openqpp.measures import (
    CostMeasure,
    ImprovementActivity,
    MeasuresYear,
    Mvp,
    PiMeasure,
    QualityMeasure,
    YearFiles,
)

YEAR = 2025

QUALITY: list[dict[str, Any]] = [
    {
        "measureId": "001",
        "title": "Diabetes",
        "category": "quality",
        "metricType": "singlePerformanceRate",
        "measureType": "intermediateOutcome",
        "isHighPriority": True,
        "isInverse": True,
        "submissionMethods": ["claims", "electronicHealthRecord", "registry"],
        "allowedPrograms": ["mips", "app1", "appPlus", "G0053"],
        "allowedRegistrationTypes": ["apm", "group", "subgroup", "individual"],
    },
    {
        "measureId": "305",
        "title": "Alcohol",
        "category": "quality",
        "metricType": "multiPerformanceRate",
        "measureType": "process",
        "isHighPriority": False,
        "isInverse": False,
        "submissionMethods": ["electronicHealthRecord"],
        "allowedPrograms": ["mips"],
        "strata": [{"name": "14Days"}, {"name": "34Days"}],
    },
    {
        "measureId": "AAD6",
        "title": "QCDR measure",
        "category": "quality",
        "metricType": "registrySinglePerformanceRate",
        "measureType": "process",
        "isHighPriority": False,
        "isInverse": False,
        "isRegistryMeasure": True,
        "submissionMethods": ["registry"],
        "allowedPrograms": ["mips"],
    },
    {
        "measureId": "QCDR2",
        "title": "QCDR multi",
        "category": "quality",
        "metricType": "registryMultiPerformanceRate",
        "measureType": "process",
        "isHighPriority": False,
        "isInverse": False,
        "isRegistryMeasure": True,
        "submissionMethods": ["registry"],
        "allowedPrograms": ["mips"],
        "strata": [{"name": "a"}, {"name": "b"}],
    },
    {
        "measureId": "ACRAD15",
        "title": "Ratio",
        "category": "quality",
        "metricType": "nonProportion",
        "measureType": "process",
        "isHighPriority": False,
        "isInverse": False,
        "submissionMethods": ["registry"],
        "allowedPrograms": ["mips"],
    },
    {
        "measureId": "321",
        "title": "CAHPS",
        "category": "quality",
        "metricType": "cahps",
        "measureType": "patientEngagementExperience",
        "isHighPriority": True,
        "isInverse": False,
        "submissionMethods": ["certifiedSurveyVendor"],
        "allowedPrograms": ["mips"],
    },
]
IA: list[dict[str, Any]] = [
    {
        "measureId": "IA_EPA_1",
        "title": "Access",
        "category": "ia",
        "metricType": "boolean",
        "allowedPrograms": ["mips", "app1", "G0053"],
        "allowedRegistrationTypes": ["group", "individual"],
    },
]
PI: list[dict[str, Any]] = [
    {
        "measureId": "PI_HIE_1",
        "title": "HIE",
        "category": "pi",
        "metricType": "proportion",
        "isRequired": True,
        "isBonus": False,
        "exclusion": ["PI_LVOTC_1"],
        "substitutes": ["PI_HIE_5"],
        "allowedPrograms": ["mips", "app1"],
    },
    {
        "measureId": "PI_LVOTC_1",
        "title": "Exclusion",
        "category": "pi",
        "metricType": "boolean",
        "isRequired": False,
        "isBonus": False,
        "allowedPrograms": ["mips", "app1"],
    },
    {
        "measureId": "PI_HIE_5",
        "title": "Substitute",
        "category": "pi",
        "metricType": "boolean",
        "isRequired": False,
        "isBonus": False,
        "allowedPrograms": ["mips", "app1"],
    },
]
COST: list[dict[str, Any]] = [
    {
        "measureId": "TPCC_1",
        "title": "Cost",
        "category": "cost",
        "metricType": "costScore",
        "submissionMethods": ["administrativeClaims"],
    }
]


def make_year(year: int = YEAR, *, with_programs: bool = True) -> MeasuresYear:
    def strip(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if with_programs:
            return records
        return [{k: v for k, v in r.items() if k != "allowedPrograms"} for r in records]

    return MeasuresYear(
        year=year,
        root=Path("/nowhere"),
        source="test",
        files=YearFiles(measures=Path("/nowhere/measures-data.json")),
        quality_measures=tuple(QualityMeasure.model_validate(r) for r in strip(QUALITY)),
        improvement_activities=tuple(ImprovementActivity.model_validate(r) for r in strip(IA)),
        pi_measures=tuple(PiMeasure.model_validate(r) for r in strip(PI)),
        cost_measures=tuple(CostMeasure.model_validate(r) for r in COST),
        mvps=(Mvp.model_validate({"mvpId": "G0053", "title": "Rheumatology"}),)
        if with_programs
        else (),
    )


def a_set(
    category: Category = Category.QUALITY,
    *measurements: tuple[str, MeasurementValue],
    method: SubmissionMethod = SubmissionMethod.REGISTRY,
    program: str | None = None,
    start: dt.date | None = dt.date(YEAR, 1, 1),
    end: dt.date | None = dt.date(YEAR, 12, 31),
    cehrt: str | None = None,
) -> MeasurementSet:
    return MeasurementSet(
        category=category,
        submission_method=method,
        measurements=tuple(Measurement(mid, value) for mid, value in measurements),
        program_name=program,
        performance_start=start,
        performance_end=end,
        cehrt_id=cehrt,
    )


def a_submission(
    *sets: MeasurementSet,
    entity: EntityType = EntityType.INDIVIDUAL,
    tin: str | None = "123456789",
    npi: str | None = "1234567893",
    entity_id: str | None = None,
    year: int = YEAR,
) -> Submission:
    return Submission(
        performance_year=year,
        entity_type=entity,
        tin=tin,
        npi=npi,
        entity_id=entity_id,
        measurement_sets=sets,
    )
