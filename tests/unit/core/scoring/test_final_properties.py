"""Properties of every score tree: the final score stays in [0, cap], every parent equals its
children (check_tree), and the category weights sum to 100 unless the neutral score applies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.scoring import CEHRT_15C, CEHRT_15E, measures_year, submission

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
from openqpp.core.scoring.final import CATEGORIES
from openqpp.core.scoring.tree import Combine, check_tree
from openqpp.core.submissions.model import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    SubmissionMethod,
)
from openqpp.policy import load_policy

YEARS = [2019, 2020, 2021, 2022, 2023, 2024, 2025]
CATEGORY_NAMES = ["quality", "cost", "ia", "pi"]


@st.composite
def pi_value(draw: st.DrawFn, metric: str) -> MeasurementValue:
    if metric == "proportion":
        denominator = draw(st.integers(0, 500))
        return Proportion(draw(st.integers(0, denominator)), denominator)
    return draw(st.booleans())


@st.composite
def single_rate(draw: st.DrawFn) -> SinglePerformanceRate:
    eligible = draw(st.integers(0, 400))
    met = draw(st.integers(0, eligible))
    not_met = draw(st.integers(0, eligible - met))
    return SinglePerformanceRate(
        is_end_to_end_reported=draw(st.booleans()),
        counts=PerformanceCounts(
            performance_met=met, eligible_population=eligible, performance_not_met=not_met
        ),
    )


@st.composite
def scenario(draw: st.DrawFn) -> tuple[int, tuple[MeasurementSet, ...], ScoringContext]:
    year = draw(st.sampled_from(YEARS))
    measures = measures_year(year)
    sets: list[MeasurementSet] = []
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if draw(st.booleans()):
        pi_measures = draw(
            st.lists(
                st.sampled_from(measures.pi_measures), max_size=30, unique_by=lambda m: m.measure_id
            )
        )
        measurements = tuple(
            Measurement(m.measure_id, draw(pi_value(m.metric_type))) for m in pi_measures
        )
        sets.append(
            MeasurementSet(
                Category.PI,
                draw(st.sampled_from(list(SubmissionMethod))),
                measurements,
                performance_start=start,
                performance_end=draw(st.sampled_from([end, dt.date(year, 2, 1)])),
                cehrt_id=draw(st.sampled_from([None, CEHRT_15C, CEHRT_15E, "bad"])),
            )
        )
        if draw(st.booleans()) and measurements:
            sets.append(
                MeasurementSet(
                    Category.PI,
                    SubmissionMethod.REGISTRY,
                    measurements[: draw(st.integers(0, len(measurements)))],
                    performance_start=start,
                    performance_end=end,
                    cehrt_id=sets[0].cehrt_id,
                )
            )
    if draw(st.booleans()):
        quality = [
            m
            for m in measures.quality_measures
            if m.metric_type == "singlePerformanceRate" and "registry" in m.submission_methods
        ]
        chosen = draw(
            st.lists(st.sampled_from(quality), max_size=8, unique_by=lambda m: m.measure_id)
        )
        sets.append(
            MeasurementSet(
                Category.QUALITY,
                SubmissionMethod.REGISTRY,
                tuple(Measurement(m.measure_id, draw(single_rate())) for m in chosen),
                performance_start=start,
                performance_end=end,
            )
        )
    if draw(st.booleans()):
        activities = draw(
            st.lists(
                st.sampled_from(measures.improvement_activities),
                max_size=8,
                unique_by=lambda m: m.measure_id,
            )
        )
        sets.append(
            MeasurementSet(
                Category.IA,
                SubmissionMethod.REGISTRY,
                tuple(Measurement(a.measure_id, draw(st.booleans())) for a in activities),
                performance_start=start,
                performance_end=end,
            )
        )
    cost = draw(
        st.lists(
            st.builds(
                CostMeasureResult,
                measure_id=st.sampled_from(["TPCC_1", "MSPB_1", "COST_X"]),
                case_count=st.integers(0, 60),
                case_minimum=st.sampled_from([10, 20, 35]),
                points=st.one_of(
                    st.none(),
                    st.decimals(min_value=1, max_value=10, places=2),
                ),
            ),
            max_size=4,
        )
    )
    context = ScoringContext(
        entity_type=draw(st.sampled_from([EntityType.INDIVIDUAL, EntityType.GROUP])),
        special_statuses=frozenset(draw(st.lists(st.sampled_from(list(SpecialStatus))))),
        certified_pcmh=draw(st.booleans()),
        apm_participation_share=draw(
            st.sampled_from([None, Decimal(0), Decimal("0.5"), Decimal(1)])
        ),
        approved_exceptions=tuple(
            ApprovedException(kind, tuple(categories))
            for kind, categories in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(list(ExceptionKind)),
                        st.lists(st.sampled_from(CATEGORY_NAMES), min_size=1, unique=True),
                    ),
                    max_size=2,
                )
            )
        ),
        cost_results=tuple(cost),
        prior_year=draw(
            st.sampled_from(
                [None, PriorYearScores(cost_percent=Decimal(30)), PriorYearScores(Decimal(50))]
            )
        ),
        complex_patient=draw(
            st.sampled_from(
                [
                    None,
                    ComplexPatientInputs(Decimal("2.5"), Decimal("0.3"), Decimal("1.5")),
                    ComplexPatientInputs(Decimal("0.5"), None, None),
                ]
            )
        ),
        submitted_despite_reweighting=frozenset(
            draw(st.lists(st.sampled_from(CATEGORY_NAMES), unique=True, max_size=2))
        ),
        scaling_factor=draw(st.sampled_from([None, Decimal("0.4"), Decimal(4)])),
    )
    return year, tuple(sets), context


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario())
def test_every_final_score_is_in_bounds_and_its_tree_checks(
    case: tuple[int, tuple[MeasurementSet, ...], ScoringContext],
) -> None:
    year, sets, context = case
    policy = load_policy(year)
    tree = score_submission(
        submission(year, *sets), policy=policy, measures=measures_year(year), context=context
    )
    assert check_tree(tree) == ()
    cap = policy.scoring.final_score_cap
    assert Decimal(0) <= tree.points <= cap
    category_nodes = [c for c in tree.children if c.name in CATEGORIES]
    assert [c.name for c in category_nodes] == list(CATEGORIES)
    total_weight = sum((c.weight or Decimal(0) for c in category_nodes), Decimal(0))
    if tree.combine is Combine.RULE:
        assert tree.rule == "final.neutral_score"
        assert tree.points == policy.scoring.payment_adjustment.performance_threshold
    else:
        assert total_weight == 100
    for node in tree.walk():
        assert node.explanation.strip(), node.name
        assert node.rule
    adjustment = tree.inputs["payment_adjustment"]
    assert isinstance(adjustment, dict)
    percent = Decimal(adjustment["percent"])
    limit = policy.scoring.payment_adjustment.max_adjustment_percent
    assert -limit <= percent <= limit * policy.scoring.payment_adjustment.max_scaling_factor
