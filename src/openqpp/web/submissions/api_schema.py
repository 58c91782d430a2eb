"""The Submissions API's objects for the OpenAPI document (documentation only: the views
answer the JSON the services render, in exactly these shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openqpp.web.api_errors import ErrorEnvelope


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class MeasurementOut(_Open):
    id: str
    measurementSetId: str
    measureId: str = Field(description="A quality measure number, IA or PI measure ID.")
    value: bool | dict[str, Any] = Field(
        description="true/false, or an object whose shape follows the measure's metricType; "
        "rates carry the computed performanceRate, reportingRate, caseCount, ..."
    )
    performanceStart: str | None = None
    performanceEnd: str | None = None


class MeasurementSetOut(_Open):
    id: str
    createdAt: str
    updatedAt: str
    submissionId: str
    category: str = Field(description="quality, pi, ia or cost")
    submissionMethod: str
    measureSet: str | None = None
    submitterId: str = Field(description="The submitting organisation: a registry's vendor id.")
    submitterType: str = Field(description="organization (registries, QCDRs) or practice")
    programName: str
    practiceId: str = ""
    practiceDetails: dict[str, Any] | None = None
    cehrtId: str
    suppressed: bool
    source: str | None = None
    performanceStart: str | None = None
    performanceEnd: str | None = None
    measurements: list[MeasurementOut]


class SubmissionOut(_Open):
    id: str
    createdAt: str
    updatedAt: str
    entityType: str
    entityId: str | None = None
    taxpayerIdentificationNumber: str | None = None
    nationalProviderIdentifier: str | None = None
    performanceYear: int
    measurementSets: list[MeasurementSetOut]


class _Page(_Open):
    totalItems: int
    startIndex: int
    itemsPerPage: int


class SubmissionsPage(_Page):
    submissions: list[SubmissionOut]


class MeasurementSetsPage(_Page):
    measurementSets: list[MeasurementSetOut]


class MeasurementsPage(_Page):
    measurements: list[MeasurementOut]


class SubmissionData(_Open):
    submission: SubmissionOut
    warnings: list[str] = Field(default=[], description="Findings that do not refuse the data.")


class MeasurementSetData(_Open):
    measurementSet: MeasurementSetOut
    warnings: list[str] = Field(default=[], description="Findings that do not refuse the data.")


class MeasurementData(_Open):
    measurement: MeasurementOut


class NormalisedSubmission(_Open):
    submission: dict[str, Any] = Field(description="The submission as canonical QPP JSON.")
    warnings: list[str] = []


class ReceiptSummary(_Open):
    receiptId: str
    submissionId: str
    version: int
    receivedAt: str
    operation: str
    channel: str


class ReceiptsData(_Open):
    receipts: list[ReceiptSummary]
    totalItems: int


class SubmissionsEnvelope(_Open):
    data: SubmissionsPage


class SubmissionEnvelope(_Open):
    data: SubmissionData


class MeasurementSetsEnvelope(_Open):
    data: MeasurementSetsPage


class MeasurementSetEnvelope(_Open):
    data: MeasurementSetData


class MeasurementsEnvelope(_Open):
    data: MeasurementsPage


class MeasurementEnvelope(_Open):
    data: MeasurementData


class ValidatedEnvelope(_Open):
    data: NormalisedSubmission


class ReceiptsEnvelope(_Open):
    data: ReceiptsData


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    words = {
        400: "The request cannot be read (e.g. an Idempotency-Key that is empty or too long, "
        "or text with a NUL character: OQ-REQ-002).",
        401: "No valid API token or session; or (POST /submissions) a registry, which may not "
        "create whole submissions.",
        403: "The caller may not submit or view data for this entity.",
        404: "Not found, or not visible to the caller (the same answer).",
        406: "The Accept header asks for a type or API version this server does not give.",
        409: "DuplicateEntryError: the object exists already (details name it).",
        413: "The request body is over the configured limit (OPENQPP_MAX_REQUEST_BYTES).",
        422: "ValidationError: every finding in details, each with its JSONPath in the body "
        "(or a malformed query parameter); also the opt-in election gate (code OQ-SUB-101).",
        429: "Too many requests from this caller; wait Retry-After seconds.",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorEnvelope, "description": words[status]}
        if status == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before the next request.",
                    "schema": {"type": "integer"},
                }
            }
        out[status] = entry
    return out


def json_body(schema: dict[str, Any], *, description: str, xml: bool = False) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its body itself (size-limited, exact numbers)."""
    content: dict[str, Any] = {
        "application/json": {"schema": schema},
        "application/vnd.qpp.cms.gov.v1+json": {"schema": schema},
    }
    if xml:
        content["application/xml"] = {"schema": {"type": "string"}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


_VALUE: dict[str, Any] = {
    "description": "true/false, {numerator, denominator}, or a performance rate object.",
    "anyOf": [{"type": "boolean"}, {"type": "object"}],
}
MEASUREMENT_IN: dict[str, Any] = {
    "type": "object",
    "required": ["measureId", "value"],
    "properties": {
        "measureId": {"type": "string"},
        "value": _VALUE,
    },
}
MEASUREMENT_WRITE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "measurementSetId": {"type": "string"},
        "measureId": {"type": "string"},
        "value": _VALUE,
    },
}
ENTITY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entityType": {
            "type": "string",
            "enum": ["individual", "group", "apm", "virtualGroup", "subgroup"],
        },
        "taxpayerIdentificationNumber": {"type": ["string", "null"]},
        "nationalProviderIdentifier": {"type": ["string", "null"]},
        "entityId": {"type": ["string", "null"]},
        "performanceYear": {"type": "integer"},
    },
}
MEASUREMENT_SET_IN: dict[str, Any] = {
    "type": "object",
    "properties": {
        "submission": ENTITY,
        "submissionId": {"type": "string"},
        "category": {"type": "string", "enum": ["quality", "pi", "ia", "cost"]},
        "submissionMethod": {"type": "string"},
        "programName": {"type": "string"},
        "cehrtId": {"type": "string"},
        "performanceStart": {"type": "string", "format": "date"},
        "performanceEnd": {"type": "string", "format": "date"},
        "measurements": {"type": "array", "items": MEASUREMENT_IN},
    },
}
SUBMISSION_IN: dict[str, Any] = {
    **ENTITY,
    "required": ["entityType", "performanceYear", "measurementSets"],
    "properties": {
        **ENTITY["properties"],
        "measurementSets": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    k: v
                    for k, v in MEASUREMENT_SET_IN["properties"].items()
                    if k not in ("submission", "submissionId")
                },
            },
        },
    },
}
