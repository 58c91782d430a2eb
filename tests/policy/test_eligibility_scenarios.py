"""Runs every eligibility scenario case in ``tests/policy/eligibility/*.yaml``.

A case::

    - name: what the rule says, and where the example comes from
      performance_year: 2019
      level: individual | group | apm_entity | virtual_group
      input:
        # the entity's volume, the same in every segment ...
        beneficiaries: 150
        allowed_charges: 90300
        covered_services: 234
        # ... or per segment (a segment left out: no claims in it)
        segments: {1: {beneficiaries: 250, ...}, 2: {...}}
        run_segments: [1]            # optional: the segments the run covers (default: all)
        clinician: {type: physician, first_enrolled: 2010-01-01, qp_status: N, rural: false}
        clinician: null              # individual: no enrolment record
        tin_clinicians: 20           # individual: NPIs billing under the TIN (default 20)
        facility_vbp_scored: true    # individual: attributed to a scored hospital
        members:                     # group, virtual group, APM entity participants
          - {count: 3, type: physician, patient_facing_encounters: 50, segments: [1, 2]}
      output:
        status: opt_in_eligible
        exceeded: [allowed_charges, covered_services]   # exactly these (any order)
        reasons: [LVT_EXCEEDS_SOME]                     # at least these codes
        not_reasons: [SEGMENTS_COMBINED]                # none of these codes
        special_statuses: [small_practice, rural]       # exactly these ...
        special_statuses: {small_practice: 1}           # ... or these, with the segment giving each
        texts: ["$90,300 allowed charges"]              # each found in some reason text
        low_volume_evaluated: false
        decisive_segment: 2
        unverified: true

Volume fields default as follows: ``patient_facing_encounters`` and ``lines`` to
``covered_services``; ``hospital_lines``, ``asc_lines``, ``facility_lines`` to 0; ``clinicians``
to 1 (individual) or the number of members. A member bills 50 patients, $20,000 and 150 covered
services (150 patient-facing) in each segment listed in its ``segments`` (default: every segment
the entity billed in) unless it says otherwise; it is a physician enrolled 2010-01-01, not a QP.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from openqpp.core.eligibility import (
    ClinicianFacts,
    EligibilityResult,
    Level,
    SegmentVolume,
    determine_apm_entity,
    determine_group,
    determine_individual,
    determine_virtual_group,
)
from openqpp.policy import Policy, load_policy

CASES_DIR = Path(__file__).parent / "eligibility"
TIN = "123456789"
VOLUME_KEYS = {
    "beneficiaries",
    "allowed_charges",
    "covered_services",
    "patient_facing_encounters",
    "lines",
    "hospital_lines",
    "asc_lines",
    "facility_lines",
    "clinicians",
}
MEMBER_DEFAULTS: Mapping[str, Any] = {
    "beneficiaries": 50,
    "allowed_charges": 20000,
    "covered_services": 150,
}


def _load_cases() -> list[Any]:
    cases: list[Any] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


CASES = _load_cases()


def _volume(segment: int, spec: Mapping[str, Any], *, clinicians: int) -> SegmentVolume:
    unknown = set(spec) - VOLUME_KEYS
    assert not unknown, f"unknown volume field(s) {unknown}"
    covered = int(spec.get("covered_services", 0))
    return SegmentVolume(
        segment=segment,
        allowed_charges=Decimal(str(spec.get("allowed_charges", 0))),
        beneficiaries=int(spec.get("beneficiaries", 0)),
        covered_services=covered,
        patient_facing_encounters=int(spec.get("patient_facing_encounters", covered)),
        lines=int(spec.get("lines", covered)),
        hospital_lines=int(spec.get("hospital_lines", 0)),
        asc_lines=int(spec.get("asc_lines", 0)),
        facility_lines=int(spec.get("facility_lines", 0)),
        clinicians=int(spec.get("clinicians", clinicians)),
    )


def _volumes(
    spec: Mapping[str, Any], segments: Sequence[int], *, clinicians: int
) -> dict[int, SegmentVolume]:
    if "segments" in spec:
        per_segment = spec["segments"]
        if isinstance(per_segment, list):  # only the segments billed in, default volume
            flat = {k: v for k, v in spec.items() if k in VOLUME_KEYS}
            return {s: _volume(s, flat, clinicians=clinicians) for s in per_segment}
        return {
            int(s): _volume(int(s), v or {}, clinicians=clinicians) for s, v in per_segment.items()
        }
    flat = {k: v for k, v in spec.items() if k in VOLUME_KEYS}
    return {s: _volume(s, flat, clinicians=clinicians) for s in segments}


def _date(raw: object) -> dt.date:
    return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))


def _clinician(npi: str, spec: Mapping[str, Any] | None) -> ClinicianFacts:
    spec = spec or {}
    return ClinicianFacts(
        npi=npi,
        clinician_type=str(spec.get("type", "physician")),
        first_enrolled=_date(spec.get("first_enrolled", "2010-01-01")),
        qp_status=str(spec.get("qp_status", "N")),
        rural=bool(spec.get("rural", False)),
        hpsa=bool(spec.get("hpsa", False)),
    )


def _members(
    policy: Policy,
    specs: Sequence[Mapping[str, Any]],
    entity_segments: Sequence[int],
    group_clinicians: Mapping[int, int],
) -> list[EligibilityResult]:
    results: list[EligibilityResult] = []
    number = 0
    for spec in specs:
        volume_spec = {**MEMBER_DEFAULTS, **{k: v for k, v in spec.items() if k in VOLUME_KEYS}}
        if "segments" in spec:
            volume_spec["segments"] = spec["segments"]
        for _ in range(int(spec.get("count", 1))):
            number += 1
            npi = f"{number:010d}"
            results.append(
                determine_individual(
                    policy=policy,
                    tin=TIN,
                    npi=npi,
                    volumes=_volumes(volume_spec, entity_segments, clinicians=1),
                    clinician=None if spec.get("not_enrolled") else _clinician(npi, spec),
                    tin_clinicians=group_clinicians,
                )
            )
    return results


def determine(case: Mapping[str, Any]) -> EligibilityResult:
    policy = load_policy(int(case["performance_year"]))
    level = Level(case.get("level") or case["input"]["level"])
    spec: Mapping[str, Any] = case.get("input") or {}
    all_segments = [s.number for s in policy.eligibility.determination_period.segments]
    run_segments = spec.get("run_segments")
    if level is Level.INDIVIDUAL:
        volumes = _volumes(spec, all_segments, clinicians=1)
        clinician_spec = spec.get("clinician", {})
        return determine_individual(
            policy=policy,
            tin=TIN,
            npi="1234567893",
            volumes=volumes,
            clinician=None if clinician_spec is None else _clinician("1234567893", clinician_spec),
            tin_clinicians=int(spec.get("tin_clinicians", 20)),
            segments=run_segments,
            facility_vbp_scored=spec.get("facility_vbp_scored"),
        )
    member_specs = spec.get("members") or spec.get("participants") or [{}]
    members_count = sum(int(m.get("count", 1)) for m in member_specs)
    volumes = _volumes(spec, all_segments, clinicians=members_count)
    billed = [s for s, v in volumes.items() if v.has_volume] or all_segments
    members = _members(policy, member_specs, billed, {s: v.clinicians for s, v in volumes.items()})
    if level is Level.GROUP:
        return determine_group(
            policy=policy,
            tin=TIN,
            volumes=volumes,
            individual_results=members,
            segments=run_segments,
        )
    if level is Level.VIRTUAL_GROUP:
        return determine_virtual_group(
            policy=policy,
            virtual_group_id="VG-1",
            volumes=volumes,
            individual_results=members,
            segments=run_segments,
        )
    return determine_apm_entity(
        policy=policy,
        apm_entity_id="A1234",
        volumes=volumes,
        participants=members,
        segments=run_segments,
    )


@pytest.mark.parametrize("case", CASES)
def test_eligibility_scenario(case: Mapping[str, Any]) -> None:
    result = determine(case)
    expected = case["output"]
    explain = "\n  ".join(f"{r.code}: {r.text}" for r in result.reasons)
    context = f"{result.status} because\n  {explain}"
    assert result.status.value == expected["status"], context
    if "exceeded" in expected:
        assert sorted(c.value for c in result.exceeded) == sorted(expected["exceeded"]), context
    codes = set(result.reason_codes)
    for code in expected.get("reasons", []):
        assert code in codes, f"reason {code} missing; {context}"
    for code in expected.get("not_reasons", []):
        assert code not in codes, f"reason {code} unexpected; {context}"
    if "special_statuses" in expected:
        wanted = expected["special_statuses"]
        if isinstance(wanted, Mapping):
            got: object = {g.status.value: g.segment for g in result.special_statuses}
            wanted = {str(k): int(v) for k, v in wanted.items()}
        else:
            got = sorted(g.status.value for g in result.special_statuses)
            wanted = sorted(wanted)
        assert got == wanted, context
    texts = [r.text for r in result.reasons]
    for fragment in expected.get("texts", []):
        assert any(fragment in t for t in texts), f"{fragment!r} not in {texts}"
    if "low_volume_evaluated" in expected:
        assert result.low_volume_evaluated is expected["low_volume_evaluated"]
    if "unverified" in expected:
        assert result.unverified is expected["unverified"], result.unverified_parameters
    if "decisive_segment" in expected:
        assert result.decisive_segment == expected["decisive_segment"], context
    assert result.policy_year == case["performance_year"]


def test_every_case_has_a_unique_name_and_the_required_keys() -> None:
    names = [p.values[0]["name"] for p in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    assert len(names) > 0
    for param in CASES:
        case = param.values[0]
        assert {"name", "performance_year", "output"} <= set(case), case
        assert "status" in case["output"], case["name"]
