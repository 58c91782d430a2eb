"""Typed, frozen records of the CMS measures data pack (qpp-measures-data layout).

Only the fields that validation and scoring use are modelled; every other upstream field is
ignored (`extra="ignore"`), so additions upstream do not break loading. Attribute names are
snake_case; the JSON names are the camelCase aliases. Fields that exist only in some
performance years are optional: `None` (or an empty tuple for lists) means "not in this
year's data". Field history: `shared/reference/notes/measures-data.md` §1.9.

Benchmark and cost-average numbers are `Decimal`, parsed exactly from the JSON text.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

IaWeight = Literal["medium", "high"]

#: Percentile keys that carry the decile boundaries (lower bounds of deciles 2..10).
DECILE_PERCENTILE_KEYS: tuple[str, ...] = ("10", "20", "30", "40", "50", "60", "70", "80", "90")


class _Record(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        populate_by_name=True,
    )


def _tuple_or_empty(value: Any) -> Any:
    """`null` for a list field means "none"."""
    return () if value is None else value


# --------------------------------------------------------------------------- measures


class _Measure(_Record):
    """Fields every category shares (`baseMeasure` in the upstream schema)."""

    measure_id: str
    title: str
    description: str | None = None
    metric_type: str
    first_performance_year: int | None = None
    last_performance_year: int | None = None
    measure_sets: tuple[str, ...] = ()
    #: `mips`, `app1`, `appPlus`, `ssp`, ... and MVP IDs. `None` before the field existed
    #: (quality before 2022, other categories before 2023).
    allowed_programs: tuple[str, ...] | None = None
    #: `apm`, `group`, `subgroup`, `individual` (2025+); `None` before.
    allowed_registration_types: tuple[str, ...] | None = None

    @field_validator("measure_sets", mode="before")
    @classmethod
    def _null_sets(cls, value: Any) -> Any:
        return _tuple_or_empty(value)


class StratumUuids(_Record):
    """eCQM population UUIDs of one stratum; matched against QRDA III populations."""

    initial_population_uuid: str | None = None
    denominator_uuid: str | None = None
    numerator_uuid: str | None = None
    denominator_exclusion_uuid: str | None = None
    denominator_exception_uuid: str | None = None
    numerator_exclusion_uuid: str | None = None
    strata: tuple[str, ...] = ()

    @field_validator("strata", mode="before")
    @classmethod
    def _null_strata(cls, value: Any) -> Any:
        return _tuple_or_empty(value)


class Stratum(_Record):
    name: str | None = None
    description: str | None = None
    e_measure_uuids: StratumUuids | None = None


class QualityMeasure(_Measure):
    category: Literal["quality"]
    measure_type: str
    is_high_priority: bool
    is_inverse: bool
    submission_methods: tuple[str, ...]
    e_measure_id: str | None = None
    e_measure_uuid: str | None = None
    nqf_id: str | None = None
    is_registry_measure: bool = False
    is_risk_adjusted: bool | None = None
    #: `simpleAverage`, `weightedAverage`, `sumNumerators`, `overallStratumOnly`, `split`.
    overall_algorithm: str | None = None
    strata: tuple[Stratum, ...] = ()
    allowed_vendors: tuple[str, ...] = ()
    required_for_programs: tuple[str, ...] = ()
    companion_measure_id: tuple[str, ...] = ()
    data_display_format: str | None = None
    #: `{submissionMethod: "removed" | "flat"}` (2022+; the JSON name is snake_case upstream).
    historic_benchmarks: Mapping[str, str] = Field(
        default_factory=dict, alias="historic_benchmarks"
    )
    is_icd_impacted: bool | None = None
    icd_impacted: tuple[str, ...] = ()
    is_clinical_guideline_changed: bool | None = None
    clinical_guideline_changed: tuple[str, ...] = ()
    is_seven_point_cap_removed: bool | None = None
    seven_point_cap_removed: tuple[str, ...] = ()

    @field_validator(
        "strata",
        "allowed_vendors",
        "required_for_programs",
        "companion_measure_id",
        "icd_impacted",
        "clinical_guideline_changed",
        "seven_point_cap_removed",
        mode="before",
    )
    @classmethod
    def _null_lists(cls, value: Any) -> Any:
        return _tuple_or_empty(value)

    @field_validator("historic_benchmarks", mode="before")
    @classmethod
    def _null_mapping(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def is_ecqm(self) -> bool:
        return self.e_measure_uuid is not None


class ImprovementActivity(_Measure):
    category: Literal["ia"]
    subcategory_id: str | None = None
    #: `medium` / `high` up to 2024; `None` for IA_PCMH and for every activity from 2025,
    #: when the field left the data together with IA weighting.
    weight: IaWeight | None = None


class PiMeasure(_Measure):
    """A Promoting Interoperability measure (category `aci` in 2017)."""

    category: Literal["pi", "aci"]
    objective: str | None = None
    is_required: bool
    is_bonus: bool
    #: `required`, `bonus`, `exclusion` or `None` (2017: `base`, `performanceBonus`, ...).
    reporting_category: str | None = None
    #: IDs of exclusion measures that may be submitted instead; the data has a string, a
    #: list or `null` depending on year and record, normalised here to a tuple.
    exclusion: tuple[str, ...] = ()
    substitutes: tuple[str, ...] = ()
    preprod: tuple[str, ...] = ()
    #: Performance score points, 2017-2019 only.
    weight: int | None = None

    @field_validator("exclusion", mode="before")
    @classmethod
    def _normalise_exclusion(cls, value: Any) -> Any:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("substitutes", "preprod", mode="before")
    @classmethod
    def _null_lists(cls, value: Any) -> Any:
        return _tuple_or_empty(value)


class CostMeasure(_Measure):
    category: Literal["cost"]
    is_inverse: bool | None = None
    submission_methods: tuple[str, ...] = ()
    overall_algorithm: str | None = None
    data_display_format: str | None = None

    @field_validator("submission_methods", mode="before")
    @classmethod
    def _null_methods(cls, value: Any) -> Any:
        return _tuple_or_empty(value)


Measure = QualityMeasure | ImprovementActivity | PiMeasure | CostMeasure


# --------------------------------------------------------------------------- benchmarks


class Benchmark(_Record):
    """One benchmark, keyed by (measureId, submissionMethod).

    Up to 2022 the distribution is `deciles`: 9 numbers, the inclusive lower bounds of
    deciles 2..10 (descending for inverse measures), or 10 numbers for cost and
    non-proportion measures. From 2023 it is `percentiles`, keys `"1"`, `"10"`, ... `"90"`,
    `"99"`. Both are kept as found; interpreting them is the scoring engine's job.
    """

    measure_id: str
    submission_method: str
    performance_year: int
    benchmark_year: int
    is_topped_out: bool | None = None
    #: Topped out two years running: the score is capped at 7 points.
    is_topped_out_by_program: bool | None = None
    is_high_priority: bool | None = None
    is_inverse: bool | None = None
    metric_type: str | None = None
    deciles: tuple[Decimal, ...] | None = None
    percentiles: Mapping[str, Decimal] | None = None
    average_performance_rate: Decimal | None = None

    @model_validator(mode="after")
    def _has_distribution(self) -> Benchmark:
        if self.deciles is None and self.percentiles is None:
            raise ValueError("a benchmark needs `deciles` or `percentiles`")
        if self.deciles is not None and len(self.deciles) not in (9, 10):
            raise ValueError(f"`deciles` must have 9 or 10 numbers, not {len(self.deciles)}")
        if self.percentiles is not None:
            missing = [key for key in DECILE_PERCENTILE_KEYS if key not in self.percentiles]
            if missing:
                raise ValueError(f"`percentiles` lacks the keys {missing}")
        return self

    @property
    def is_performance_period(self) -> bool:
        """True when the benchmark comes from the performance year itself (cost, admin claims)."""
        return self.benchmark_year == self.performance_year


class BenchmarkExclusionReason(_Record):
    """Why a (measureId, submissionMethod) has no benchmark (2023+)."""

    measure_id: str
    submission_method: str
    performance_year: int | None = None
    benchmark_year: int | None = None
    reason_codes: tuple[str, ...] = ()
    reason_descriptions: tuple[str, ...] = ()


class CostNationalAverage(_Record):
    measure_id: str
    performance_year: int | None = None
    benchmark_year: int | None = None
    group_national_average: Decimal | None = None
    individual_national_average: Decimal | None = None


# --------------------------------------------------------------------------- clusters, MVPs


class MeasureGroup(_Record):
    """A named group of measure IDs: a clinical cluster or a specialty set."""

    name: str
    measure_ids: tuple[str, ...] = ()


class ClinicalClusterRecord(_Record):
    """EMA clusters for one (measureId, submissionMethod); claims and registry only."""

    measure_id: str
    submission_method: str
    first_performance_year: int | None = None
    last_performance_year: int | None = None
    clinical_clusters: tuple[MeasureGroup, ...] = ()
    specialty_sets: tuple[MeasureGroup, ...] = ()

    @field_validator("clinical_clusters", "specialty_sets", mode="before")
    @classmethod
    def _null_groups(cls, value: Any) -> Any:
        return _tuple_or_empty(value)


class Mvp(_Record):
    """One MIPS Value Pathway (slim `mvp.json`: measure IDs only)."""

    mvp_id: str
    title: str
    clinical_topic: str | None = None
    description: str | None = None
    specialties_most_applicable_to: tuple[str, ...] = ()
    quality_measure_ids: tuple[str, ...] = ()
    ia_measure_ids: tuple[str, ...] = ()
    cost_measure_ids: tuple[str, ...] = ()
    foundation_pi_measure_ids: tuple[str, ...] = ()
    foundation_quality_measure_ids: tuple[str, ...] = ()
    administrative_claims_measure_ids: tuple[str, ...] = ()
    has_cahps: bool | None = None
    has_outcome_admin_claims: bool | None = None

    @field_validator(
        "specialties_most_applicable_to",
        "quality_measure_ids",
        "ia_measure_ids",
        "cost_measure_ids",
        "foundation_pi_measure_ids",
        "foundation_quality_measure_ids",
        "administrative_claims_measure_ids",
        mode="before",
    )
    @classmethod
    def _null_lists(cls, value: Any) -> Any:
        return _tuple_or_empty(value)
