"""Special statuses: assigned when their criteria are met in a segment policy allows
(``special_status.determined_in``: either segment from PY2019 on, mips-rules §2.7).

Individual (TIN/NPI) tests read the clinician's own claims in the segment; group, virtual group
and APM entity tests (other than small practice) are shares of the clinicians billing in the
segment who hold the individual status, compared with the policy share rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from openqpp.core.eligibility.model import ClinicianFacts, Level, SegmentVolume, SpecialStatus
from openqpp.core.eligibility.reasons import Facts, Reason
from openqpp.core.eligibility.results import EligibilityResult, SpecialStatusGrant
from openqpp.core.eligibility.rules import Rules
from openqpp.policy.model import Comparison, PlaceOfServiceStatus, ShareRule

_SHARE_PLACES: Final = Decimal("0.0001")

Test = Callable[[int], Facts | None]
"""Whether a status is met in a segment: the facts that show it, or None."""


@dataclass(slots=True)
class StatusFindings:
    """Collects, per status, the segments that met it and the facts of the first one."""

    evaluable: tuple[int, ...]
    grants: list[SpecialStatusGrant] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    segment_rule_mattered: bool = False

    def test(self, status: SpecialStatus, met: Test) -> None:
        segments: list[int] = []
        first: Facts | None = None
        for segment in self.evaluable:
            facts = met(segment)
            if facts is not None:
                segments.append(segment)
                if first is None:
                    first = facts
        if first is None:
            return
        if len(segments) < len(self.evaluable):
            self.segment_rule_mattered = True
        if len(segments) > 1:
            first += (("also_segments", ",".join(str(s) for s in segments[1:])),)
        self.grants.append(SpecialStatusGrant(status, tuple(segments)))
        self.reasons.append(Reason(status.reason_code, segment=segments[0], facts=first))


def _evaluable(rules: Rules, billed_in: Sequence[int]) -> tuple[tuple[int, ...], bool]:
    evaluable = tuple(s for s in billed_in if s in rules.status_segments)
    return evaluable, len(evaluable) < len(billed_in)


def _share_facts(holders: int, total: int, rule: ShareRule) -> Facts:
    return (
        ("basis", "clinicians"),
        ("holders", str(holders)),
        ("total", str(total)),
        ("value", str((Decimal(holders) / total).quantize(_SHARE_PLACES))),
        ("threshold", str(rule.share)),
        ("comparison", rule.comparison.value),
    )


def _small_practice_test(rules: Rules, counts: Mapping[int, int], unit: str) -> Test:
    def met(segment: int) -> Facts | None:
        count = counts.get(segment)
        if count is None or count > rules.small_practice_max:
            return None
        return (
            ("basis", "clinicians_billing"),
            ("unit", unit),
            ("value", str(count)),
            ("threshold", str(rules.small_practice_max)),
            ("comparison", Comparison.LESS_THAN_OR_EQUAL.value),
        )

    return met


def individual_statuses(
    rules: Rules,
    *,
    volumes: Mapping[int, SegmentVolume],
    billed_in: Sequence[int],
    clinician: ClinicianFacts | None,
    tin_clinicians: Mapping[int, int],
    facility_vbp_scored: bool | None,
) -> StatusFindings:
    """A TIN/NPI's special statuses (mips-rules §2.7, individual column)."""
    evaluable, restricted = _evaluable(rules, billed_in)
    findings = StatusFindings(evaluable, segment_rule_mattered=restricted)
    if not evaluable:
        return findings
    findings.test(
        SpecialStatus.SMALL_PRACTICE,
        _small_practice_test(rules, tin_clinicians, Level.GROUP.unit),
    )
    if clinician is not None and clinician.rural:
        findings.test(SpecialStatus.RURAL, lambda _s: (("basis", "location"),))
    if clinician is not None and clinician.hpsa:
        findings.test(SpecialStatus.HPSA, lambda _s: (("basis", "location"),))

    npf = rules.npf_encounters

    def non_patient_facing(segment: int) -> Facts | None:
        encounters = volumes[segment].patient_facing_encounters
        if not npf.met_by(encounters):
            return None
        return (
            ("basis", "encounters"),
            ("value", str(encounters)),
            ("threshold", str(npf.value)),
            ("comparison", npf.comparison.value),
        )

    findings.test(SpecialStatus.NON_PATIENT_FACING, non_patient_facing)

    for status, place in rules.places:
        findings.test(status, _place_test(status, place, volumes, facility_vbp_scored))
    return findings


def _place_test(
    status: SpecialStatus,
    place: PlaceOfServiceStatus,
    volumes: Mapping[int, SegmentVolume],
    facility_vbp_scored: bool | None,
) -> Test:
    """Hospital-, facility- or ASC-based: the share of the segment's covered services billed in
    the status's places of service meets the individual rule (facility-based also needs the
    clinician attributed to a hospital with a Hospital VBP score, when that is known)."""
    rule = place.individual

    def met(segment: int) -> Facts | None:
        volume = volumes[segment]
        total = volume.covered_services
        if status is SpecialStatus.HOSPITAL_BASED:
            holders = volume.hospital_lines
        elif status is SpecialStatus.FACILITY_BASED:
            holders = volume.facility_lines
            if facility_vbp_scored is False:
                return None
        else:
            holders = volume.asc_lines
        if total <= 0 or holders <= 0:
            return None
        if not rule.comparison.holds(Decimal(holders), rule.share * total):
            return None
        facts: Facts = (
            ("basis", "services"),
            ("holders", str(holders)),
            ("total", str(total)),
            ("value", str((Decimal(holders) / total).quantize(_SHARE_PLACES))),
            ("threshold", str(rule.share)),
            ("comparison", rule.comparison.value),
            ("places_of_service", ",".join(place.places_of_service)),
        )
        if status is SpecialStatus.FACILITY_BASED and facility_vbp_scored:
            facts += (("vbp_attributed", "yes"),)
        return facts

    return met


def collective_statuses(
    rules: Rules,
    *,
    level: Level,
    billed_in: Sequence[int],
    clinician_counts: Mapping[int, int],
    members: Sequence[EligibilityResult],
) -> StatusFindings:
    """A group's, virtual group's or APM entity's special statuses: small practice from the
    number of clinicians billing; every other status from the share of ``members`` (individual
    results) billing in the segment who hold it individually (mips-rules §2.7, group column)."""
    evaluable, restricted = _evaluable(rules, billed_in)
    findings = StatusFindings(evaluable, segment_rule_mattered=restricted)
    if not evaluable:
        return findings
    findings.test(
        SpecialStatus.SMALL_PRACTICE, _small_practice_test(rules, clinician_counts, level.unit)
    )
    present: dict[int, list[EligibilityResult]] = {
        s: [m for m in members if s in m.billed_in] for s in evaluable
    }
    share_rules: tuple[tuple[SpecialStatus, ShareRule], ...] = (
        (SpecialStatus.RURAL, rules.rural_group),
        (SpecialStatus.HPSA, rules.hpsa_group),
        (SpecialStatus.NON_PATIENT_FACING, rules.npf_group),
        *((status, place.group) for status, place in rules.places),
    )
    for status, rule in share_rules:

        def share(
            segment: int, status: SpecialStatus = status, rule: ShareRule = rule
        ) -> Facts | None:
            billing = present[segment]
            total = len(billing)
            if total == 0:
                return None
            holders = sum(1 for m in billing if segment in m.special_status_segments(status))
            if holders == 0 or not rule.comparison.holds(Decimal(holders), rule.share * total):
                return None
            return _share_facts(holders, total, rule)

        findings.test(status, share)
    return findings
