"""Rules for accepting submitted data: whose data may be stored, and how new data meets old.

- Data for an opt-in eligible entity is refused until its election exists (the guides: an
  opt-in eligible clinician or group must opt in or elect to report voluntarily before data
  is accepted). Eligible and exempt entities may submit (exempt ones as voluntary reporters).
- An upload on an entity's page must hold that entity's data (the guide's troubleshooting case:
  a file for another TIN or NPI, or an individual file on the group's page).
- One measurement set per (category, submission method, program) per submitter in a
  submission; a new upload from the same submitter overwrites the same measure's data and
  keeps the rest (merge by measureId); PUT replaces the whole set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from openqpp.core.elections.model import ExistingElection
from openqpp.core.eligibility.model import Status
from openqpp.core.errors import Finding, Location, OpenQppError
from openqpp.core.submissions.model import EntityType, Measurement, MeasurementSet, Submission


class DataRefused(OpenQppError):
    """Submitted data that may not be stored (nothing is stored)."""

    code = "OQ-SUB-100"


class SubmissionInvalid(DataRefused):
    """The data has validation errors; ``findings`` lists every one with its location."""

    def __init__(self, findings: Sequence[Finding], *, source: str | None = None) -> None:
        self.findings = tuple(findings)
        errors = [f for f in self.findings if f.is_error]
        where = f" in {source}" if source else ""
        super().__init__(
            f"The submission{where} has {len(errors)} error(s); nothing was stored.",
            fix="Correct every error listed (each names its location) and submit again.",
        )


class ElectionRequired(DataRefused):
    code = "OQ-SUB-101"


class EntityMismatch(DataRefused):
    code = "OQ-SUB-102"


class DuplicateMeasurementSet(DataRefused):
    code = "OQ-SUB-103"


class NotFound(DataRefused):
    """Not there, or not the caller's to see (the same words either way)."""

    http_status = 404
    code = "OQ-SUB-104"


class Mode(StrEnum):
    """How incoming measurement sets meet the submitter's existing ones."""

    #: POST /measurement-sets: a new set; one that exists already is a duplicate.
    CREATE = "create"
    #: PUT: the whole set is replaced.
    REPLACE = "replace"
    #: PATCH and file uploads: measurements merged by measureId, the rest kept.
    MERGE = "merge"


SetKey = tuple[str, str, str]


def set_key(measurement_set: MeasurementSet) -> SetKey:
    """What makes a set unique within one submitter's part of a submission."""
    return (
        measurement_set.category.value,
        measurement_set.submission_method.value,
        measurement_set.program,
    )


def merge_measurements(
    existing: Sequence[Measurement], incoming: Sequence[Measurement]
) -> tuple[Measurement, ...]:
    """Incoming measurements replace those with the same measureId; others are kept in order."""
    fresh = {m.measure_id: m for m in incoming}
    kept = [fresh.pop(m.measure_id, m) for m in existing]
    return (*kept, *fresh.values())


def check_data_allowed(
    *,
    entity: str,
    year: int,
    status: Status | None,
    election: ExistingElection | None,
) -> None:
    """Refuse data for an opt-in eligible entity that has not elected (any path, any format)."""
    if status is Status.OPT_IN_ELIGIBLE and election is None:
        raise ElectionRequired(
            f"{entity} is opt-in eligible for performance year {year} and has not made an "
            "election, so its data cannot be accepted.",
            fix="Opt in or elect to report voluntarily first (Eligibility & Reporting, or the "
            "registry upload's participant elections), then submit the data again.",
        )


def _describe(entity_type: EntityType, tin: str | None, npi: str | None, other: str | None) -> str:
    if entity_type is EntityType.INDIVIDUAL:
        return f"the individual clinician TIN {tin or '(none)'} / NPI {npi or '(none)'}"
    if entity_type is EntityType.GROUP:
        return f"the group TIN {tin or '(none)'}"
    return f"the {entity_type.value} {other or '(none)'}"


def check_entity_matches(
    submission: Submission,
    *,
    entity_type: EntityType,
    tin: str | None,
    npi: str | None = None,
    file: str | None = None,
) -> None:
    """The file on an entity's page must be that entity's data; say what the file holds."""
    same = (
        submission.entity_type is entity_type
        and (submission.tin or None) == tin
        and (entity_type is not EntityType.INDIVIDUAL or (submission.npi or None) == npi)
    )
    if same:
        return
    held = _describe(submission.entity_type, submission.tin, submission.npi, submission.entity_id)
    page = _describe(entity_type, tin, npi, None)
    raise EntityMismatch(
        f"This file holds data for {held}, but this page reports for {page}.",
        fix=(
            "Upload the file on the page of the entity it is for, or export the file again "
            "with this page's TIN"
            + (" and NPI" if entity_type is EntityType.INDIVIDUAL else "")
            + " (entityType "
            + ("individual" if entity_type is EntityType.INDIVIDUAL else entity_type.value)
            + ")."
        ),
        location=Location(file=file, path="$.entityType"),
    )


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submitted a measurement set: a registry or QCDR, the practice itself, or the operator."""

    #: ``organization:<id>`` for an organisation, ``operator`` for the command line.
    key: str
    #: CMS's ``submitterType``: ``organization`` for intermediaries, ``practice``, ``operator``.
    kind: str
    organisation_id: int | None = None
    name: str | None = None
