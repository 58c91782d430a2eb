"""Runs every election scenario case in ``tests/policy/elections/*.yaml`` through
:func:`openqpp.core.elections.check_election` with the year's real policy.

A case::

    - name: what the rule says, and where it comes from
      performance_year: 2019
      entity: group            # individual | group | apm_entity | virtual_group
      status: opt_in_eligible  # the entity's status in the run: eligible | exempt | none
      actor: practice_representative   # | registry | operator (default practice_representative)
      decision: opt_in         # | voluntary | no_decision (default opt_in)
      pathway: app             # traditional_mips (default) | app | mvp
      at: "2020-04-30T19:59:59-04:00"  # when the election is confirmed (required)
      typed: confirm           # default CONFIRM
      channel: apm_letter      # web (default; apm_letter for the operator) | api
      existing: opt_in         # an election the entity already has
      virtual_group: VG-1      # the group is listed in this virtual group's election
      output:
        allowed: true
        payment_year: 2021     # optional checks of the consequences
        payment_adjustment: true
        included_in_benchmarks: true
      # or
      output: {refused: OQ-ELECT-006, text: "can't opt in"}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from openqpp.core.elections import (
    ActorKind,
    Authority,
    Channel,
    ElectionKind,
    ElectionRefused,
    ElectionRequest,
    ElectionSource,
    Eligibility,
    Entity,
    ExistingElection,
    Pathway,
    check_election,
)
from openqpp.core.eligibility import Status
from openqpp.policy import load_policy

CASES_DIR = Path(__file__).parent / "elections"
TIN, NPI = "454599323", "1234567893"
CASE_KEYS = {
    "name", "performance_year", "entity", "status", "actor", "decision", "pathway", "at",
    "typed", "channel", "existing", "virtual_group", "output",
}  # fmt: skip


def _cases() -> list[Any]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


CASES = _cases()


def _entity(kind: str) -> Entity:
    return {
        "individual": Entity.individual(TIN, NPI),
        "group": Entity.group(TIN),
        "apm_entity": Entity.apm_entity("A1234"),
        "virtual_group": Entity.virtual_group("VG-1"),
    }[kind]


def _at(raw: object) -> dt.datetime:
    moment = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
    assert moment.tzinfo is not None, "give 'at' with a UTC offset"
    return moment


def decide(case: Mapping[str, Any]) -> Any:
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"unknown case key(s) {unknown}"
    year = int(case["performance_year"])
    policy = load_policy(year)
    actor = ActorKind(case.get("actor", "practice_representative"))
    status = case.get("status", "opt_in_eligible")
    existing = None
    if case.get("existing"):
        existing = ExistingElection(
            ElectionKind(case["existing"]),
            ElectionSource.ELECTION,
            dt.datetime(year + 1, 2, 1, 15, 0, tzinfo=dt.UTC),
            election_id=1,
        )
    channel = Channel(case.get("channel", "apm_letter" if actor is ActorKind.OPERATOR else "web"))
    return check_election(
        ElectionRequest(
            entity=_entity(case.get("entity", "group")),
            kind=ElectionKind(case.get("decision", "opt_in")),
            typed_confirmation=str(case.get("typed", "CONFIRM")),
            pathway=Pathway(case.get("pathway", "traditional_mips")),
        ),
        policy=policy,
        eligibility=Eligibility(
            status=None if status == "none" else Status(status),
            performance_year=year,
            run_number=1,
            virtual_group_id=case.get("virtual_group"),
        ),
        existing=existing,
        authority=Authority(actor, None if actor is ActorKind.OPERATOR else "staff_user"),
        now=_at(case["at"]),
        channel=channel,
    )


@pytest.mark.parametrize("case", CASES)
def test_election_scenario(case: Mapping[str, Any]) -> None:
    expected = case["output"]
    if "refused" in expected:
        with pytest.raises(ElectionRefused) as caught:
            decide(case)
        assert caught.value.code == expected["refused"], caught.value
        if "text" in expected:
            assert expected["text"] in f"{caught.value.message} {caught.value.fix}"
        return
    assert expected.get("allowed") is True, "an output is either allowed: true or refused"
    approval = decide(case)
    assert approval.performance_year == case["performance_year"]
    consequences = approval.consequences
    for key in ("payment_year", "payment_adjustment", "included_in_benchmarks"):
        if key in expected:
            assert getattr(consequences, key) == expected[key], key


def test_every_case_has_a_unique_name_and_covers_both_guide_years() -> None:
    names = [p.values[0]["name"] for p in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    years = {p.values[0]["performance_year"] for p in CASES}
    assert {2019, 2022} <= years
    for param in CASES:
        case = param.values[0]
        assert {"name", "performance_year", "at", "output"} <= set(case), case
