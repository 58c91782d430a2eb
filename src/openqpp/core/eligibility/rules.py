"""The year's eligibility rules resolved once, the low-volume threshold per segment, and how the
segments combine.

Sources: mips-rules.md §2.2 (LVT: exceeding is the strict complement of the CFR's "less than or
equal to" exclusion; at least one but not all criteria exceeded is opt-in eligible, 42 CFR
414.1310) and §2.4 (segments: exceed in both; a TIN or TIN/NPI first seen in segment 2 is
judged on segment 2 alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from openqpp.core.eligibility.model import (
    Criterion,
    CriterionCheck,
    Level,
    LowVolumeResult,
    ReasonCode,
    SegmentVolume,
    SpecialStatus,
    Status,
)
from openqpp.core.eligibility.reasons import Reason
from openqpp.policy import Policy
from openqpp.policy.model import LowVolumeThreshold, PlaceOfServiceStatus, ShareRule, Threshold

# ---------------------------------------------------------------- policy parameter paths


class Param:
    """Dotted paths of the policy parameters the eligibility rules read."""

    ALLOWED_CHARGES: Final = "eligibility.low_volume_threshold.allowed_charges"
    BENEFICIARIES: Final = "eligibility.low_volume_threshold.beneficiaries"
    COVERED_SERVICES: Final = "eligibility.low_volume_threshold.covered_services"
    SEGMENTS: Final = "eligibility.determination_period.segments"
    NEW_TIN_JUDGED_ON: Final = "eligibility.determination_period.new_tin_judged_on"
    CLINICIAN_TYPES: Final = "eligibility.eligible_clinician_types"
    OPT_IN_AVAILABLE: Final = "eligibility.opt_in_available"
    APM_ENTITY_LVT: Final = "eligibility.apm.low_volume_at_apm_entity_level"
    APM_ENTITY_OPT_IN: Final = "elections.apm_entity_opt_in_allowed"
    SMALL_PRACTICE: Final = "eligibility.special_status.small_practice_max_clinicians"
    NPF_ENCOUNTERS: Final = "eligibility.special_status.non_patient_facing_encounters"
    NPF_GROUP: Final = "eligibility.special_status.non_patient_facing_group"
    RURAL_GROUP: Final = "eligibility.special_status.rural_group"
    HPSA_GROUP: Final = "eligibility.special_status.hpsa_group"
    HOSPITAL_BASED: Final = "eligibility.special_status.hospital_based"
    ASC_BASED: Final = "eligibility.special_status.asc_based"
    FACILITY_BASED: Final = "eligibility.special_status.facility_based"
    DETERMINED_IN: Final = "eligibility.special_status.determined_in"


_LVT_PARAMS: Final = (
    Param.ALLOWED_CHARGES,
    Param.BENEFICIARIES,
    Param.COVERED_SERVICES,
    Param.SEGMENTS,
)
_PLACE_PARAMS: Final = (Param.HOSPITAL_BASED, Param.ASC_BASED, Param.FACILITY_BASED)
_INDIVIDUAL_PARAMS: Final = (
    *_LVT_PARAMS,
    Param.CLINICIAN_TYPES,
    Param.SMALL_PRACTICE,
    Param.NPF_ENCOUNTERS,
    *_PLACE_PARAMS,
)
_COLLECTIVE_PARAMS: Final = (
    *_INDIVIDUAL_PARAMS,
    Param.NPF_GROUP,
    Param.RURAL_GROUP,
    Param.HPSA_GROUP,
)


# ---------------------------------------------------------------- resolved rules


@dataclass(frozen=True, slots=True)
class Rules:
    """One performance year's eligibility rules, resolved from its :class:`Policy` once.

    Get it with :meth:`for_policy` (memoised per policy object); every ``determine_*`` function
    accepts it (or the policy) as ``policy``.
    """

    year: int
    year_start: dt.date
    lvt: LowVolumeThreshold
    segments: tuple[int, ...]
    new_entity_segment: int
    eligible_types: frozenset[str]
    opt_in_available: bool
    apm_entity_lvt: bool
    apm_entity_opt_in: bool
    small_practice_max: int
    npf_encounters: Threshold
    npf_group: ShareRule
    rural_group: ShareRule
    hpsa_group: ShareRule
    places: tuple[tuple[SpecialStatus, PlaceOfServiceStatus], ...]
    status_segments: frozenset[int]
    """Segments a special status may be earned in (policy ``special_status.determined_in``)."""
    unverified: frozenset[str]
    base_unverified: Mapping[Level, tuple[str, ...]]

    @classmethod
    def for_policy(cls, policy: Policy) -> Rules:
        hit = _CACHE.get(id(policy))
        if hit is not None and hit[0] is policy:
            return hit[1]
        rules = cls._resolve(policy)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[id(policy)] = (policy, rules)
        return rules

    @classmethod
    def _resolve(cls, policy: Policy) -> Rules:
        e = policy.eligibility
        special = e.special_status
        segments = tuple(sorted(s.number for s in e.determination_period.segments))
        if special.determined_in == "either_segment":
            status_segments = frozenset(segments)
        else:
            status_segments = frozenset({int(special.determined_in.rsplit("_", 1)[1])})
        unverified = frozenset(policy.unverified)

        def only_unverified(paths: Iterable[str]) -> tuple[str, ...]:
            return tuple(p for p in paths if p in unverified)

        collective = only_unverified(_COLLECTIVE_PARAMS)
        return cls(
            year=policy.year,
            year_start=dt.date(policy.year, 1, 1),
            lvt=e.low_volume_threshold,
            segments=segments,
            new_entity_segment=e.determination_period.new_tin_judged_on,
            eligible_types=frozenset(e.eligible_clinician_types),
            opt_in_available=e.opt_in_available,
            apm_entity_lvt=e.apm.low_volume_at_apm_entity_level,
            apm_entity_opt_in=policy.elections.apm_entity_opt_in_allowed,
            small_practice_max=special.small_practice_max_clinicians,
            npf_encounters=special.non_patient_facing_encounters,
            npf_group=special.non_patient_facing_group,
            rural_group=special.rural_group,
            hpsa_group=special.hpsa_group,
            places=(
                (SpecialStatus.HOSPITAL_BASED, special.hospital_based),
                (SpecialStatus.FACILITY_BASED, special.facility_based),
                (SpecialStatus.ASC_BASED, special.asc_based),
            ),
            status_segments=status_segments,
            unverified=unverified,
            base_unverified={
                Level.INDIVIDUAL: only_unverified(_INDIVIDUAL_PARAMS),
                Level.GROUP: collective,
                Level.VIRTUAL_GROUP: collective,
                Level.APM_ENTITY: only_unverified((Param.APM_ENTITY_LVT, *_COLLECTIVE_PARAMS)),
            },
        )

    def unverified_used(self, level: Level, extra: Iterable[str] = ()) -> tuple[str, ...]:
        """The unverified parameters among those a result at ``level`` used."""
        base = self.base_unverified[level]
        more = tuple(p for p in extra if p in self.unverified and p not in base)
        return base + more if more else base


_CACHE: dict[int, tuple[Policy, Rules]] = {}
_CACHE_SIZE: Final = 32


def resolve_rules(policy: Policy | Rules) -> Rules:
    return policy if isinstance(policy, Rules) else Rules.for_policy(policy)


# ---------------------------------------------------------------- LVT per segment


def low_volume_status(
    volume: SegmentVolume | None, lvt: LowVolumeThreshold, segment: int | None = None
) -> LowVolumeResult:
    """The low-volume threshold in one segment. ``volume`` None: no claims in ``segment``."""
    if volume is None:
        if segment is None:
            raise ValueError("low_volume_status needs the segment when there is no volume")
        volume = SegmentVolume.empty(segment)
    seg = volume.segment if segment is None else segment
    checks: tuple[CriterionCheck, ...] = (
        Criterion.ALLOWED_CHARGES.check(volume.allowed_charges, lvt.allowed_charges, seg),
        Criterion.BENEFICIARIES.check(volume.beneficiaries, lvt.beneficiaries, seg),
    )
    if lvt.covered_services is not None:
        checks += (
            Criterion.COVERED_SERVICES.check(volume.covered_services, lvt.covered_services, seg),
        )
    return LowVolumeResult.from_checks(checks, segment=seg)


# ---------------------------------------------------------------- combining segments


@dataclass(frozen=True, slots=True)
class CombinedLowVolume:
    """The segments combined: the status, the segments judged, the decisive one, and why."""

    status: Status
    judged: tuple[LowVolumeResult, ...]
    decisive: LowVolumeResult
    new_entity: bool
    reasons: tuple[Reason, ...]


def combine_segments(
    results: Sequence[LowVolumeResult],
    *,
    billed_in: Collection[int],
    new_entity_segment: int,
    unit: str = "entity",
) -> CombinedLowVolume:
    """Combine the per-segment LVT results of one entity (one result per segment of the run).

    * An entity with claims in no segment before ``new_entity_segment`` but in that segment or
      later (a TIN or TIN/NPI first seen in segment 2) is judged on those later segments alone
      (mips-rules §2.4 [S-WIKI2023]; policy ``determination_period.new_tin_judged_on``).
    * Otherwise every segment counts, a segment without claims as zero volume.
    * The combined status is the lowest of the judged segments' statuses, ordered exempt <
      opt-in eligible < eligible. For eligible/exempt this is CMS's documented "exceed in both
      segments" rule; for opt-in eligibility it is the inference mips-rules §2.4 recommends
      (CMS wording not found), and the reason text says so.
    """
    if not results:
        raise ValueError("combine_segments needs the result of at least one segment")
    earlier = [r for r in results if r.segment < new_entity_segment]
    later = [r for r in results if r.segment >= new_entity_segment]
    new_entity = (
        bool(earlier)
        and bool(later)
        and not any(r.segment in billed_in for r in earlier)
        and any(r.segment in billed_in for r in later)
    )
    judged = tuple(later if new_entity else results)
    decisive = judged[0]
    for result in judged[1:]:
        if result.status.rank <= decisive.status.rank:
            decisive = result
    reasons: list[Reason] = []
    if new_entity:
        reasons.append(
            Reason(
                ReasonCode.new_entity(new_entity_segment),
                segment=new_entity_segment,
                facts=(("unit", unit),),
            )
        )
    reasons.extend(Reason(r.code, segment=r.segment, checks=r.checks) for r in judged)
    if len(judged) > 1:
        opt_in_involved = any(r.status is Status.OPT_IN_ELIGIBLE for r in judged)
        reasons.append(
            Reason(
                ReasonCode.SEGMENTS_COMBINED,
                segment=decisive.segment,
                facts=(
                    ("statuses", ",".join(f"{r.segment}:{r.status.value}" for r in judged)),
                    ("status", decisive.status.value),
                    ("inference", "yes" if opt_in_involved else "no"),
                ),
            )
        )
    return CombinedLowVolume(decisive.status, judged, decisive, new_entity, tuple(reasons))
