"""The canonical submission: one performance year, one entity, measurement sets per category.

Every intake format (QPP JSON, QRDA III, manual attestation) produces these values, and
every later step (validation, persistence, scoring) reads only these values. The model keeps
what the file said, including values that are wrong (a malformed TIN, a negative count), so
the validation engine can report them with their location; it never raises on bad content.

Vocabulary and value shapes follow the QPP Submissions API (`shared/reference/notes/
qpp-apis.md` §2.2 and §3): `entityType`, `measurementSets[]` with `category`,
`submissionMethod`, `programName`, `performanceStart`/`performanceEnd`, `cehrtId`, and
`measurements[]` whose `value` is a boolean, a proportion, a single or multi performance rate,
or a non-proportion value depending on the measure's `metricType`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final


class EntityType(StrEnum):
    """Who the data is for (QPP `entityType`)."""

    INDIVIDUAL = "individual"
    GROUP = "group"
    APM = "apm"
    VIRTUAL_GROUP = "virtualGroup"
    SUBGROUP = "subgroup"


class Category(StrEnum):
    """MIPS performance categories a measurement set can belong to."""

    QUALITY = "quality"
    PI = "pi"
    IA = "ia"
    COST = "cost"


class SubmissionMethod(StrEnum):
    """How the data reached CMS (QPP `submissionMethod`; measures data `submissionMethods`)."""

    ELECTRONIC_HEALTH_RECORD = "electronicHealthRecord"
    REGISTRY = "registry"
    CLAIMS = "claims"
    CMS_WEB_INTERFACE = "cmsWebInterface"
    ADMINISTRATIVE_CLAIMS = "administrativeClaims"
    CERTIFIED_SURVEY_VENDOR = "certifiedSurveyVendor"
    #: Manual entry on the web pages (PI and IA only; 42 CFR 414.1325(b)(5) and (c)(5) list
    #: "attestation" as its own data submission mechanism). Not a value files or the API may
    #: send: the QPP JSON schema leaves it out, so only the attestation pages make such sets.
    #: It keeps a practice's manual entry apart from its own uploaded PI/IA set (measurement
    #: sets are unique per submitter, category, method and program), which the guide's "PI data
    #: through multiple submission types (ex. Manual entry and file upload)" rule needs.
    ATTESTATION = "attestation"


PROGRAM_MIPS: Final = "mips"
PROGRAM_APP: Final = "app1"
PROGRAM_APP_PLUS: Final = "appPlus"
#: Program names that are not MVP IDs. Anything else in `programName` is an MVP ID.
BASE_PROGRAMS: Final = frozenset({PROGRAM_MIPS, PROGRAM_APP, PROGRAM_APP_PLUS})


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Proportion:
    """`{numerator, denominator}`: PI proportion measures (metricType `proportion`)."""

    numerator: int
    denominator: int
    numerator_exclusion: int | None = None
    denominator_exception: int | None = None


@dataclass(frozen=True, slots=True)
class PerformanceCounts:
    """The population counts of a performance rate (one measure, or one stratum of it).

    `None` means the key was absent (or `null`); `0` means the file said zero. The
    difference matters for round trips and for the converter's output.
    """

    performance_met: int
    eligible_population: int
    performance_not_met: int | None = None
    eligible_population_exclusion: int | None = None
    eligible_population_exception: int | None = None

    @property
    def reported(self) -> int:
        """Cases accounted for: met + not met + exclusions + exceptions."""
        return (
            self.performance_met
            + (self.performance_not_met or 0)
            + (self.eligible_population_exclusion or 0)
            + (self.eligible_population_exception or 0)
        )


@dataclass(frozen=True, slots=True)
class SinglePerformanceRate:
    """metricType `singlePerformanceRate` / `registrySinglePerformanceRate`."""

    is_end_to_end_reported: bool
    counts: PerformanceCounts
    #: Written by the submitter for QCDR measures (`registrySinglePerformanceRate`) only.
    performance_rate: Decimal | None = None
    #: QCDR measures only.
    numerator_exclusion: int | None = None


@dataclass(frozen=True, slots=True)
class StratumPerformance:
    """One entry of `strata[]` in a multi performance rate value."""

    stratum: str
    counts: PerformanceCounts


@dataclass(frozen=True, slots=True)
class MultiPerformanceRate:
    """metricType `multiPerformanceRate` / `registryMultiPerformanceRate`."""

    is_end_to_end_reported: bool
    strata: tuple[StratumPerformance, ...]
    performance_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class NonProportion:
    """metricType `nonProportion` (ratio and continuous-variable measures, mostly QCDR)."""

    is_end_to_end_reported: bool
    numerator: Decimal
    denominator: Decimal
    observation_instances: int
    numerator_exclusion: Decimal | None = None
    denominator_exception: Decimal | None = None


MeasurementValue = bool | Proportion | SinglePerformanceRate | MultiPerformanceRate | NonProportion


def value_shape(value: MeasurementValue) -> str:
    """The name of a value's shape, as the measures data calls the metric types."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Proportion):
        return "proportion"
    if isinstance(value, SinglePerformanceRate):
        return "singlePerformanceRate"
    if isinstance(value, MultiPerformanceRate):
        return "multiPerformanceRate"
    return "nonProportion"


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True)
class Measurement:
    measure_id: str
    value: MeasurementValue


@dataclass(frozen=True, slots=True)
class MeasurementSet:
    """One category's data for one submission method and program."""

    category: Category
    submission_method: SubmissionMethod
    measurements: tuple[Measurement, ...] = ()
    #: `mips`, `app1`, `appPlus` or an MVP ID; `None` when the file did not say (= mips).
    program_name: str | None = None
    performance_start: dt.date | None = None
    performance_end: dt.date | None = None
    #: CMS EHR Certification ID (PI and eCQM quality sets).
    cehrt_id: str | None = None
    #: Where the set came from, e.g. `qrda3` for converted QRDA III files.
    source: str | None = None

    @property
    def program(self) -> str:
        """The effective program: `programName`, or `mips` when it was left out."""
        return self.program_name if self.program_name else PROGRAM_MIPS

    @property
    def is_mvp(self) -> bool:
        return self.program not in BASE_PROGRAMS


@dataclass(frozen=True, slots=True)
class Submission:
    """Everything one entity reports for one performance year."""

    performance_year: int
    entity_type: EntityType
    #: Kept as written (validation checks the format), so a wrong TIN can be reported.
    tin: str | None = None
    npi: str | None = None
    #: APM entity, virtual group or subgroup ID.
    entity_id: str | None = None
    measurement_sets: tuple[MeasurementSet, ...] = field(default=())

    def to_qpp_json(self) -> dict[str, object]:
        """This submission as QPP JSON (JSON-native types only)."""
        from openqpp.core.submissions.qpp_json import submission_to_json

        return submission_to_json(self)

    @classmethod
    def from_qpp_json(cls, data: object) -> Submission:
        """Read QPP JSON (already parsed); raises `SubmissionShapeError` with a JSONPath."""
        from openqpp.core.submissions.qpp_json import submission_from_json

        return submission_from_json(data)
