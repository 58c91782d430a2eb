"""Determine one entity's eligibility: individual (TIN/NPI), group (TIN), APM entity, virtual group.

Each function is called once per entity by the service layer (about 1.5 million entities a
year), so it reads the year's rules from a :class:`Rules` resolved once per policy, builds no
text (reasons render their text when read) and copies nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from openqpp.core.eligibility.model import (
    ClinicianFacts,
    Level,
    QpStatus,
    ReasonCode,
    SegmentVolume,
    Status,
)
from openqpp.core.eligibility.reasons import Reason
from openqpp.core.eligibility.results import EligibilityResult
from openqpp.core.eligibility.rules import (
    CombinedLowVolume,
    Param,
    Rules,
    combine_segments,
    low_volume_status,
    resolve_rules,
)
from openqpp.core.eligibility.special_statuses import (
    StatusFindings,
    collective_statuses,
    individual_statuses,
)
from openqpp.policy import Policy


def _low_volume(
    rules: Rules,
    volumes: Mapping[int, SegmentVolume],
    segments: Sequence[int] | None,
    level: Level,
) -> tuple[tuple[int, ...], CombinedLowVolume]:
    covered = rules.segments if segments is None else tuple(segments)
    billed_in = tuple(s for s in covered if (v := volumes.get(s)) is not None and v.has_volume)
    results = [low_volume_status(volumes.get(s), rules.lvt, s) for s in covered]
    combined = combine_segments(
        results,
        billed_in=billed_in,
        new_entity_segment=rules.new_entity_segment,
        unit=level.unit,
    )
    return billed_in, combined


def clinician_exclusions(rules: Rules, clinician: ClinicianFacts | None, npi: str) -> list[Reason]:
    """Why a clinician is excluded whatever its volume (mips-rules §2.1, §2.6): not an eligible
    clinician type this year; first enrolled in Medicare during the performance year or later;
    a QP; a Partial QP (excluded unless an election to participate is made: shown as exempt)."""
    year = str(rules.year)
    if clinician is None:
        return [Reason(ReasonCode.CLINICIAN_NOT_ENROLLED, facts=(("npi", npi),))]
    reasons: list[Reason] = []
    if clinician.clinician_type not in rules.eligible_types:
        reasons.append(
            Reason(
                ReasonCode.CLINICIAN_TYPE_NOT_ELIGIBLE,
                facts=(("clinician_type", clinician.clinician_type), ("year", year)),
            )
        )
    if clinician.first_enrolled >= rules.year_start:
        reasons.append(
            Reason(
                ReasonCode.NEWLY_ENROLLED,
                facts=(("first_enrolled", clinician.first_enrolled.isoformat()), ("year", year)),
            )
        )
    qp = clinician.qp_status.strip().upper()
    if qp == QpStatus.QP:
        reasons.append(Reason(ReasonCode.QUALIFYING_APM_PARTICIPANT, facts=(("year", year),)))
    elif qp == QpStatus.PARTIAL_QP:
        reasons.append(Reason(ReasonCode.PARTIAL_QP, facts=(("year", year),)))
    return reasons


def _opt_in(
    rules: Rules,
    status: Status,
    level: Level,
    reasons: list[Reason],
    used: list[str],
    *,
    allowed: bool,
    params: tuple[str, ...] = (Param.OPT_IN_AVAILABLE,),
) -> Status:
    """An opt-in eligible status stays so only where policy makes opting in available."""
    if status is not Status.OPT_IN_ELIGIBLE:
        return status
    used.extend(params)
    if allowed:
        return status
    reasons.append(
        Reason(
            ReasonCode.OPT_IN_NOT_AVAILABLE,
            facts=(("unit", level.unit), ("year", str(rules.year))),
        )
    )
    return Status.EXEMPT


def _result(
    rules: Rules,
    *,
    level: Level,
    entity_key: str,
    tin: str | None,
    npi: str | None,
    status: Status,
    reasons: list[Reason],
    combined: CombinedLowVolume | None,
    billed_in: tuple[int, ...],
    findings: StatusFindings,
    used: list[str],
    clinician_excluded: bool = False,
) -> EligibilityResult:
    if combined is not None and combined.new_entity:
        used.append(Param.NEW_TIN_JUDGED_ON)
    if findings.segment_rule_mattered:
        used.append(Param.DETERMINED_IN)
    reasons.extend(findings.reasons)
    return EligibilityResult(
        level=level,
        entity_key=entity_key,
        tin=tin,
        npi=npi,
        status=status,
        reasons=tuple(reasons),
        segments=combined.judged if combined is not None else (),
        decisive_segment=combined.decisive.segment if combined is not None else None,
        exceeded=combined.decisive.exceeded if combined is not None else (),
        special_statuses=tuple(findings.grants),
        billed_in=billed_in,
        policy_year=rules.year,
        unverified_parameters=rules.unverified_used(level, used),
        low_volume_evaluated=combined is not None,
        clinician_excluded=clinician_excluded,
    )


def determine_individual(
    *,
    policy: Policy | Rules,
    tin: str,
    npi: str,
    volumes: Mapping[int, SegmentVolume],
    clinician: ClinicianFacts | None,
    tin_clinicians: Mapping[int, int] | int,
    segments: Sequence[int] | None = None,
    facility_vbp_scored: bool | None = None,
) -> EligibilityResult:
    """A clinician at a practice (TIN/NPI).

    ``volumes``: the TIN/NPI's `entity_volumes` rows by segment (a missing segment means no
    claims). ``clinician``: its enrolment, QP and location facts (None: not in the enrolment
    input). ``tin_clinicians``: NPIs billing under the TIN per segment (or one number for every
    segment), for the small-practice status. ``segments``: the segments this run covers (default
    every segment of the year; ``(1,)`` for an initial determination). ``facility_vbp_scored``:
    whether the clinician is attributed to a hospital with a Hospital VBP score (False denies
    facility-based status; None: not known, not checked).

    Status: exempt when the clinician is excluded (see :func:`clinician_exclusions`); otherwise
    the combined low-volume status (:func:`combine_segments`), opt-in eligible only where
    policy ``opt_in_available``.
    """
    rules = resolve_rules(policy)
    level = Level.INDIVIDUAL
    billed_in, combined = _low_volume(rules, volumes, segments, level)
    exclusions = clinician_exclusions(rules, clinician, npi)
    reasons = [*exclusions, *combined.reasons]
    used: list[str] = []
    if exclusions:
        status = Status.EXEMPT
    else:
        status = _opt_in(
            rules, combined.status, level, reasons, used, allowed=rules.opt_in_available
        )
    counts = (
        dict.fromkeys(billed_in, tin_clinicians)
        if isinstance(tin_clinicians, int)
        else tin_clinicians
    )
    findings = individual_statuses(
        rules,
        volumes=volumes,
        billed_in=billed_in,
        clinician=clinician,
        tin_clinicians=counts,
        facility_vbp_scored=facility_vbp_scored,
    )
    return _result(
        rules,
        level=level,
        entity_key=f"{tin}/{npi}",
        tin=tin,
        npi=npi,
        status=status,
        reasons=reasons,
        combined=combined,
        billed_in=billed_in,
        findings=findings,
        used=used,
        clinician_excluded=bool(exclusions),
    )


def _collective(
    rules: Rules,
    *,
    level: Level,
    entity_key: str,
    tin: str | None,
    volumes: Mapping[int, SegmentVolume],
    members: Sequence[EligibilityResult],
    segments: Sequence[int] | None,
    opt_in_allowed: bool,
    opt_in_params: tuple[str, ...] = (Param.OPT_IN_AVAILABLE,),
) -> EligibilityResult:
    billed_in, combined = _low_volume(rules, volumes, segments, level)
    reasons = list(combined.reasons)
    used: list[str] = [Param.CLINICIAN_TYPES]
    if all(m.clinician_excluded for m in members):
        reasons.insert(0, _no_eligible_reason(rules, level, len(members)))
        status = Status.EXEMPT
    else:
        status = _opt_in(
            rules,
            combined.status,
            level,
            reasons,
            used,
            allowed=opt_in_allowed,
            params=opt_in_params,
        )
    findings = collective_statuses(
        rules,
        level=level,
        billed_in=billed_in,
        clinician_counts={s: volumes[s].clinicians for s in billed_in},
        members=members,
    )
    return _result(
        rules,
        level=level,
        entity_key=entity_key,
        tin=tin,
        npi=None,
        status=status,
        reasons=reasons,
        combined=combined,
        billed_in=billed_in,
        findings=findings,
        used=used,
    )


def _no_eligible_reason(rules: Rules, level: Level, clinicians: int) -> Reason:
    return Reason(
        ReasonCode.NO_ELIGIBLE_CLINICIAN,
        facts=(("clinicians", str(clinicians)), ("unit", level.unit), ("year", str(rules.year))),
    )


def determine_group(
    *,
    policy: Policy | Rules,
    tin: str,
    volumes: Mapping[int, SegmentVolume],
    individual_results: Sequence[EligibilityResult],
    segments: Sequence[int] | None = None,
) -> EligibilityResult:
    """A practice (TIN), from its `entity_volumes` group rows and the individual results of the
    TIN/NPIs billing under it.

    Status: the combined low-volume status of the TIN, but exempt (reason
    NO_ELIGIBLE_CLINICIAN) when no clinician of the TIN could be MIPS eligible (an eligible type,
    enrolled before the year, not a QP or Partial QP: 2020 guide, mips-rules §2.6); opt-in
    eligible only where policy ``opt_in_available``. Special statuses: small practice from the
    TIN's clinicians billing per segment; the others from the share of its clinicians holding the
    individual status (policy ``*_group`` / ``<status>.group`` share rules).
    """
    rules = resolve_rules(policy)
    return _collective(
        rules,
        level=Level.GROUP,
        entity_key=tin,
        tin=tin,
        volumes=volumes,
        members=individual_results,
        segments=segments,
        opt_in_allowed=rules.opt_in_available,
    )


def determine_virtual_group(
    *,
    policy: Policy | Rules,
    virtual_group_id: str,
    volumes: Mapping[int, SegmentVolume],
    individual_results: Sequence[EligibilityResult],
    segments: Sequence[int] | None = None,
) -> EligibilityResult:
    """A virtual group, from its `entity_volumes` rows (its member TINs' claims together) and the
    individual results of every TIN/NPI of its member TINs; the same rules as a group (small
    practice: at most the policy number of clinicians billing across the virtual group, an
    inference from the group rule)."""
    rules = resolve_rules(policy)
    return _collective(
        rules,
        level=Level.VIRTUAL_GROUP,
        entity_key=virtual_group_id,
        tin=None,
        volumes=volumes,
        members=individual_results,
        segments=segments,
        opt_in_allowed=rules.opt_in_available,
    )


def determine_apm_entity(
    *,
    policy: Policy | Rules,
    apm_entity_id: str,
    volumes: Mapping[int, SegmentVolume],
    participants: Sequence[EligibilityResult],
    segments: Sequence[int] | None = None,
) -> EligibilityResult:
    """An APM entity, from its `entity_volumes` rows and its participants' individual results.

    Where policy ``apm.low_volume_at_apm_entity_level`` is true (PY2017-2020) the entity is
    judged like a group on its own volumes (opt-in eligible only where opting in is available and
    ``elections.apm_entity_opt_in_allowed``). Otherwise the threshold is not evaluated at this
    level (reason APM_LVT_NOT_EVALUATED) and the entity follows its participants: MIPS eligible
    when at least one participant TIN/NPI is MIPS eligible, else exempt. That rule is openqpp's
    choice, said in the reason text: it never makes an APM entity opt-in eligible, as APM
    entities can opt in only where the threshold is evaluated at their level.
    """
    rules = resolve_rules(policy)
    level = Level.APM_ENTITY
    if rules.apm_entity_lvt:
        return _collective(
            rules,
            level=level,
            entity_key=apm_entity_id,
            tin=None,
            volumes=volumes,
            members=participants,
            segments=segments,
            opt_in_allowed=rules.opt_in_available and rules.apm_entity_opt_in,
            opt_in_params=(Param.OPT_IN_AVAILABLE, Param.APM_ENTITY_OPT_IN),
        )
    covered = rules.segments if segments is None else tuple(segments)
    billed = {s for s in covered if (v := volumes.get(s)) is not None and v.has_volume}
    for participant in participants:
        billed.update(s for s in participant.billed_in if s in covered)
    billed_in = tuple(sorted(billed))
    eligible = sum(1 for p in participants if p.status is Status.ELIGIBLE)
    counts = {"eligible": str(eligible), "participants": str(len(participants))}
    reasons = [Reason(ReasonCode.APM_LVT_NOT_EVALUATED, facts=(("year", str(rules.year)),))]
    if eligible:
        status = Status.ELIGIBLE
        reasons.append(Reason(ReasonCode.APM_PARTICIPANT_ELIGIBLE, facts=tuple(counts.items())))
    else:
        status = Status.EXEMPT
        reasons.append(Reason(ReasonCode.APM_NO_PARTICIPANT_ELIGIBLE, facts=tuple(counts.items())))
    clinician_counts = {
        s: volumes[s].clinicians
        if s in volumes
        else len({p.npi for p in participants if s in p.billed_in})
        for s in billed_in
    }
    findings = collective_statuses(
        rules,
        level=level,
        billed_in=billed_in,
        clinician_counts=clinician_counts,
        members=participants,
    )
    return _result(
        rules,
        level=level,
        entity_key=apm_entity_id,
        tin=None,
        npi=None,
        status=status,
        reasons=reasons,
        combined=None,
        billed_in=billed_in,
        findings=findings,
        used=[],
    )
