"""The answer for one entity: its status, why, and the facts behind it."""

from __future__ import annotations

from dataclasses import dataclass

from openqpp.core.eligibility.model import (
    Criterion,
    Level,
    LowVolumeResult,
    SpecialStatus,
    Status,
)
from openqpp.core.eligibility.reasons import Reason


@dataclass(frozen=True, slots=True)
class SpecialStatusGrant:
    """A special status an entity holds, and the segments whose claims met its criteria."""

    status: SpecialStatus
    segments: tuple[int, ...]

    @property
    def segment(self) -> int:
        """The (first) segment that gave the status."""
        return self.segments[0]


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """One entity's eligibility for one performance year.

    ``segments``: the low-volume threshold in each segment the entity is judged on (empty where
    the threshold is not evaluated at this level). ``decisive_segment`` is the judged segment whose
    status became the entity's (the lowest status; the later segment on a tie), and ``exceeded``
    lists the criteria exceeded there. ``billed_in`` lists the segments the entity had any claims
    in. ``clinician_excluded`` (individuals only): the clinician is excluded whatever its volume
    (clinician type, newly enrolled, QP, Partial QP, no enrolment record).
    ``unverified_parameters``: the policy parameters this result used whose value for the year is
    not verified.
    """

    level: Level
    entity_key: str
    tin: str | None
    npi: str | None
    status: Status
    reasons: tuple[Reason, ...]
    segments: tuple[LowVolumeResult, ...]
    decisive_segment: int | None
    exceeded: tuple[Criterion, ...]
    special_statuses: tuple[SpecialStatusGrant, ...]
    billed_in: tuple[int, ...]
    policy_year: int
    unverified_parameters: tuple[str, ...]
    low_volume_evaluated: bool = True
    clinician_excluded: bool = False

    @property
    def unverified(self) -> bool:
        """Whether a policy value this result depends on could not be verified for the year."""
        return bool(self.unverified_parameters)

    @property
    def display(self) -> str:
        """``MIPS EXEMPT · Opt-in eligible``."""
        return self.status.display

    @property
    def exceeds_low_volume_threshold(self) -> bool | None:
        """The QPP pages' "Exceeds low volume threshold: Yes/No"; None when not evaluated."""
        if not self.low_volume_evaluated or self.decisive_segment is None:
            return None
        return all(s.exceeds_all for s in self.segments)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def has(self, status: SpecialStatus) -> bool:
        return any(g.status is status for g in self.special_statuses)

    def special_status_segments(self, status: SpecialStatus) -> tuple[int, ...]:
        """The segments in which the entity met ``status`` (empty when it does not hold it)."""
        for grant in self.special_statuses:
            if grant.status is status:
                return grant.segments
        return ()

    @property
    def special_status_display(self) -> str:
        """``Small practice, Rural``."""
        return ", ".join(g.status.display for g in self.special_statuses)

    def decisive(self) -> LowVolumeResult | None:
        return next((s for s in self.segments if s.segment == self.decisive_segment), None)
