"""The eligibility vocabulary: levels, statuses, criteria, special statuses and per-segment facts.

Everything here is a frozen value. Numbers that depend on the performance year are never written
here: they come from the year's :class:`~openqpp.policy.Policy` through
:class:`~openqpp.core.eligibility.rules.Rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from openqpp.policy.model import Comparison, Threshold

# ---------------------------------------------------------------- enums


class Level(StrEnum):
    """The entity a determination is for (the `level` column of `entity_volumes`)."""

    INDIVIDUAL = "individual"
    """A clinician at a practice: TIN/NPI."""
    GROUP = "group"
    """A practice: TIN."""
    APM_ENTITY = "apm_entity"
    VIRTUAL_GROUP = "virtual_group"

    @property
    def unit(self) -> str:
        """How texts name an entity of this level."""
        return _LEVEL_UNITS[self]


_LEVEL_UNITS: Final = {
    Level.INDIVIDUAL: "TIN/NPI",
    Level.GROUP: "TIN",
    Level.APM_ENTITY: "APM entity",
    Level.VIRTUAL_GROUP: "virtual group",
}


class Status(StrEnum):
    """An entity's MIPS status; ordered exempt < opt-in eligible < eligible (see :attr:`rank`)."""

    ELIGIBLE = "eligible"
    OPT_IN_ELIGIBLE = "opt_in_eligible"
    EXEMPT = "exempt"

    @property
    def display(self) -> str:
        """The status as the QPP pages show it ("MIPS EXEMPT · Opt-in eligible")."""
        return _STATUS_DISPLAY[self]

    @property
    def label(self) -> str:
        """The status inside a sentence ("opt-in eligible")."""
        return _STATUS_LABEL[self]

    @property
    def rank(self) -> int:
        """0 exempt, 1 opt-in eligible, 2 eligible: the lower rank is the lower status."""
        return _STATUS_RANK[self]


_STATUS_DISPLAY: Final = {
    Status.ELIGIBLE: "MIPS ELIGIBLE",
    Status.OPT_IN_ELIGIBLE: "MIPS EXEMPT · Opt-in eligible",
    Status.EXEMPT: "MIPS EXEMPT",
}
_STATUS_LABEL: Final = {
    Status.ELIGIBLE: "MIPS eligible",
    Status.OPT_IN_ELIGIBLE: "opt-in eligible",
    Status.EXEMPT: "exempt",
}
_STATUS_RANK: Final = {Status.EXEMPT: 0, Status.OPT_IN_ELIGIBLE: 1, Status.ELIGIBLE: 2}


class Criterion(StrEnum):
    """One criterion of the low-volume threshold."""

    ALLOWED_CHARGES = "allowed_charges"
    BENEFICIARIES = "beneficiaries"
    COVERED_SERVICES = "covered_services"

    @property
    def noun(self) -> str:
        """What the guides call the counted thing ("Medicare patients")."""
        return _CRITERION_NOUNS[self]

    @property
    def is_money(self) -> bool:
        return self is Criterion.ALLOWED_CHARGES

    def check(self, value: Decimal | int, threshold: Threshold, segment: int) -> CriterionCheck:
        """Compare ``value`` with the policy ``threshold`` the way its file says (the LVT
        criteria say ``greater_than``: exactly the threshold does not exceed it)."""
        comparison = threshold.comparison
        exceeded = comparison.holds(Decimal(value), threshold.value)
        return CriterionCheck(self, segment, value, threshold.value, comparison, exceeded)


_CRITERION_NOUNS: Final = {
    Criterion.ALLOWED_CHARGES: "allowed charges",
    Criterion.BENEFICIARIES: "Medicare patients",
    Criterion.COVERED_SERVICES: "covered services",
}
CRITERION_TEXT_ORDER: Final = (
    Criterion.BENEFICIARIES,
    Criterion.ALLOWED_CHARGES,
    Criterion.COVERED_SERVICES,
)
"""The order the QPP eligibility summary lists the criteria in (patients, charges, services)."""


class SpecialStatus(StrEnum):
    """Special statuses, in the order the QPP pages list them."""

    SMALL_PRACTICE = "small_practice"
    RURAL = "rural"
    HPSA = "hpsa"
    NON_PATIENT_FACING = "non_patient_facing"
    HOSPITAL_BASED = "hospital_based"
    FACILITY_BASED = "facility_based"
    ASC_BASED = "asc_based"

    @property
    def display(self) -> str:
        return _SPECIAL_STATUS_DISPLAY[self]

    @property
    def reason_code(self) -> str:
        return "SPECIAL_STATUS_" + self.name


_SPECIAL_STATUS_DISPLAY: Final = {
    SpecialStatus.SMALL_PRACTICE: "Small practice",
    SpecialStatus.RURAL: "Rural",
    SpecialStatus.HPSA: "HPSA",
    SpecialStatus.NON_PATIENT_FACING: "Non-patient facing",
    SpecialStatus.HOSPITAL_BASED: "Hospital-based",
    SpecialStatus.FACILITY_BASED: "Facility-based",
    SpecialStatus.ASC_BASED: "ASC-based",
}


class QpStatus(StrEnum):
    """A clinician's Qualifying APM Participant status (the `qp_status` input table)."""

    QP = "Y"
    PARTIAL_QP = "P"
    NOT_QP = "N"


# ---------------------------------------------------------------- reason codes


class ReasonCode:
    """Stable reason codes. Special statuses use ``SpecialStatus.reason_code``
    (``SPECIAL_STATUS_SMALL_PRACTICE`` ...) and the new-entity rule ``NEW_ENTITY_SEGMENT_<n>``."""

    LVT_EXCEEDS_ALL: Final = "LVT_EXCEEDS_ALL"
    LVT_EXCEEDS_SOME: Final = "LVT_EXCEEDS_SOME"
    LVT_EXCEEDS_NONE: Final = "LVT_EXCEEDS_NONE"
    SEGMENTS_COMBINED: Final = "SEGMENTS_COMBINED"
    NEW_ENTITY_SEGMENT_PREFIX: Final = "NEW_ENTITY_SEGMENT_"
    CLINICIAN_NOT_ENROLLED: Final = "CLINICIAN_NOT_ENROLLED"
    CLINICIAN_TYPE_NOT_ELIGIBLE: Final = "CLINICIAN_TYPE_NOT_ELIGIBLE"
    NEWLY_ENROLLED: Final = "NEWLY_ENROLLED"
    QUALIFYING_APM_PARTICIPANT: Final = "QUALIFYING_APM_PARTICIPANT"
    PARTIAL_QP: Final = "PARTIAL_QP"
    NO_ELIGIBLE_CLINICIAN: Final = "NO_ELIGIBLE_CLINICIAN"
    OPT_IN_NOT_AVAILABLE: Final = "OPT_IN_NOT_AVAILABLE"
    APM_LVT_NOT_EVALUATED: Final = "APM_LVT_NOT_EVALUATED"
    APM_PARTICIPANT_ELIGIBLE: Final = "APM_PARTICIPANT_ELIGIBLE"
    APM_NO_PARTICIPANT_ELIGIBLE: Final = "APM_NO_PARTICIPANT_ELIGIBLE"

    @staticmethod
    def new_entity(segment: int) -> str:
        return f"{ReasonCode.NEW_ENTITY_SEGMENT_PREFIX}{segment}"


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class SegmentVolume:
    """One entity's claims in one determination period segment: the per-segment fields of the
    `entity_volumes` aggregate (docs/batch-contract.md)."""

    segment: int
    allowed_charges: Decimal
    beneficiaries: int
    covered_services: int
    patient_facing_encounters: int
    lines: int
    hospital_lines: int
    asc_lines: int
    facility_lines: int
    clinicians: int

    @property
    def has_volume(self) -> bool:
        """Whether the entity billed anything in the segment."""
        return self.lines > 0 or self.covered_services > 0

    @classmethod
    def empty(cls, segment: int) -> SegmentVolume:
        """No claims at all in ``segment``."""
        return cls(segment, Decimal(0), 0, 0, 0, 0, 0, 0, 0, 0)

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> SegmentVolume:
        """From one `entity_volumes` row (extra columns are ignored)."""

        def count(name: str) -> int:
            return int(str(row[name]))

        return cls(
            segment=count("segment"),
            allowed_charges=Decimal(str(row["allowed_charges"])),
            beneficiaries=count("beneficiaries"),
            covered_services=count("covered_services"),
            patient_facing_encounters=count("patient_facing_encounters"),
            lines=count("lines"),
            hospital_lines=count("hospital_lines"),
            asc_lines=count("asc_lines"),
            facility_lines=count("facility_lines"),
            clinicians=count("clinicians"),
        )


@dataclass(frozen=True, slots=True)
class ClinicianFacts:
    """What the enrolment, QP and practice-location inputs say about one clinician at one TIN.

    ``rural`` / ``hpsa``: at least one practice location of this clinician at this TIN (or of the
    whole TIN) is in a rural ZIP code / a Health Professional Shortage Area.
    """

    npi: str
    clinician_type: str
    first_enrolled: dt.date
    qp_status: str = QpStatus.NOT_QP
    rural: bool = False
    hpsa: bool = False


# ---------------------------------------------------------------- outcomes of the LVT


@dataclass(frozen=True, slots=True)
class CriterionCheck:
    """One criterion compared in one segment."""

    criterion: Criterion
    segment: int
    value: Decimal | int
    threshold: Decimal
    comparison: Comparison
    exceeded: bool

    def describe(self) -> str:
        """``150 Medicare patients (needs more than 200)``."""
        money = self.criterion.is_money
        value = format_money(self.value) if money else format_count(self.value)
        threshold = format_money(self.threshold) if money else format_count(self.threshold)
        return f"{value} {self.criterion.noun} (needs {phrase(self.comparison)} {threshold})"


@dataclass(frozen=True, slots=True)
class LowVolumeResult:
    """The low-volume threshold in one segment: every check, and the status the LVT alone gives
    (all criteria exceeded: eligible; some: opt-in eligible; none: exempt)."""

    segment: int
    checks: tuple[CriterionCheck, ...]
    exceeded: tuple[Criterion, ...]
    status: Status

    @classmethod
    def from_checks(cls, checks: tuple[CriterionCheck, ...], *, segment: int) -> LowVolumeResult:
        exceeded = tuple(c.criterion for c in checks if c.exceeded)
        if len(exceeded) == len(checks):
            status = Status.ELIGIBLE
        elif exceeded:
            status = Status.OPT_IN_ELIGIBLE
        else:
            status = Status.EXEMPT
        return cls(segment, checks, exceeded, status)

    @property
    def exceeds_all(self) -> bool:
        return self.status is Status.ELIGIBLE

    @property
    def code(self) -> str:
        if self.status is Status.ELIGIBLE:
            return ReasonCode.LVT_EXCEEDS_ALL
        if self.status is Status.OPT_IN_ELIGIBLE:
            return ReasonCode.LVT_EXCEEDS_SOME
        return ReasonCode.LVT_EXCEEDS_NONE

    def check(self, criterion: Criterion) -> CriterionCheck | None:
        return next((c for c in self.checks if c.criterion is criterion), None)


# ---------------------------------------------------------------- formatting


_PHRASES: Final = {
    Comparison.GREATER_THAN: "more than",
    Comparison.GREATER_THAN_OR_EQUAL: "at least",
    Comparison.LESS_THAN: "fewer than",
    Comparison.LESS_THAN_OR_EQUAL: "at most",
}


def phrase(comparison: Comparison) -> str:
    """``greater_than`` -> ``more than``: the comparison inside a sentence."""
    return _PHRASES[comparison]


def format_money(value: Decimal | int) -> str:
    """``$90,300``; cents only when there are some (``$90,000.01``)."""
    amount = Decimal(value)
    if amount == amount.to_integral_value():
        return f"${amount:,.0f}"
    return f"${amount:,.2f}"


def format_count(value: Decimal | int) -> str:
    amount = Decimal(value)
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount.normalize():,f}"


def format_share(share: Decimal) -> str:
    """A share 0-1 as a percentage: ``0.75`` -> ``75%``, ``2/3`` -> ``66.7%``."""
    percent = (share * 100).quantize(Decimal("0.1"))
    if percent == percent.to_integral_value():
        return f"{percent:.0f}%"
    return f"{percent}%"
