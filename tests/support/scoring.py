"""Builders for the scoring tests: real measures data, submissions, contexts, and a scorer.

Measures data roots, in search order: `$OPENQPP_MEASURES_DATA`, `<repo>/.data/qpp-measures-data`
(PY2017-2022, npm pack) and `<repo>/../shared/data/qpp-measures-data` (PY2023-2026). A missing
year fails under CI and is skipped elsewhere.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from openqpp.core.scoring.context import (
    ApprovedException,
    ComplexPatientInputs,
    CostMeasureResult,
    ExceptionKind,
    PriorYearScores,
    ScoringContext,
    SpecialStatus,
)
from openqpp.core.scoring.engine import score_submission
from openqpp.core.scoring.tree import ScoreNode, check_tree
from openqpp.core.submissions.model import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    Proportion,
    Submission,
    SubmissionMethod,
)
from openqpp.measures import (
    ENV_VAR,
    MeasuresCatalogue,
    MeasuresYear,
    MeasuresYearUnavailable,
    roots_from_path_list,
)
from openqpp.policy import Policy, load_policy
from tests.support.reference import REPO, missing

#: CEHRT IDs of the right format per edition (2015 Edition, 2015 Edition Cures Update).
CEHRT_15E = "0015E8D3A2F7C1B"
CEHRT_15C = "0015C8D3A2F7C1B"


def measures_roots() -> list[Path]:
    roots = list(roots_from_path_list(os.environ.get(ENV_VAR)))
    roots.append(REPO / ".data" / "qpp-measures-data")
    roots.append((REPO / ".." / "shared" / "data" / "qpp-measures-data").resolve())
    return roots


@cache
def _catalogue() -> MeasuresCatalogue:
    return MeasuresCatalogue(measures_roots())


def measures_year(year: int) -> MeasuresYear:
    try:
        return _catalogue().year(year)
    except MeasuresYearUnavailable as exc:
        missing(f"the measures data for {year}: {exc}")
        raise


def cehrt_for(policy: Policy) -> str:
    import re

    for candidate in (CEHRT_15C, CEHRT_15E):
        if re.fullmatch(policy.scoring.pi.cehrt_id_pattern, candidate):
            return candidate
    raise AssertionError("no sample CEHRT ID fits the year's pattern")


def value_of(raw: object) -> MeasurementValue:
    """YAML/Python shorthand: true/false, [numerator, denominator]."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return Proportion(int(raw[0]), int(raw[1]))
    raise ValueError(f"unsupported measurement shorthand {raw!r}")


def measurement_set(
    category: Category,
    year: int,
    measurements: Mapping[str, object],
    *,
    method: SubmissionMethod = SubmissionMethod.ELECTRONIC_HEALTH_RECORD,
    cehrt_id: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    program: str | None = None,
) -> MeasurementSet:
    return MeasurementSet(
        category=category,
        submission_method=method,
        measurements=tuple(Measurement(k, value_of(v)) for k, v in measurements.items()),
        performance_start=start or dt.date(year, 1, 1),
        performance_end=end or dt.date(year, 12, 31),
        cehrt_id=cehrt_id,
        program_name=program,
    )


def full_pi(policy: Policy) -> dict[str, object]:
    """Every required attestation yes and every required measure fully met (the year's ids)."""
    values: dict[str, object] = {a: True for a in policy.scoring.pi.required_attestations}
    measures = measures_year(policy.year)
    for measure_id, rule in policy.scoring.pi.measures.items():
        if not rule.required or rule.bonus:
            continue
        record = measures.pi(measure_id)
        if record is None:
            continue
        if record.substitutes and measure_id in ("PI_HIE_5", "PI_HIE_6"):
            continue  # the send/receive pair is reported instead of its alternatives
        values[measure_id] = [10, 10] if record.metric_type == "proportion" else True
    if policy.scoring.pi.public_health.registries_required:
        values["PI_PHCDRR_1"] = True
        values["PI_PHCDRR_2"] = True
    return values


def context(
    entity_type: EntityType = EntityType.GROUP,
    *,
    statuses: Iterable[str] = (),
    pcmh: bool = False,
    apm_share: Decimal | None = None,
    exceptions: Iterable[tuple[str, Iterable[str]]] = (),
    cost: Iterable[tuple[str, int, int, Decimal | None]] = (),
    prior_cost: Decimal | None = None,
    complex_patient: tuple[Decimal | None, Decimal | None, Decimal | None] | None = None,
    overrides: Iterable[str] = (),
    scaling_factor: Decimal | None = None,
) -> ScoringContext:
    return ScoringContext(
        entity_type=entity_type,
        special_statuses=frozenset(SpecialStatus(s) for s in statuses),
        certified_pcmh=pcmh,
        apm_participation_share=apm_share,
        approved_exceptions=tuple(
            ApprovedException(ExceptionKind(kind), tuple(cats)) for kind, cats in exceptions
        ),
        cost_results=tuple(CostMeasureResult(m, n, mn, p) for m, n, mn, p in cost),
        prior_year=PriorYearScores(cost_percent=prior_cost) if prior_cost is not None else None,
        complex_patient=ComplexPatientInputs(*complex_patient) if complex_patient else None,
        submitted_despite_reweighting=frozenset(overrides),
        scaling_factor=scaling_factor,
    )


def submission(
    year: int, *sets: MeasurementSet, entity: EntityType = EntityType.GROUP
) -> Submission:
    return Submission(
        performance_year=year,
        entity_type=entity,
        tin="000123456",
        npi="1234567893" if entity is EntityType.INDIVIDUAL else None,
        measurement_sets=sets,
    )


def score(
    year: int, *sets: MeasurementSet, ctx: ScoringContext | None = None, **kw: Any
) -> ScoreNode:
    """Score `sets` with the year's real policy and measures; the tree must check."""
    policy = load_policy(year)
    tree = score_submission(
        submission(year, *sets),
        policy=policy,
        measures=measures_year(year),
        context=ctx or context(**kw),
    )
    assert check_tree(tree) == (), check_tree(tree)
    return tree


def find(tree: ScoreNode, name: str) -> ScoreNode:
    node = next((n for n in tree.walk() if n.name == name), None)
    assert node is not None, f"no node {name} in {[n.name for n in tree.walk()]}"
    return node
