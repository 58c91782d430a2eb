"""What scoring needs to know about the entity besides its submitted data.

The submission says what was reported; this says who reported it and what CMS knows about them:
special statuses from the determination run, PCMH and APM facts, approved exceptions, cost
measure results loaded by the operator, prior-year scores for improvement scoring, and the
complex patient bonus inputs. Services build it from the database; tests build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from openqpp.core.submissions.model import EntityType


class SpecialStatus(StrEnum):
    SMALL_PRACTICE = "small_practice"
    RURAL = "rural"
    HPSA = "hpsa"
    NON_PATIENT_FACING = "non_patient_facing"
    HOSPITAL_BASED = "hospital_based"
    FACILITY_BASED = "facility_based"
    ASC_BASED = "asc_based"


class ExceptionKind(StrEnum):
    """Approved reweighting applications (hardship, extreme and uncontrollable circumstances)."""

    PI_HARDSHIP = "pi_hardship"
    EUC = "euc"


@dataclass(frozen=True, slots=True)
class ApprovedException:
    kind: ExceptionKind
    #: Categories the approval reweights to 0% (quality, cost, ia, pi).
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CostMeasureResult:
    """One CMS-calculated cost measure result, as the operator loads it from CMS's file."""

    measure_id: str
    #: Attributed cases (episodes or patients); compared with the measure's case minimum.
    case_count: int
    case_minimum: int
    #: Achievement points CMS gave the measure (1-10), when it met the case minimum.
    points: Decimal | None


@dataclass(frozen=True, slots=True)
class PriorYearScores:
    """Last year's category scores (percent, 0-100) for improvement scoring."""

    quality_percent: Decimal | None = None
    cost_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ComplexPatientInputs:
    """The complex patient bonus inputs CMS computes (HCC risk score, dual-eligible ratio)."""

    average_hcc_risk_score: Decimal | None = None
    dual_eligible_ratio: Decimal | None = None
    #: Median risk score of all MIPS clinicians, when the year gates the bonus on it.
    median_hcc_risk_score: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReadmissionResult:
    """CMS's result for the administrative-claims all-cause readmission quality measure.

    CMS calculates the measure from claims for groups; the operator loads its result. Give the
    achievement points CMS assigned, or the risk-standardised rate to score against the year's
    ``administrativeClaims`` benchmark.
    """

    measure_id: str
    #: Attributed admissions; compared with the policy's readmission case minimum.
    case_count: int
    #: Achievement points CMS gave the measure, when known.
    points: Decimal | None = None
    #: The measure's rate (lower is better), scored against its benchmark when points are absent.
    performance_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ScoringContext:
    entity_type: EntityType
    special_statuses: frozenset[SpecialStatus] = frozenset()
    #: Clinicians billing under the TIN (group size matters for the readmission measure).
    clinician_count: int | None = None
    #: A certified patient-centred medical home (full IA credit).
    certified_pcmh: bool = False
    #: Share (0-1) of the entity's clinicians in APMs; the guide's "at least 50%" rule.
    apm_participation_share: Decimal | None = None
    approved_exceptions: tuple[ApprovedException, ...] = ()
    cost_results: tuple[CostMeasureResult, ...] = ()
    prior_year: PriorYearScores | None = None
    complex_patient: ComplexPatientInputs | None = None
    #: Categories the entity submitted data for despite an approved reweighting: the
    #: submission overrides the reweighting (the guide's confirmation), scoring the category.
    submitted_despite_reweighting: frozenset[str] = frozenset()
    #: The payment adjustment scaling factor to estimate with (an input, labelled estimate).
    scaling_factor: Decimal | None = None
    #: The readmission measure's result for groups CMS scores it for (quality scoring).
    readmission_result: ReadmissionResult | None = None

    @property
    def small_practice(self) -> bool:
        return SpecialStatus.SMALL_PRACTICE in self.special_statuses
