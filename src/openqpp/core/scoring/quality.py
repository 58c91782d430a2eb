"""The quality performance category score as a score tree (42 CFR 414.1380(b)(1)).

Reading the tree from the root (rule ids in brackets)::

    quality                  [quality.category]  SUM capped at the denominator
    ├── measures             [quality.measures_counted]  SUM of the counted measure slots
    │   ├── 046              [quality.best_collection_type]  MAX over the collection types
    │   │   ├── registry     [quality.achievement_points | quality.data_completeness_fail |
    │   │   │                 quality.case_minimum_not_met | quality.no_benchmark | ...]
    │   │   └── claims       [quality.topped_out_cap]  SUM capped at 7 over achievement points
    │   ├── outcome_measure  [quality.outcome_measure_missing]  0 points: no outcome/high priority
    │   └── missing_5        [quality.measure_not_reported]  0 points: an empty measure slot
    ├── not_counted          [quality.measures_not_counted]  SUM capped at 0: beyond the slots
    ├── readmission          [quality.readmission]  CMS-calculated, groups only
    ├── high_priority_bonus  [quality.high_priority_bonus]  SUM capped at a share of the denominator
    ├── end_to_end_bonus     [quality.end_to_end_bonus]  SUM capped likewise
    ├── small_practice_bonus [quality.small_practice_bonus]
    └── improvement          [quality.improvement]

``points / maximum`` of the root is the category's achievement share: the final score multiplies
it by the category weight. Every value comes from the year's policy (``policy.scoring.quality``)
and the year's measures data pack; nothing here names a year.

Rules, with the year differences living in policy values (mips-rules.md §4.3):

* Each measurement is scored per collection type. Data completeness (reported cases / eligible
  population) below the year's threshold gives the data-completeness-fail points; a measure with no
  benchmark for its collection type, or fewer eligible cases than the case minimum, gets the
  no-benchmark points; otherwise the benchmark gives decile points with partial points
  (:mod:`openqpp.core.scoring.benchmarks`), raised to the year's floor, capped at the topped-out cap
  when the benchmark data marks it ``isToppedOutByProgram`` (unless the measure lists the collection
  type in ``sevenPointCapRemoved``). New measures get the year's first/second-year floor when they
  meet data completeness. Small practices have their own floors.
* A measure reported through several collection types counts once, at its best
  (§ 414.1380(b)(1)(i): "scored only on the data submission with the greatest number of measure
  achievement points").
* The counted measures fill ``measures_required`` slots: the best outcome measure (else the best
  other high-priority measure) first, then the highest points. With no outcome or high-priority
  measure one slot scores 0 (CMS's engine: "you will only be scored on the top 5 measures").
* Eligible Measure Applicability (EMA) may remove empty slots for claims and registry submitters
  whose clinically related clusters or specialty set held no further measure.
* The readmission measure adds its points and maximum for large enough groups when CMS's result
  meets its case minimum (``context.readmission_result``).
* Bonuses (years whose policy has them): high priority (outcome/patient experience and other
  high-priority measures beyond the required one) and end-to-end electronic reporting, each capped
  at a share of the denominator, earned "regardless of whether the measure is included" in the
  counted measures (§ 414.1380(b)(1)(v)); the small practice bonus when any measure was submitted.
* Improvement scoring adds percentage points for improving on last year's quality score
  (§ 414.1380(b)(1)(vi)), scaled here into points of the denominator so the sum stays one number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from openqpp.core.scoring.benchmarks import (
    TOP_DECILE,
    DecileBounds,
    DecilePlacement,
    decile_bounds,
    place,
)
from openqpp.core.scoring.context import ScoringContext
from openqpp.core.scoring.explain import listed, number, unverified
from openqpp.core.scoring.tree import Combine, ScoreNode, rounded
from openqpp.core.submissions.model import (
    PROGRAM_MIPS,
    Category,
    EntityType,
    MeasurementSet,
    MeasurementValue,
    MultiPerformanceRate,
    NonProportion,
    PerformanceCounts,
    SinglePerformanceRate,
    StratumPerformance,
)
from openqpp.measures import Benchmark, MeasuresYear, QualityMeasure
from openqpp.policy import Policy

# ---------------------------------------------------------------- rule ids

CATEGORY: Final = "quality.category"
MEASURES_COUNTED: Final = "quality.measures_counted"
MEASURES_NOT_COUNTED: Final = "quality.measures_not_counted"
BEST_COLLECTION_TYPE: Final = "quality.best_collection_type"
ACHIEVEMENT_POINTS: Final = "quality.achievement_points"
TOPPED_OUT_CAP: Final = "quality.topped_out_cap"
DATA_COMPLETENESS_FAIL: Final = "quality.data_completeness_fail"
CASE_MINIMUM_NOT_MET: Final = "quality.case_minimum_not_met"
NO_BENCHMARK: Final = "quality.no_benchmark"
UNKNOWN_MEASURE: Final = "quality.unknown_measure"
UNSCORABLE_VALUE: Final = "quality.unscorable_value"
MEASURE_NOT_REPORTED: Final = "quality.measure_not_reported"
OUTCOME_MEASURE_MISSING: Final = "quality.outcome_measure_missing"
READMISSION: Final = "quality.readmission"
READMISSION_NOT_SCORED: Final = "quality.readmission_not_scored"
HIGH_PRIORITY_BONUS: Final = "quality.high_priority_bonus"
END_TO_END_BONUS: Final = "quality.end_to_end_bonus"
SMALL_PRACTICE_BONUS: Final = "quality.small_practice_bonus"
IMPROVEMENT: Final = "quality.improvement"

#: Measure types that earn the outcome / patient-experience high-priority bonus and are preferred
#: for the required slot (CMS's engine: "preference given to outcome, intermediate outcome, and
#: patient engagement experience").
OUTCOME_TYPES: Final = frozenset(
    {"outcome", "intermediateOutcome", "patientReportedOutcome", "patientEngagementExperience"}
)
#: Collection types that cannot carry end-to-end electronic reporting.
NOT_END_TO_END: Final = frozenset({"claims"})
ADMINISTRATIVE_CLAIMS: Final = "administrativeClaims"

_P: Final = "scoring.quality."
_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
_RATE_PLACES: Final = Decimal("0.0001")

_METHOD_NAMES: Final[Mapping[str, str]] = {
    "claims": "Medicare Part B claims",
    "electronicHealthRecord": "eCQM",
    "registry": "MIPS CQM (registry)",
    "cmsWebInterface": "CMS Web Interface",
    "administrativeClaims": "administrative claims",
    "certifiedSurveyVendor": "CAHPS survey vendor",
}


# ---------------------------------------------------------------- wording


def _pts(value: Decimal) -> str:
    """Points as CMS shows them: up to four decimals, at least one (``3.0``, ``8.9585``)."""
    text = number(value, 4)
    return text if "." in text else text + ".0"


def _share(value: Decimal) -> str:
    return f"{number(value * _HUNDRED)}%"


def _unverified(policy: Policy, *names: str) -> tuple[str, ...]:
    """The ``scoring.quality.<name>`` paths whose value this year is unverified."""
    return unverified(policy, *(_P + n for n in names))


def _method_label(method: str, measure: QualityMeasure | None) -> str:
    if method == "registry" and measure is not None and measure.is_registry_measure:
        return "QCDR"
    return _METHOD_NAMES.get(method, method)


def _practice(small: bool) -> str:
    return " for a small practice" if small else ""


# ---------------------------------------------------------------- what a measurement reported


@dataclass(frozen=True, slots=True)
class Performance:
    """What one measurement reported, reduced to what scoring reads."""

    eligible_population: Decimal
    #: Cases accounted for (met, not met, exclusions, exceptions): data completeness numerator.
    reported: Decimal
    #: Performance rate in percent (for non-proportion measures: the submitted value).
    rate: Decimal | None
    is_percent: bool
    end_to_end: bool
    #: How the rate was formed when it was not simply met / (met + not met).
    how: str = ""

    @property
    def data_completeness(self) -> Decimal:
        if self.eligible_population <= 0:
            return _ZERO
        return self.reported / self.eligible_population


def _counts_rate(counts: PerformanceCounts) -> tuple[Decimal, Decimal]:
    """(performance met, performance denominator) of one population."""
    met = Decimal(counts.performance_met)
    if counts.performance_not_met is not None:
        return met, met + Decimal(counts.performance_not_met)
    denominator = (
        Decimal(counts.eligible_population)
        - Decimal(counts.eligible_population_exclusion or 0)
        - Decimal(counts.eligible_population_exception or 0)
    )
    return met, denominator


def _rate(met: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator <= 0:
        return None
    return (met / denominator * _HUNDRED).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)


def _single(counts: PerformanceCounts, *, end_to_end: bool, how: str = "") -> Performance:
    met, denominator = _counts_rate(counts)
    return Performance(
        eligible_population=Decimal(counts.eligible_population),
        reported=Decimal(counts.reported),
        rate=_rate(met, denominator),
        is_percent=True,
        end_to_end=end_to_end,
        how=how,
    )


def _summed(strata: Sequence[StratumPerformance], *, end_to_end: bool, how: str) -> Performance:
    met = sum((_counts_rate(s.counts)[0] for s in strata), _ZERO)
    denominator = sum((_counts_rate(s.counts)[1] for s in strata), _ZERO)
    return Performance(
        eligible_population=sum((Decimal(s.counts.eligible_population) for s in strata), _ZERO),
        reported=sum((Decimal(s.counts.reported) for s in strata), _ZERO),
        rate=_rate(met, denominator),
        is_percent=True,
        end_to_end=end_to_end,
        how=how,
    )


def _named(strata: Sequence[StratumPerformance], name: str) -> StratumPerformance | None:
    return next((s for s in strata if s.stratum.casefold() == name.casefold()), None)


def _multi(value: MultiPerformanceRate, measure: QualityMeasure) -> Performance:
    """A multi-rate measure's rate by the measure's ``overallAlgorithm`` (measures data)."""
    strata = value.strata
    e2e = value.is_end_to_end_reported
    algorithm = measure.overall_algorithm or ""
    if algorithm == "overallStratumOnly" or (not algorithm and _named(strata, "overall")):
        overall = _named(strata, "overall")
        if overall is not None:
            return _single(overall.counts, end_to_end=e2e, how="scored on its overall stratum")
        return _summed(
            strata,
            end_to_end=e2e,
            how="scored on the overall stratum, which was not reported, so its strata were added",
        )
    if algorithm == "simpleAverage":
        rates = [r for s in strata if (r := _rate(*_counts_rate(s.counts))) is not None]
        combined = _summed(strata, end_to_end=e2e, how="")
        mean = (
            (sum(rates, _ZERO) / len(rates)).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)
            if rates
            else None
        )
        return replace(
            combined, rate=mean, how=f"the simple average of its {len(rates)} strata rates"
        )
    if algorithm == "split":
        reporting = _named(strata, "reporting")
        performance = _named(strata, "performance")
        completeness = (
            _single(reporting.counts, end_to_end=e2e)
            if reporting
            else _summed(strata, end_to_end=e2e, how="")
        )
        rated = (
            _single(performance.counts, end_to_end=e2e)
            if performance
            else _summed(strata, end_to_end=e2e, how="")
        )
        return replace(
            completeness,
            rate=rated.rate,
            how="data completeness from its reporting stratum, the rate from its "
            "performance stratum",
        )
    return _summed(
        strata,
        end_to_end=e2e,
        how=f"its {len(strata)} strata combined, weighted by their performance denominators",
    )


def performance_of(value: MeasurementValue, measure: QualityMeasure) -> Performance | None:
    """What ``value`` reported for ``measure``; None for a shape quality cannot score."""
    performance: Performance
    if isinstance(value, SinglePerformanceRate):
        performance = _single(value.counts, end_to_end=value.is_end_to_end_reported)
        submitted_rate = value.performance_rate
    elif isinstance(value, MultiPerformanceRate):
        performance = _multi(value, measure)
        submitted_rate = value.performance_rate
    elif isinstance(value, NonProportion):
        # CMS's engine reports a non-proportion measure's submitted value as its rate and its
        # observations (plus exceptions and exclusions) over the denominator as data completeness
        # (scoring-example-output-quality.json, ACRAD15: numerator 3 -> rate 3; (80+30)/1000 = 11%).
        reported = (
            Decimal(value.observation_instances)
            + (value.denominator_exception or _ZERO)
            + (value.numerator_exclusion or _ZERO)
        )
        return Performance(
            eligible_population=value.denominator,
            reported=reported,
            rate=value.numerator,
            is_percent=False,
            end_to_end=value.is_end_to_end_reported,
            how="a non-proportion measure, scored on its submitted value",
        )
    else:
        return None
    if submitted_rate is not None and measure.is_registry_measure:
        return replace(
            performance, rate=submitted_rate, how="the performance rate the QCDR submitted"
        )
    return performance


def _rate_text(performance: Performance) -> str:
    if performance.rate is None:
        return "no performance rate"
    if performance.is_percent:
        return f"performance rate {number(performance.rate)}%"
    return f"performance value {number(performance.rate, 4)}"


# ---------------------------------------------------------------- one measurement


@dataclass(frozen=True, slots=True)
class _Scored:
    """One measurement of one measure through one collection type, scored."""

    measure_id: str
    method: str
    measure: QualityMeasure | None
    performance: Performance | None
    node: ScoreNode
    data_complete: bool = False
    case_minimum_met: bool = False

    @property
    def points(self) -> Decimal:
        return self.node.points


def _new_measure_floor(
    measure: QualityMeasure, *, policy: Policy, measures: MeasuresYear
) -> tuple[Decimal, str]:
    """The year's floor for a measure in its first or second year in MIPS, with a sentence."""
    new = policy.scoring.quality.new_measure_points
    first = measure.first_performance_year
    if new is None or first is None:
        return _ZERO, ""
    years_in = measures.year - first
    if years_in == 0:
        return Decimal(
            new.first_year
        ), f"in its first year in MIPS it earns at least {new.first_year}"
    if years_in == 1:
        return (
            Decimal(new.second_year),
            f"in its second year in MIPS it earns at least {new.second_year}",
        )
    return _ZERO, ""


@dataclass(frozen=True, slots=True)
class _Reading:
    """One measurement of a known measure, with what every measure rule reads."""

    name: str
    method: str
    measure: QualityMeasure
    performance: Performance
    policy: Policy
    measures: MeasuresYear
    small: bool

    @property
    def title(self) -> str:
        return f"Measure {self.measure.measure_id} via {_method_label(self.method, self.measure)}"

    @property
    def top(self) -> Decimal:
        return Decimal(self.policy.scoring.quality.max_points_per_measure)

    @property
    def completeness(self) -> str:
        p = self.performance
        return (
            f"{number(p.reported, 4)} of {number(p.eligible_population, 4)} eligible cases "
            f"reported ({_share(p.data_completeness)} data completeness)"
        )

    def inputs(self, **more: object) -> dict[str, object]:
        q = self.policy.scoring.quality
        p = self.performance
        return {
            "measure_id": self.measure.measure_id,
            "submission_method": self.method,
            "performance_rate": p.rate,
            "rate_is_percent": p.is_percent,
            "eligible_population": p.eligible_population,
            "reported": p.reported,
            "data_completeness": rounded(p.data_completeness),
            "data_completeness_threshold": q.data_completeness,
            "case_minimum": q.case_minimum,
            "high_priority": self.measure.is_high_priority,
            "measure_type": self.measure.measure_type,
            "inverse": self.measure.is_inverse,
            "end_to_end_reported": p.end_to_end,
            "small_practice": self.small,
            **more,
        }

    def scored(self, node: ScoreNode, *, complete: bool, case_met: bool) -> _Scored:
        return _Scored(
            self.measure.measure_id,
            self.method,
            self.measure,
            self.performance,
            node,
            data_complete=complete,
            case_minimum_met=case_met,
        )


def _incomplete(reading: _Reading) -> _Scored:
    """Below the year's data completeness: the fail points (small practices their own)."""
    q = reading.policy.scoring.quality
    small = reading.small
    points = (
        q.data_completeness_fail_points_small_practice if small else q.data_completeness_fail_points
    )
    path = "data_completeness_fail_points" + ("_small_practice" if small else "")
    node = ScoreNode(
        name=reading.name,
        rule=DATA_COMPLETENESS_FAIL,
        points=points,
        maximum=reading.top,
        title=reading.title,
        explanation=(
            f"{reading.title}: {reading.completeness}, below the {_share(q.data_completeness)} "
            f"the year requires, so it is not compared with a benchmark and earns "
            f"{_pts(points)} points{_practice(small)}."
        ),
        inputs=reading.inputs(points_when_incomplete=points),
        unverified=_unverified(reading.policy, "data_completeness", path),
    )
    return reading.scored(node, complete=False, case_met=False)


def _not_benchmarked(
    reading: _Reading, benchmark: Benchmark | None, new_floor: Decimal, new_text: str
) -> _Scored:
    """Complete, but no benchmark, too few cases or no rate: the no-benchmark points."""
    q = reading.policy.scoring.quality
    small = reading.small
    mid, method = reading.measure.measure_id, reading.method
    performance = reading.performance
    base = q.no_benchmark_points_small_practice if small else q.no_benchmark_points
    points = max(base, new_floor)
    case_met = performance.eligible_population >= q.case_minimum
    if benchmark is None:
        rule = NO_BENCHMARK
        why = f"there is no {method} benchmark for it this year"
        reason = reading.measures.benchmark_exclusion_reason(mid, method)
        if reason is not None and reason.reason_descriptions:
            why += f" ({' '.join(reason.reason_descriptions)})"
        elif reading.measure.historic_benchmarks.get(method) == "removed":
            why += " (the measures data marks its historical benchmark removed)"
    elif not case_met:
        rule = CASE_MINIMUM_NOT_MET
        why = (
            f"its eligible population of {number(performance.eligible_population, 4)} is below "
            f"the case minimum of {q.case_minimum}"
        )
    else:
        rule = NO_BENCHMARK
        why = "no performance rate could be formed (every case was an exclusion or exception)"
    text = (
        f"{reading.title}: {reading.completeness}, meeting data completeness, but {why}, so it "
        f"earns {_pts(base)} points, what a measure that cannot be compared with a benchmark "
        f"earns{_practice(small)}."
    )
    if new_floor:
        text += f" As a new measure {new_text} points" + (
            f": {_pts(points)} points." if new_floor > base else "."
        )
    node = ScoreNode(
        name=reading.name,
        rule=rule,
        points=points,
        maximum=reading.top,
        title=reading.title,
        explanation=text,
        inputs=reading.inputs(
            benchmark=benchmark is not None,
            no_benchmark_points=base,
            new_measure_floor=new_floor or None,
        ),
        unverified=_unverified(
            reading.policy,
            "data_completeness",
            "case_minimum",
            "no_benchmark_points" + ("_small_practice" if small else ""),
            *(("new_measure_points",) if new_floor else ()),
        ),
    )
    return reading.scored(node, complete=True, case_met=case_met)


def _where(placed: DecilePlacement, bounds: DecileBounds) -> str:
    """Which bounds the rate sits between, for the explanation."""
    if placed.decile == TOP_DECILE:
        return f"decile {TOP_DECILE} starts at {number(bounds.bounds[-1], 4)}"
    lower = "its lower end" if placed.lower is None else number(placed.lower, 4)
    upper = (
        "" if placed.upper is None else f", decile {placed.decile + 1} at {number(placed.upper, 4)}"
    )
    return f"decile {placed.decile} starts at {lower}{upper}"


def _benchmarked(
    reading: _Reading, benchmark: Benchmark, rate: Decimal, new_floor: Decimal, new_text: str
) -> _Scored:
    """Compared with the benchmark: decile and partial points, the floors, the topped-out cap."""
    q = reading.policy.scoring.quality
    small = reading.small
    measure, method = reading.measure, reading.method
    bounds = decile_bounds(benchmark, inverse=measure.is_inverse, metric_type=measure.metric_type)
    placed = place(rate, bounds)
    floor = q.benchmarked_floor_points_small_practice if small else q.benchmarked_floor_points
    earned = min(max(placed.points, floor, new_floor), reading.top)
    how = f" ({reading.performance.how})" if reading.performance.how else ""
    direction = "lower is better; " if measure.is_inverse else ""
    text = (
        f"{reading.title}: {_rate_text(reading.performance)}{how} is in decile {placed.decile} "
        f"of the {method} benchmark ({direction}{_where(placed, bounds)}), giving "
        f"{_pts(placed.points)} points."
    )
    if bounds.is_flat:
        text += " It is a flat benchmark (10-point bands)."
    if earned > placed.points and new_floor > floor and new_floor >= earned:
        text += f" As a new measure {new_text} points: {_pts(earned)} points."
    elif earned > placed.points:
        text += (
            f" A benchmarked measure earns at least {_pts(floor)} points{_practice(small)} "
            f"this year, so {_pts(earned)} points."
        )
    leaf = ScoreNode(
        name=reading.name,
        rule=ACHIEVEMENT_POINTS,
        points=rounded(earned),
        maximum=reading.top,
        title=reading.title,
        explanation=text,
        inputs=reading.inputs(
            benchmark_layout=bounds.layout,
            benchmark_year=benchmark.benchmark_year,
            decile_lower_bounds=bounds.as_list(),
            decile=placed.decile,
            decile_lower=placed.lower,
            decile_upper=placed.upper,
            partial=placed.fraction,
            decile_points=placed.points,
            floor=floor,
            new_measure_floor=new_floor or None,
            flat_benchmark=bounds.is_flat or measure.historic_benchmarks.get(method) == "flat",
            topped_out=bool(benchmark.is_topped_out),
            topped_out_by_program=bool(benchmark.is_topped_out_by_program),
        ),
        unverified=_unverified(
            reading.policy,
            "data_completeness",
            "case_minimum",
            "benchmark_basis",
            "max_points_per_measure",
            "benchmarked_floor_points" + ("_small_practice" if small else ""),
            *(("new_measure_points",) if new_floor else ()),
        ),
    )
    if not benchmark.is_topped_out_by_program or method in measure.seven_point_cap_removed:
        return reading.scored(leaf, complete=True, case_met=True)
    cap = Decimal(q.topped_out_cap_points)
    capped = ScoreNode(
        name=reading.name,
        rule=TOPPED_OUT_CAP,
        points=min(leaf.points, cap),
        maximum=cap,
        combine=Combine.SUM,
        children=(replace(leaf, name="achievement"),),
        title=reading.title,
        explanation=(
            f"{reading.title}: the {method} benchmark is topped out two years running "
            f"(isToppedOutByProgram), so the measure earns at most {_pts(cap)} points: "
            f"{_pts(min(leaf.points, cap))} of its {_pts(leaf.points)} achievement points."
        ),
        inputs={"measure_id": measure.measure_id, "submission_method": method, "cap": cap},
        unverified=_unverified(reading.policy, "topped_out_cap_points"),
    )
    return reading.scored(capped, complete=True, case_met=True)


def _unscored(
    measure_id: str, method: str, measure: QualityMeasure | None, node: ScoreNode
) -> _Scored:
    return _Scored(measure_id, method, measure, None, node)


def _score_measurement(
    measure_id: str,
    method: str,
    value: MeasurementValue,
    *,
    name: str,
    policy: Policy,
    measures: MeasuresYear,
    small: bool,
) -> _Scored:
    """One measurement through one collection type, by the first rule that applies."""
    q = policy.scoring.quality
    top = Decimal(q.max_points_per_measure)
    measure = measures.quality(measure_id)
    if measure is None:
        return _unscored(
            measure_id,
            method,
            None,
            ScoreNode(
                name=name,
                rule=UNKNOWN_MEASURE,
                points=_ZERO,
                maximum=top,
                title=f"Measure {measure_id}",
                explanation=(
                    f"Measure {measure_id} is not a quality measure in the {measures.year} "
                    "measures data, so it earns no points."
                ),
                inputs={"measure_id": measure_id, "submission_method": method},
            ),
        )
    performance = performance_of(value, measure)
    if performance is None:
        title = f"Measure {measure.measure_id} via {_method_label(method, measure)}"
        return _unscored(
            measure.measure_id,
            method,
            measure,
            ScoreNode(
                name=name,
                rule=UNSCORABLE_VALUE,
                points=_ZERO,
                maximum=top,
                title=title,
                explanation=(
                    f"{title}: the value is not a performance rate or non-proportion value, so "
                    "it cannot be scored (0 points)."
                ),
                inputs={"measure_id": measure.measure_id, "submission_method": method},
            ),
        )
    reading = _Reading(name, method, measure, performance, policy, measures, small)
    if performance.eligible_population <= 0 or performance.data_completeness < q.data_completeness:
        return _incomplete(reading)
    new_floor, new_text = _new_measure_floor(measure, policy=policy, measures=measures)
    benchmark = measures.benchmark(measure.measure_id, method)
    rate = performance.rate
    if benchmark is None or rate is None or performance.eligible_population < q.case_minimum:
        return _not_benchmarked(reading, benchmark, new_floor, new_text)
    return _benchmarked(reading, benchmark, rate, new_floor, new_text)


# ---------------------------------------------------------------- one measure, best collection type


@dataclass(frozen=True, slots=True)
class _Measure:
    measure_id: str
    measure: QualityMeasure | None
    instances: tuple[_Scored, ...]
    node: ScoreNode

    @property
    def points(self) -> Decimal:
        return self.node.points

    @property
    def best(self) -> _Scored:
        return max(self.instances, key=lambda s: (s.points, s.data_complete))

    @property
    def high_priority(self) -> bool:
        return self.measure is not None and self.measure.is_high_priority

    @property
    def outcome(self) -> bool:
        return self.measure is not None and self.measure.measure_type in OUTCOME_TYPES


def _measure_node(instances: Sequence[_Scored], *, top: Decimal) -> _Measure:
    first = instances[0]
    best = max(instances, key=lambda s: (s.points, s.data_complete))
    title = (
        f"Measure {first.measure_id}: {first.measure.title}"
        if first.measure is not None
        else f"Measure {first.measure_id}"
    )
    if len(instances) == 1:
        explanation = f"Measure {first.measure_id} was reported through {first.method}: " + (
            f"{_pts(best.points)} points."
        )
    else:
        each = listed([f"{s.node.name} {_pts(s.points)}" for s in instances])
        explanation = (
            f"Measure {first.measure_id} was reported through {len(instances)} collection types "
            f"({each}); it counts once, at its best: {best.node.name}, {_pts(best.points)} points."
        )
    node = ScoreNode(
        name=first.measure_id,
        rule=BEST_COLLECTION_TYPE,
        points=best.points,
        maximum=top,
        combine=Combine.MAX,
        children=tuple(s.node for s in instances),
        title=title,
        explanation=explanation,
        inputs={
            "measure_id": first.measure_id,
            "collection_types": [s.method for s in instances],
            "best": best.node.name,
        },
    )
    return _Measure(first.measure_id, first.measure, tuple(instances), node)


def _score_measures(
    sets: Sequence[MeasurementSet], *, policy: Policy, measures: MeasuresYear, small: bool
) -> list[_Measure]:
    top = Decimal(policy.scoring.quality.max_points_per_measure)
    by_measure: dict[str, list[_Scored]] = {}
    for measurement_set in sets:
        method = str(measurement_set.submission_method)
        for measurement in measurement_set.measurements:
            known = measures.quality(measurement.measure_id)
            key = known.measure_id if known is not None else measurement.measure_id
            taken = {s.node.name for s in by_measure.get(key, [])}
            name = method
            number = 1
            while name in taken:
                number += 1
                name = f"{method} ({number})"
            scored = _score_measurement(
                key,
                method,
                measurement.value,
                name=name,
                policy=policy,
                measures=measures,
                small=small,
            )
            by_measure.setdefault(key, []).append(scored)
    return [_measure_node(instances, top=top) for instances in by_measure.values()]


# ---------------------------------------------------------------- eligible measure applicability


@dataclass(frozen=True, slots=True)
class _Ema:
    slots: int
    applied: bool
    evaluated: bool
    explanation: str = ""
    inputs: Mapping[str, object] = field(default_factory=dict)


def _eligible_measure_applicability(
    scored: Sequence[_Measure],
    methods: frozenset[str],
    *,
    policy: Policy,
    measures: MeasuresYear,
) -> _Ema:
    """Whether too few measures were available (clusters or a small specialty set)."""
    q = policy.scoring.quality
    required = q.measures_required
    known = [m for m in scored if m.measure is not None]
    submitted = {m.measure_id.casefold() for m in known}
    n = len(submitted)
    if n == 0 or n >= required:
        return _Ema(required, applied=False, evaluated=False)
    allowed = set(q.eligible_measure_applicability_methods)
    if not methods or not methods <= allowed:
        return _Ema(
            required,
            applied=False,
            evaluated=True,
            explanation=(
                f"Eligible Measure Applicability applies only to {listed(sorted(allowed))} "
                f"submissions, not to {listed(sorted(methods - allowed))}, so empty measure "
                "slots score 0."
            ),
        )
    qcdr = sorted(
        m.measure_id for m in known if m.measure is not None and m.measure.is_registry_measure
    )
    if qcdr:
        return _Ema(
            required,
            applied=False,
            evaluated=True,
            explanation=(
                f"Eligible Measure Applicability does not apply to QCDR measures "
                f"({listed(qcdr)}), so empty measure slots score 0."
            ),
        )
    problems: list[str] = []
    clusters_used: list[str] = []
    specialty_slots = 0
    specialty_name = ""
    for m in known:
        for instance in m.instances:
            record = measures.clinical_cluster(m.measure_id, instance.method)
            if record is None or not record.clinical_clusters:
                problems.append(
                    f"measure {m.measure_id} is in no {instance.method} clinical cluster"
                )
            else:
                for cluster in record.clinical_clusters:
                    missing = sorted(
                        c for c in cluster.measure_ids if c.casefold() not in submitted
                    )
                    clusters_used.append(cluster.name)
                    if missing:
                        problems.append(
                            f"measure {m.measure_id}'s cluster {cluster.name} also has "
                            f"{listed(missing)}, not reported"
                        )
            for specialty in () if record is None else record.specialty_sets:
                ids = {c.casefold() for c in specialty.measure_ids}
                if len(ids) < required and ids <= submitted and len(ids) > specialty_slots:
                    specialty_slots = len(ids)
                    specialty_name = specialty.name
    cluster_ok = not problems
    slots = max(n if cluster_ok else 0, specialty_slots)
    inputs: dict[str, object] = {
        "measures_reported": n,
        "clusters": sorted(set(clusters_used)),
        "specialty_set": specialty_name or None,
        "collection_types": sorted(methods),
    }
    if not slots or slots >= required:
        return _Ema(
            required,
            applied=False,
            evaluated=True,
            explanation=(
                "Eligible Measure Applicability does not reduce the denominator: "
                f"{'; '.join(dict.fromkeys(problems))}, so further measures could apply and "
                "empty measure slots score 0."
            ),
            inputs=inputs,
        )
    slots = max(slots, n)
    if cluster_ok:
        why = (
            f"every clinically related measure of the clinical cluster(s) "
            f"{listed(sorted(set(clusters_used)))} was reported"
        )
    else:
        why = (
            f"every measure of the {specialty_name} specialty set ({specialty_slots}) was reported"
        )
    reduction = required - slots
    return _Ema(
        slots,
        applied=True,
        evaluated=True,
        explanation=(
            f"Eligible Measure Applicability: {why}, so no further measure applied and the "
            f"denominator is reduced by {reduction * q.max_points_per_measure} points "
            f"({reduction} measure(s) of {q.max_points_per_measure})."
        ),
        inputs={**inputs, "reduction_measures": reduction},
    )


# ---------------------------------------------------------------- the counted measures


@dataclass(frozen=True, slots=True)
class _Selection:
    counted: tuple[_Measure, ...]
    not_counted: tuple[_Measure, ...]
    required: _Measure | None
    outcome_missing: bool


def _select(scored: Sequence[_Measure], *, slots: int, ema_applied: bool) -> _Selection:
    """The counted measures: the required outcome/high-priority measure, then the best.

    Any outcome or other high-priority measure satisfies the requirement, so the required slot
    takes the one with the most points, which makes the counted set the best six that include
    one; ties go to a measure meeting data completeness, then to an outcome measure (CMS's engine
    picked 046, a high-priority process measure meeting data completeness, over ACRAD15, an
    outcome measure failing it, both at 3 points, in scoring-example-output-quality.json).
    """
    ranked = sorted(scored, key=lambda m: (-m.points, not m.best.data_complete, m.measure_id))
    candidates = [m for m in ranked if m.high_priority or m.outcome]
    required = min(
        candidates,
        key=lambda m: (-m.points, not m.best.data_complete, not m.outcome, m.measure_id),
        default=None,
    )
    outcome_missing = required is None and not ema_applied and bool(slots)
    room = slots - (1 if outcome_missing else 0)
    rest = [m for m in ranked if m is not required]
    counted = (([required] if required is not None else []) + rest)[: max(room, 0)]
    chosen = {id(m) for m in counted}
    not_counted = [m for m in ranked if id(m) not in chosen]
    return _Selection(tuple(counted), tuple(not_counted), required, outcome_missing)


def _measures_node(selection: _Selection, *, slots: int, ema: _Ema, policy: Policy) -> ScoreNode:
    q = policy.scoring.quality
    top = Decimal(q.max_points_per_measure)
    children: list[ScoreNode] = []
    for m in selection.counted:
        node = m.node
        if m is selection.required:
            kind = "outcome" if m.outcome else "high-priority"
            node = replace(
                node,
                explanation=f"{node.explanation} It fills the required {kind} measure slot.",
            )
        children.append(node)
    if selection.outcome_missing:
        children.append(
            ScoreNode(
                name="outcome_measure",
                rule=OUTCOME_MEASURE_MISSING,
                points=_ZERO,
                maximum=top,
                title="Required outcome or high-priority measure",
                explanation=(
                    "No outcome or other high-priority measure was reported, so the slot "
                    "reserved for one scores 0 points (only the other measures' best "
                    f"{slots - 1} count)."
                ),
                unverified=_unverified(policy, "measures_required"),
            )
        )
    empty = slots - len(children)
    for _ in range(empty):
        children.append(
            ScoreNode(
                name=f"missing_{len(children) + 1}",
                rule=MEASURE_NOT_REPORTED,
                points=_ZERO,
                maximum=top,
                title="Measure not reported",
                explanation=(
                    f"{q.measures_required} measures are required and no further scored measure "
                    "was reported for this slot, so it scores 0 points."
                ),
                unverified=_unverified(policy, "measures_required"),
            )
        )
    maximum = top * slots
    total = sum((c.points for c in children), _ZERO)
    counted_text = listed([f"{m.measure_id} ({_pts(m.points)})" for m in selection.counted])
    explanation = (
        f"{slots} measure slots of {_pts(top)} points each: "
        + (f"{counted_text} count" if selection.counted else "no measure counts")
        + (f"; {empty} slot(s) are empty" if empty > 0 else "")
        + f"; {_pts(total)} of {_pts(maximum)} points."
    )
    if ema.explanation:
        explanation += " " + ema.explanation
    ema_paths = ("eligible_measure_applicability_methods",) if ema.evaluated else ()
    return ScoreNode(
        name="measures",
        rule=MEASURES_COUNTED,
        points=min(total, maximum),
        maximum=maximum,
        combine=Combine.SUM,
        children=tuple(children),
        title="Quality measures counted",
        explanation=explanation,
        inputs={
            "measures_required": q.measures_required,
            "slots": slots,
            "max_points_per_measure": q.max_points_per_measure,
            "counted": [m.measure_id for m in selection.counted],
            "required_slot": selection.required.measure_id if selection.required else None,
            "eligible_measure_applicability": dict(ema.inputs) or None,
            "eligible_measure_applicability_applied": ema.applied,
        },
        unverified=_unverified(policy, "measures_required", "max_points_per_measure", *ema_paths),
    )


def _not_counted_node(selection: _Selection, *, slots: int) -> ScoreNode | None:
    if not selection.not_counted:
        return None
    names = listed([f"{m.measure_id} ({_pts(m.points)})" for m in selection.not_counted])
    return ScoreNode(
        name="not_counted",
        rule=MEASURES_NOT_COUNTED,
        points=_ZERO,
        maximum=_ZERO,
        combine=Combine.SUM,
        children=tuple(m.node for m in selection.not_counted),
        title="Measures reported but not counted",
        explanation=(
            f"Only {slots} measure slots count; {names} did not make the count, so they add "
            "0 achievement points (they can still earn bonus points in years that have them)."
        ),
        inputs={"measures": [m.measure_id for m in selection.not_counted]},
    )


# ---------------------------------------------------------------- readmission


def _readmission_node(
    *, policy: Policy, measures: MeasuresYear, context: ScoringContext
) -> ScoreNode | None:
    """The CMS-calculated readmission measure for groups of the year's minimum size."""
    rule = policy.scoring.quality.readmission
    if rule is None or context.entity_type is EntityType.INDIVIDUAL:
        return None
    size = context.clinician_count
    if size is None or size < rule.min_group_clinicians:
        return None
    paths = _unverified(policy, "readmission")
    title = f"All-cause readmission (measure {rule.measure_id})"
    result = context.readmission_result
    base = {
        "measure_id": rule.measure_id,
        "clinician_count": size,
        "min_group_clinicians": rule.min_group_clinicians,
        "case_minimum": rule.case_minimum,
    }
    group = f"A group of {size} clinicians (at least {rule.min_group_clinicians})"

    def not_scored(why: str, extra: Mapping[str, object]) -> ScoreNode:
        return ScoreNode(
            name="readmission",
            rule=READMISSION_NOT_SCORED,
            points=_ZERO,
            maximum=_ZERO,
            title=title,
            explanation=f"{group} is scored on measure {rule.measure_id} by CMS, but {why}; "
            "the measure is left out and adds nothing to the denominator.",
            inputs={**base, **extra},
            unverified=paths,
        )

    if result is None:
        return not_scored("no CMS result for it was loaded", {})
    if result.measure_id.casefold() != rule.measure_id.casefold():
        return not_scored(
            f"the loaded result is for measure {result.measure_id}",
            {"result_measure_id": result.measure_id},
        )
    extra: dict[str, object] = {"case_count": result.case_count}
    if result.case_count < rule.case_minimum:
        return not_scored(
            f"its {result.case_count} cases are below the case minimum of {rule.case_minimum}",
            extra,
        )
    maximum = Decimal(rule.points)
    if result.points is not None:
        points = min(max(result.points, _ZERO), maximum)
        how = f"CMS gave it {_pts(result.points)} achievement points"
    elif result.performance_rate is not None:
        benchmark = measures.benchmark(rule.measure_id, ADMINISTRATIVE_CLAIMS)
        if benchmark is None:
            return not_scored(
                f"there is no {ADMINISTRATIVE_CLAIMS} benchmark to score its rate against",
                {**extra, "performance_rate": result.performance_rate},
            )
        measure = measures.quality(rule.measure_id)
        metric = measure.metric_type if measure is not None else "costScore"
        bounds = decile_bounds(benchmark, inverse=True, metric_type=metric)
        placed = place(result.performance_rate, bounds)
        floor = policy.scoring.quality.benchmarked_floor_points
        points = min(max(placed.points, floor), maximum)
        paths = paths + _unverified(policy, "benchmarked_floor_points", "benchmark_basis")
        how = (
            f"its rate {number(result.performance_rate, 4)} (lower is better) is in decile "
            f"{placed.decile} of the {ADMINISTRATIVE_CLAIMS} benchmark, giving "
            f"{_pts(placed.points)} points"
            + (f", raised to the floor of {_pts(floor)}" if floor > placed.points else "")
        )
        extra |= {
            "performance_rate": result.performance_rate,
            "decile": placed.decile,
            "decile_lower_bounds": bounds.as_list(),
        }
    else:
        return not_scored("the loaded result has neither points nor a rate", extra)
    return ScoreNode(
        name="readmission",
        rule=READMISSION,
        points=rounded(points),
        maximum=maximum,
        title=title,
        explanation=(
            f"{group} with {result.case_count} cases (case minimum {rule.case_minimum}) is scored "
            f"on measure {rule.measure_id}: {how}. It adds {_pts(maximum)} points to the "
            "denominator."
        ),
        inputs={**base, **extra, "points": points},
        unverified=paths,
    )


# ---------------------------------------------------------------- bonuses


def _rate_above_zero(scored: _Scored) -> bool:
    """The bonus condition "performance rate above zero"; for an inverse measure, where 0% is
    the best rate, read as "not the worst rate" (below 100%)."""
    performance = scored.performance
    if performance is None or performance.rate is None:
        return False
    if scored.measure is not None and scored.measure.is_inverse:
        return performance.rate < _HUNDRED if performance.is_percent else True
    return performance.rate > 0


def _high_priority_bonus_node(
    scored: Sequence[_Measure],
    selection: _Selection,
    *,
    denominator: Decimal,
    policy: Policy,
) -> ScoreNode | None:
    bonus = policy.scoring.quality.high_priority_bonus
    if bonus is None:
        return None
    cap = rounded(bonus.cap_share * denominator)
    priority = [
        m for m in sorted(scored, key=lambda m: m.measure_id) if m.high_priority or m.outcome
    ]
    qualifying = {
        id(m)
        for m in priority
        if any(s.data_complete and s.case_minimum_met and _rate_above_zero(s) for s in m.instances)
    }
    # The one required measure earns no bonus: the measure in the required slot when it would
    # qualify, else the best qualifying one (CMS's engine, highPriorityBonusIgnored).
    required = selection.required
    if required is None or id(required) not in qualifying:
        required = min(
            (m for m in priority if id(m) in qualifying),
            key=lambda m: (-m.points, not m.outcome, m.measure_id),
            default=None,
        )
    children: list[ScoreNode] = []
    for m in priority:
        value = Decimal(bonus.outcome_points if m.outcome else bonus.other_points)
        kind = "an outcome or patient experience" if m.outcome else "a high-priority"
        if m is required:
            points, why = (
                _ZERO,
                "it is the one required high-priority measure, which earns no bonus",
            )
        elif id(m) not in qualifying:
            points = _ZERO
            why = (
                "a bonus needs data completeness, the case minimum and a performance rate above "
                "zero, which no collection type of it met"
            )
        else:
            points, why = value, f"{kind} measure beyond the required one"
        children.append(
            ScoreNode(
                name=m.measure_id,
                rule=HIGH_PRIORITY_BONUS,
                points=points,
                maximum=value,
                title=f"High-priority bonus, measure {m.measure_id}",
                explanation=f"Measure {m.measure_id}: {why}: {_pts(points)} bonus points.",
                inputs={
                    "measure_id": m.measure_id,
                    "measure_type": m.measure.measure_type if m.measure else None,
                    "bonus_points": value,
                },
                unverified=_unverified(policy, "high_priority_bonus"),
            )
        )
    total = sum((c.points for c in children), _ZERO)
    return ScoreNode(
        name="high_priority_bonus",
        rule=HIGH_PRIORITY_BONUS,
        points=min(total, cap),
        maximum=cap,
        combine=Combine.SUM,
        children=tuple(children),
        title="High-priority measure bonus",
        explanation=(
            f"{_pts(total)} bonus points for outcome, patient experience ({bonus.outcome_points} "
            f"each) and other high-priority measures ({bonus.other_points} each) beyond the "
            f"required one, counted or not; capped at {_share(bonus.cap_share)} of the "
            f"denominator ({_pts(cap)}): {_pts(min(total, cap))} points."
        ),
        inputs={
            "outcome_points": bonus.outcome_points,
            "other_points": bonus.other_points,
            "cap_share": bonus.cap_share,
            "cap": cap,
        },
        unverified=_unverified(policy, "high_priority_bonus"),
    )


def _end_to_end_bonus_node(
    scored: Sequence[_Measure], *, denominator: Decimal, policy: Policy
) -> ScoreNode | None:
    bonus = policy.scoring.quality.end_to_end_bonus
    if bonus is None:
        return None
    cap = rounded(bonus.cap_share * denominator)
    value = Decimal(bonus.points)
    children: list[ScoreNode] = []
    for m in sorted(scored, key=lambda m: m.measure_id):
        reported = [
            s
            for s in m.instances
            if s.performance is not None
            and s.performance.end_to_end
            and s.method not in NOT_END_TO_END
        ]
        if not reported:
            continue
        ok = [s for s in reported if s.data_complete]
        points = value if ok else _ZERO
        why = (
            f"reported end to end through {ok[0].method}"
            if ok
            else "reported end to end but below data completeness"
        )
        children.append(
            ScoreNode(
                name=m.measure_id,
                rule=END_TO_END_BONUS,
                points=points,
                maximum=value,
                title=f"End-to-end reporting bonus, measure {m.measure_id}",
                explanation=f"Measure {m.measure_id}: {why}: {_pts(points)} bonus points.",
                inputs={"measure_id": m.measure_id, "bonus_points": value},
                unverified=_unverified(policy, "end_to_end_bonus"),
            )
        )
    total = sum((c.points for c in children), _ZERO)
    return ScoreNode(
        name="end_to_end_bonus",
        rule=END_TO_END_BONUS,
        points=min(total, cap),
        maximum=cap,
        combine=Combine.SUM,
        children=tuple(children),
        title="End-to-end electronic reporting bonus",
        explanation=(
            f"{_pts(total)} bonus points ({bonus.points} per measure reported end to end with "
            f"certified EHR technology and meeting data completeness), capped at "
            f"{_share(bonus.cap_share)} of the denominator ({_pts(cap)}): "
            f"{_pts(min(total, cap))} points."
        ),
        inputs={"points_per_measure": bonus.points, "cap_share": bonus.cap_share, "cap": cap},
        unverified=_unverified(policy, "end_to_end_bonus"),
    )


def _small_practice_bonus_node(
    *, submitted: int, policy: Policy, context: ScoringContext
) -> ScoreNode | None:
    if not context.small_practice:
        return None
    bonus = policy.scoring.quality.small_practice_bonus_points
    points = bonus if submitted else _ZERO
    return ScoreNode(
        name="small_practice_bonus",
        rule=SMALL_PRACTICE_BONUS,
        points=points,
        maximum=bonus,
        title="Small practice bonus",
        explanation=(
            f"A small practice that submits at least one quality measure gets {_pts(bonus)} "
            f"points added to its quality score; {submitted} measurement(s) were submitted: "
            f"{_pts(points)} points."
        ),
        inputs={"measurements_submitted": submitted, "bonus_points": bonus},
        unverified=_unverified(policy, "small_practice_bonus_points"),
    )


# ---------------------------------------------------------------- improvement


def _improvement_node(
    *,
    achievement: Decimal,
    denominator: Decimal,
    full_participation: bool,
    participation_text: str,
    policy: Policy,
    context: ScoringContext,
) -> ScoreNode | None:
    prior = context.prior_year.quality_percent if context.prior_year is not None else None
    if prior is None or denominator <= 0:
        return None
    q = policy.scoring.quality
    most = q.improvement_max_percent
    maximum = rounded(most / _HUNDRED * denominator)
    current = achievement / denominator * _HUNDRED
    compared = max(prior, q.improvement_prior_floor_percent)
    inputs: dict[str, object] = {
        "prior_year_percent": prior,
        "compared_with_percent": compared,
        "current_achievement_percent": rounded(current),
        "improvement_max_percent": most,
        "full_participation": full_participation,
    }
    paths = _unverified(policy, "improvement_max_percent", "improvement_prior_floor_percent")
    floor_text = (
        f" (a prior score at or below {number(q.improvement_prior_floor_percent)}% is compared as "
        f"{number(q.improvement_prior_floor_percent)}%)"
        if compared > prior
        else ""
    )
    if not full_participation:
        percent = _ZERO
        text = (
            f"Improvement scoring needs full participation this year, but {participation_text}: "
            "0 points."
        )
    elif current <= compared:
        percent = _ZERO
        text = (
            f"This year's achievement of {number(current)}% (measure points over the denominator, "
            f"without bonuses) does not improve on {number(compared)}%{floor_text}: 0 points."
        )
    else:
        relative = (current - compared) / compared if compared else Decimal(1)
        percent = min(most, relative * most)
        text = (
            f"This year's achievement of {number(current)}% improves on last year's "
            f"{number(compared)}%{floor_text} by {_share(relative)} of it; improvement adds "
            f"{number(most)} percentage points per 100% improvement, at most {number(most)}: "
            f"{number(percent, 4)} percentage points, "
            f"{_pts(rounded(percent / _HUNDRED * denominator))} of the {_pts(denominator)}-point "
            "denominator."
        )
    inputs["improvement_percent"] = rounded(percent)
    return ScoreNode(
        name="improvement",
        rule=IMPROVEMENT,
        points=min(rounded(percent / _HUNDRED * denominator), maximum),
        maximum=maximum,
        title="Improvement scoring",
        explanation=text,
        inputs=inputs,
        unverified=paths,
    )


# ---------------------------------------------------------------- the category


def _participation(selection: _Selection, *, slots: int) -> tuple[bool, str]:
    """Full participation for improvement scoring: every slot holds a measure meeting data
    completeness, one of them an outcome or high-priority measure; else why not."""
    complete = [m for m in selection.counted if m.best.data_complete]
    full = len(complete) >= slots and not selection.outcome_missing
    why = (
        f"only {len(complete)} of the {slots} measure slots hold a measure meeting data "
        "completeness"
    )
    if selection.outcome_missing:
        why += " and no outcome or high-priority measure was reported"
    return full, why


def _quality_sets(sets: Iterable[MeasurementSet]) -> list[MeasurementSet]:
    return [s for s in sets if s.category is Category.QUALITY]


def score_quality(
    sets: Sequence[MeasurementSet],
    *,
    policy: Policy,
    measures: MeasuresYear,
    context: ScoringContext,
) -> ScoreNode:
    """The quality category node: ``points / maximum`` is the category's achievement share.

    ``sets`` may hold measurement sets of any category; only quality sets are read. The policy and
    the measures data must be for the same performance year.
    """
    if measures.year != policy.year:
        raise ValueError(
            f"the measures data is for {measures.year} but the policy for {policy.year}; "
            "score with one performance year's policy and measures data"
        )
    q = policy.scoring.quality
    if q.benchmark_basis != "deciles":
        raise ValueError(
            f"quality benchmark basis {q.benchmark_basis!r} is not implemented; "
            "policy scoring.quality.benchmark_basis must be 'deciles'"
        )
    top = Decimal(q.max_points_per_measure)
    small = context.small_practice
    quality_sets = _quality_sets(sets)
    scored = _score_measures(quality_sets, policy=policy, measures=measures, small=small)
    methods = frozenset(str(s.submission_method) for s in quality_sets if s.measurements)
    ema = _eligible_measure_applicability(scored, methods, policy=policy, measures=measures)
    slots = ema.slots
    selection = _select(scored, slots=slots, ema_applied=ema.applied)
    measures_node = _measures_node(selection, slots=slots, ema=ema, policy=policy)
    readmission = _readmission_node(policy=policy, measures=measures, context=context)
    denominator = measures_node.maximum or _ZERO
    if readmission is not None and readmission.maximum:
        denominator += readmission.maximum
    achievement = measures_node.points + (readmission.points if readmission is not None else _ZERO)

    children: list[ScoreNode] = [measures_node]
    if (not_counted := _not_counted_node(selection, slots=slots)) is not None:
        children.append(not_counted)
    if readmission is not None:
        children.append(readmission)
    bonus_nodes = (
        _high_priority_bonus_node(scored, selection, denominator=denominator, policy=policy),
        _end_to_end_bonus_node(scored, denominator=denominator, policy=policy),
        _small_practice_bonus_node(
            submitted=sum(len(s.measurements) for s in quality_sets),
            policy=policy,
            context=context,
        ),
    )
    children.extend(b for b in bonus_nodes if b is not None)

    full, participation = _participation(selection, slots=slots)
    improvement = _improvement_node(
        achievement=achievement,
        denominator=denominator,
        full_participation=full,
        participation_text=participation,
        policy=policy,
        context=context,
    )
    if improvement is not None:
        children.append(improvement)

    total = sum((c.points for c in children), _ZERO)
    points = min(total, denominator)
    share = points / denominator if denominator else _ZERO
    parts = listed([f"{c.title or c.name} {_pts(c.points)}" for c in children if c.points])
    explanation = (
        f"Quality: {_pts(points)} of {_pts(denominator)} points ({number(share * _HUNDRED, 4)}%)"
        + (f" = {parts}" if parts else "")
        + (f", capped at the denominator from {_pts(total)}" if total > denominator else "")
        + "."
    )
    if not quality_sets or not any(s.measurements for s in quality_sets):
        explanation += " No quality measure was submitted."
    warnings = tuple(
        f"Measurement set for program {s.program!r} was scored with the traditional MIPS "
        "quality rules."
        for s in quality_sets
        if s.program != PROGRAM_MIPS
    )
    denominator_paths = ("measures_required", "max_points_per_measure") + (
        ("readmission",) if readmission is not None and readmission.maximum else ()
    )
    return ScoreNode(
        name="quality",
        rule=CATEGORY,
        points=points,
        maximum=denominator,
        combine=Combine.SUM,
        children=tuple(children),
        title="Quality",
        explanation=explanation,
        inputs={
            "performance_year": policy.year,
            "denominator": denominator,
            "measures_required": q.measures_required,
            "slots": slots,
            "max_points_per_measure": top,
            "readmission_points": readmission.maximum if readmission is not None else None,
            "measurements_submitted": sum(len(s.measurements) for s in quality_sets),
            "measures_scored": len(scored),
            "collection_types": sorted(methods),
            "achievement_points": achievement,
            "category_percent": rounded(share * _HUNDRED),
            "small_practice": small,
            "measures_data": measures.source,
        },
        unverified=_unverified(policy, *denominator_paths),
        warnings=tuple(dict.fromkeys(warnings)),
    )
