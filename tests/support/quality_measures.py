"""Builders for quality scoring tests: a small in-memory measures year, measurement sets and the
scoring context, from plain dicts (the YAML scenario cases use the same shapes).

A measure spec::

    {id: "110", type: process, high_priority: false, inverse: false,
     metric: singlePerformanceRate, first_year: 2017, qcdr: false, algorithm: overallStratumOnly,
     seven_point_cap_removed: [registry], historic: {registry: removed},
     benchmarks: {registry: {deciles: [0, 26.89, ...], topped_out_by_program: false}},
     clusters: {claims: {clusters: {immunizationCare: ["110", "111"]},
                         specialty_sets: {pediatrics: ["110", "134"]}}}}

A measurement spec (``method`` defaults to the set's)::

    {measure: "110", met: 8231, not_met: 1769, eligible: 10000, exclusion: 0, exception: 0,
     e2e: false, rate: 82.31}
    {measure: "046", strata: [{stratum: overall, met: 121, not_met: 26, eligible: 147}]}
    {measure: ACRAD15, numerator: 3, denominator: 1000, observations: 80, exception: 30}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openqpp.core.scoring import ScoreNode
from openqpp.core.scoring.context import (
    PriorYearScores,
    ReadmissionResult,
    ScoringContext,
    SpecialStatus,
)
from openqpp.core.submissions import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    SubmissionMethod,
)
from openqpp.core.submissions.model import (
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    SinglePerformanceRate,
    StratumPerformance,
)
from openqpp.measures import (
    Benchmark,
    ClinicalClusterRecord,
    MeasuresYear,
    QualityMeasure,
    YearFiles,
)

MEASURE_KEYS = {
    "id",
    "title",
    "type",
    "high_priority",
    "inverse",
    "metric",
    "first_year",
    "qcdr",
    "algorithm",
    "strata",
    "seven_point_cap_removed",
    "historic",
    "benchmarks",
    "clusters",
}


def _decimal(value: object) -> Decimal:
    return Decimal(str(value))


def _measure(spec: Mapping[str, Any], year: int) -> QualityMeasure:
    unknown = set(spec) - MEASURE_KEYS
    assert not unknown, f"unknown measure key(s) {unknown}"
    metric = spec.get("metric", "singlePerformanceRate")
    methods = sorted({*spec.get("benchmarks", {}), *spec.get("clusters", {}), "registry"})
    return QualityMeasure.model_validate(
        {
            "measureId": str(spec["id"]),
            "title": spec.get("title", f"Measure {spec['id']}"),
            "category": "quality",
            "metricType": metric,
            "measureType": spec.get("type", "process"),
            "isHighPriority": bool(spec.get("high_priority", False)),
            "isInverse": bool(spec.get("inverse", False)),
            "isRegistryMeasure": bool(spec.get("qcdr", False)),
            "firstPerformanceYear": int(spec.get("first_year", year - 5)),
            "submissionMethods": methods,
            "overallAlgorithm": spec.get("algorithm"),
            "strata": [{"name": s} for s in spec.get("strata", [])],
            "sevenPointCapRemoved": list(spec.get("seven_point_cap_removed", [])),
            "historic_benchmarks": dict(spec.get("historic", {})),
        }
    )


def _benchmark(measure_id: str, method: str, spec: Mapping[str, Any], year: int) -> Benchmark:
    record: dict[str, Any] = {
        "measureId": measure_id,
        "submissionMethod": method,
        "performanceYear": year,
        "benchmarkYear": spec.get("benchmark_year", year - 2),
        "isToppedOut": bool(spec.get("topped_out", spec.get("topped_out_by_program", False))),
        "isToppedOutByProgram": bool(spec.get("topped_out_by_program", False)),
    }
    if "deciles" in spec:
        record["deciles"] = [_decimal(d) for d in spec["deciles"]]
    else:
        record["percentiles"] = {str(k): _decimal(v) for k, v in spec["percentiles"].items()}
    return Benchmark.model_validate(record)


def _clusters(measure_id: str, method: str, spec: Mapping[str, Any]) -> ClinicalClusterRecord:
    return ClinicalClusterRecord.model_validate(
        {
            "measureId": measure_id,
            "submissionMethod": method,
            "clinicalClusters": [
                {"name": name, "measureIds": [str(i) for i in ids]}
                for name, ids in spec.get("clusters", {}).items()
            ],
            "specialtySets": [
                {"name": name, "measureIds": [str(i) for i in ids]}
                for name, ids in spec.get("specialty_sets", {}).items()
            ],
        }
    )


def build_year(year: int, specs: Sequence[Mapping[str, Any]]) -> MeasuresYear:
    """An in-memory measures year holding exactly the measures, benchmarks and clusters given."""
    benchmarks: list[Benchmark] = []
    clusters: list[ClinicalClusterRecord] = []
    for spec in specs:
        mid = str(spec["id"])
        for method, bench in (spec.get("benchmarks") or {}).items():
            benchmarks.append(_benchmark(mid, method, bench, year))
        for method, cluster in (spec.get("clusters") or {}).items():
            clusters.append(_clusters(mid, method, cluster))
    return MeasuresYear(
        year=year,
        root=Path("/in-memory"),
        source="test measures",
        files=YearFiles(measures=Path("/in-memory/measures-data.json")),
        quality_measures=tuple(_measure(s, year) for s in specs),
        improvement_activities=(),
        pi_measures=(),
        cost_measures=(),
        benchmarks=tuple(benchmarks),
        clinical_clusters=tuple(clusters),
    )


def _counts(spec: Mapping[str, Any]) -> PerformanceCounts:
    met = int(spec.get("met", 0))
    not_met = spec.get("not_met")
    eligible = spec.get("eligible")
    if eligible is None:
        eligible = (
            met
            + int(not_met or 0)
            + int(spec.get("exclusion") or 0)
            + int(spec.get("exception") or 0)
        )
    return PerformanceCounts(
        performance_met=met,
        eligible_population=int(eligible),
        performance_not_met=None if not_met is None else int(not_met),
        eligible_population_exclusion=spec.get("exclusion"),
        eligible_population_exception=spec.get("exception"),
    )


def measurement_value(spec: Mapping[str, Any]) -> MeasurementValue:
    e2e = bool(spec.get("e2e", False))
    rate = _decimal(spec["rate"]) if spec.get("rate") is not None else None
    if "strata" in spec:
        return MultiPerformanceRate(
            is_end_to_end_reported=e2e,
            strata=tuple(
                StratumPerformance(stratum=str(s["stratum"]), counts=_counts(s))
                for s in spec["strata"]
            ),
            performance_rate=rate,
        )
    if "numerator" in spec:
        return NonProportion(
            is_end_to_end_reported=e2e,
            numerator=_decimal(spec["numerator"]),
            denominator=_decimal(spec["denominator"]),
            observation_instances=int(spec.get("observations", 0)),
            denominator_exception=(
                _decimal(spec["exception"]) if spec.get("exception") is not None else None
            ),
        )
    return SinglePerformanceRate(
        is_end_to_end_reported=e2e, counts=_counts(spec), performance_rate=rate
    )


def build_sets(specs: Sequence[Mapping[str, Any]]) -> list[MeasurementSet]:
    """Quality measurement sets: ``[{method: registry, measurements: [...]}, ...]``."""
    return [
        MeasurementSet(
            category=Category(spec.get("category", "quality")),
            submission_method=SubmissionMethod(spec.get("method", "registry")),
            measurements=tuple(
                Measurement(str(m["measure"]), measurement_value(m))
                for m in spec.get("measurements", [])
            ),
            program_name=spec.get("program"),
        )
        for spec in specs
    ]


def build_context(spec: Mapping[str, Any] | None) -> ScoringContext:
    """``{entity: group, small_practice: true, clinicians: 20, prior_quality_percent: 40,
    readmission: {case_count: 250, points: 8, rate: 0.15}}``."""
    spec = spec or {}
    readmission = spec.get("readmission")
    prior = spec.get("prior_quality_percent")
    return ScoringContext(
        entity_type=EntityType(spec.get("entity", "individual")),
        special_statuses=frozenset({SpecialStatus.SMALL_PRACTICE})
        if spec.get("small_practice")
        else frozenset(),
        clinician_count=spec.get("clinicians"),
        prior_year=PriorYearScores(quality_percent=_decimal(prior)) if prior is not None else None,
        readmission_result=ReadmissionResult(
            measure_id=str(readmission.get("measure_id", "479")),
            case_count=int(readmission["case_count"]),
            points=_decimal(readmission["points"]) if "points" in readmission else None,
            performance_rate=_decimal(readmission["rate"]) if "rate" in readmission else None,
        )
        if readmission
        else None,
    )


def node_at(root: ScoreNode, path: str) -> ScoreNode:
    """The node at ``a/b/c`` below ``root`` (names of children, one per step)."""
    node = root
    for name in path.split("/"):
        child = node.child(name)
        assert child is not None, (
            f"no node {name!r} under {node.name!r} (children: {[c.name for c in node.children]})"
        )
        node = child
    return node


def describe(root: ScoreNode) -> str:
    """The tree as indented lines, for assertion messages."""
    lines: list[str] = []

    def walk(node: ScoreNode, depth: int) -> None:
        lines.append(
            f"{'  ' * depth}{node.name} [{node.rule}] {node.points}/{node.maximum}: "
            f"{node.explanation}"
        )
        for child in node.children:
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines)
