"""The typed, frozen shape of one performance year's policy.

Every field here is filled from a parameter file under ``parameters/`` whose path mirrors the
attribute path (``Policy.eligibility.low_volume_threshold.allowed_charges`` comes from
``parameters/eligibility/low_volume_threshold/allowed_charges.yaml``). A parameter file with a
``comparison`` key resolves to a :class:`Threshold`. Unknown or missing parameters are errors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Comparison(StrEnum):
    GREATER_THAN = "greater_than"
    GREATER_THAN_OR_EQUAL = "greater_than_or_equal"
    LESS_THAN = "less_than"
    LESS_THAN_OR_EQUAL = "less_than_or_equal"

    @property
    def symbol(self) -> str:
        return {
            "greater_than": ">",
            "greater_than_or_equal": ">=",
            "less_than": "<",
            "less_than_or_equal": "<=",
        }[self.value]

    def holds(self, value: Decimal, threshold: Decimal) -> bool:
        if self is Comparison.GREATER_THAN:
            return value > threshold
        if self is Comparison.GREATER_THAN_OR_EQUAL:
            return value >= threshold
        if self is Comparison.LESS_THAN:
            return value < threshold
        return value <= threshold


class Threshold(_Frozen):
    """A number and how a value is compared with it (from the file's ``comparison``)."""

    value: Decimal
    comparison: Comparison

    def met_by(self, value: Decimal | int) -> bool:
        return self.comparison.holds(Decimal(value), self.value)

    def describe(self) -> str:
        return f"{self.comparison.symbol} {self.value}"


# ---------------------------------------------------------------- eligibility


class LowVolumeThreshold(_Frozen):
    allowed_charges: Threshold
    beneficiaries: Threshold
    covered_services: Threshold | None
    """None in years where covered professional services were not a criterion (before 2019)."""


class Segment(_Frozen):
    number: int
    start: dt.date
    end: dt.date
    claims_run_out_days: int


class DeterminationPeriod(_Frozen):
    segments: tuple[Segment, ...]
    new_tin_judged_on: int
    """The segment a TIN or TIN/NPI first seen in segment 2 is judged on alone."""


class ShareRule(_Frozen):
    """A share of services or clinicians and how it is compared."""

    share: Decimal
    comparison: Comparison

    def met_by(self, value: Decimal) -> bool:
        return self.comparison.holds(value, self.share)


class PlaceOfServiceStatus(_Frozen):
    """Hospital-based, ASC-based, facility-based: a share of services in certain places."""

    places_of_service: tuple[str, ...]
    individual: ShareRule
    group: ShareRule
    """Share of the group's clinicians who must hold the individual status."""


class SpecialStatus(_Frozen):
    small_practice_max_clinicians: int
    non_patient_facing_encounters: Threshold
    non_patient_facing_group: ShareRule
    rural_group: ShareRule
    hpsa_group: ShareRule
    hospital_based: PlaceOfServiceStatus
    asc_based: PlaceOfServiceStatus
    facility_based: PlaceOfServiceStatus
    determined_in: Literal["either_segment", "segment_1", "segment_2"]


class Apm(_Frozen):
    low_volume_at_apm_entity_level: bool


class Eligibility(_Frozen):
    low_volume_threshold: LowVolumeThreshold
    determination_period: DeterminationPeriod
    eligible_clinician_types: tuple[str, ...]
    special_status: SpecialStatus
    apm: Apm
    opt_in_available: bool


# ---------------------------------------------------------------- elections


class ElectionWindow(_Frozen):
    timezone: str
    opens: dt.datetime
    """Naive local time in ``timezone``."""
    closes: dt.datetime
    """Naive local time in ``timezone``, as the guides first published it."""
    extended_closes: dt.datetime | None = None
    """A later close CMS announced (e.g. the COVID-19 extension of the 2019 window)."""

    @model_validator(mode="after")
    def _ordered(self) -> ElectionWindow:
        if not self.opens < self.closes:
            raise ValueError("election window opens must be before closes")
        if self.extended_closes is not None and not self.closes < self.extended_closes:
            raise ValueError("extended_closes must be after closes")
        return self

    @property
    def effective_closes(self) -> dt.datetime:
        return self.extended_closes or self.closes


class Elections(_Frozen):
    window: ElectionWindow
    app_available: bool
    """Whether the APM Performance Pathway exists in the year (from PY2021)."""
    apm_entity_opt_in_allowed: bool
    app_voluntary_allowed: bool
    mvp_available_to_opt_in_eligible: bool
    virtual_group_election_is_opt_in: bool


# ---------------------------------------------------------------- scoring


class CategoryWeights(_Frozen):
    quality: Decimal
    cost: Decimal
    ia: Decimal
    pi: Decimal

    @model_validator(mode="after")
    def _sum_to_100(self) -> CategoryWeights:
        total = self.quality + self.cost + self.ia + self.pi
        if total != 100:
            raise ValueError(f"category weights sum to {total}, not 100")
        return self


Category = Literal["quality", "cost", "ia", "pi"]


class Redistribution(_Frozen):
    """One row of the year's reweighting table: which categories are not scored -> weights."""

    not_scored: tuple[Category, ...]
    small_practice: bool | None = None
    """None: the row applies to every practice size."""
    weights: CategoryWeights
    status: Literal["verified", "unverified"] = "verified"


class HighPriorityBonus(_Frozen):
    outcome_points: int
    other_points: int
    cap_share: Decimal


class EndToEndBonus(_Frozen):
    points: int
    cap_share: Decimal


class NewMeasurePoints(_Frozen):
    first_year: int
    second_year: int


class Readmission(_Frozen):
    measure_id: str
    points: int
    min_group_clinicians: int
    case_minimum: int


class Quality(_Frozen):
    data_completeness: Decimal
    case_minimum: int
    measures_required: int
    max_points_per_measure: int
    topped_out_cap_points: int
    benchmark_basis: Literal["deciles", "percentiles"]
    benchmarked_floor_points: Decimal
    benchmarked_floor_points_small_practice: Decimal
    no_benchmark_points: Decimal
    no_benchmark_points_small_practice: Decimal
    data_completeness_fail_points: Decimal
    data_completeness_fail_points_small_practice: Decimal
    new_measure_points: NewMeasurePoints | None
    high_priority_bonus: HighPriorityBonus | None
    end_to_end_bonus: EndToEndBonus | None
    small_practice_bonus_points: Decimal
    readmission: Readmission | None
    improvement_max_percent: Decimal
    improvement_prior_floor_percent: Decimal
    """A prior-year achievement percent at or below this is compared as this value."""
    eligible_measure_applicability_methods: tuple[str, ...]
    """Collection types for which too few measures may reduce the denominator (EMA)."""


class PiMeasure(_Frozen):
    points: int
    required: bool = True
    bonus: bool = False


class PiPublicHealth(_Frozen):
    """How the Public Health and Clinical Data Exchange objective earns its points."""

    registries_required: int | None
    """Registries answered yes that complete the objective; None: the required measures do."""
    bonus_registries_max: int | None
    """How many optional registries earn their bonus; None: no limit."""


class Pi(_Frozen):
    performance_period_days: int
    cap: int
    required_attestations: tuple[str, ...]
    any_answer_attestations: tuple[str, ...]
    """Required attestations a "no" answer also completes (SAFER Guides 2022-2023)."""
    measures: dict[str, PiMeasure]
    cehrt_id_pattern: str
    exclusion_redistribution: dict[str, tuple[str, ...]]
    """Excluded measure (or objective) -> the measures that receive its points, equally."""
    public_health: PiPublicHealth
    reweighted_special_statuses: tuple[str, ...]
    """Special statuses that reweight PI to 0% automatically (a PI submission overrides)."""


class Ia(_Frozen):
    performance_period_days: int
    cap: int
    medium_points: int | None
    high_points: int | None
    unweighted_points: int | None
    """Points per activity in years without medium/high weights."""
    special_status_multiplier: int
    group_attestation_share: Decimal | None
    pcmh_full_credit: bool
    apm_minimum_share: Decimal


class Cost(_Frozen):
    improvement_max_percent: Decimal
    case_minimums: dict[str, int]
    """Case minimum by cost measure ID, ``default`` for the rest (when CMS's file omits it)."""

    def case_minimum(self, measure_id: str) -> int:
        """The case minimum of ``measure_id`` (the ``default`` entry when it is not listed)."""
        wanted = measure_id.strip().upper()
        for key, value in self.case_minimums.items():
            if key.upper() == wanted:
                return value
        return self.case_minimums["default"]


class PaymentAdjustment(_Frozen):
    performance_threshold: Decimal
    exceptional_performance_threshold: Decimal | None
    max_adjustment_percent: Decimal
    max_scaling_factor: Decimal


class Scoring(_Frozen):
    category_weights: CategoryWeights
    redistribution: tuple[Redistribution, ...]
    final_score_cap: Decimal
    complex_patient_bonus_max: Decimal
    complex_patient_bonus_median_gate: bool
    """The bonus only for complexity at or above the national median (2022 on)."""
    payment_adjustment: PaymentAdjustment
    quality: Quality
    pi: Pi
    ia: Ia
    cost: Cost


class PolicyValues(_Frozen):
    """All of one year's values, typed."""

    eligibility: Eligibility
    elections: Elections
    scoring: Scoring
