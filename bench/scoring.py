"""Preliminary scoring throughput, warm, in one process.

Generates realistic submissions in memory from the year's real measures data: six quality
measures that have a registry benchmark (random rates and counts), a complete Promoting
Interoperability set (random numerators, sometimes an exclusion or a bonus), two to six
improvement activities, and a scoring context with random special statuses and CMS cost
results. Scores them all with the full engine (quality, PI, IA, cost, weights, final score,
payment adjustment estimate) and prints submissions per second. Every tree is checked with
check_tree once before timing. Figures are reported, never asserted.

    OPENQPP_MEASURES_DATA=../shared/data/qpp-measures-data .venv/bin/python bench/scoring.py
    .venv/bin/python bench/scoring.py --year 2022 --count 5000 --seconds 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from openqpp.core.scoring.context import CostMeasureResult, ScoringContext, SpecialStatus
from openqpp.core.scoring.engine import score_submission
from openqpp.core.scoring.tree import check_tree
from openqpp.core.submissions.model import (
    Category,
    EntityType,
    Measurement,
    MeasurementSet,
    MeasurementValue,
    PerformanceCounts,
    Proportion,
    SinglePerformanceRate,
    Submission,
    SubmissionMethod,
)
from openqpp.measures import MeasuresCatalogue, MeasuresYear
from openqpp.policy import Policy, load_policy
from openqpp.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
CEHRT_IDS = ("0015C8D3A2F7C1B", "0015E8D3A2F7C1B")


def _rate(rng: random.Random) -> SinglePerformanceRate:
    eligible = rng.randint(20, 2000)
    met = rng.randint(0, eligible)
    return SinglePerformanceRate(
        is_end_to_end_reported=rng.random() < 0.5,
        counts=PerformanceCounts(
            performance_met=met, eligible_population=eligible, performance_not_met=eligible - met
        ),
    )


def _pi_values(
    policy: Policy, measures: MeasuresYear, rng: random.Random
) -> dict[str, MeasurementValue]:
    values: dict[str, MeasurementValue] = dict.fromkeys(
        policy.scoring.pi.required_attestations, True
    )
    for measure_id, rule in policy.scoring.pi.measures.items():
        record = measures.pi(measure_id)
        if record is None or measure_id in ("PI_HIE_5", "PI_HIE_6"):
            continue
        if rule.bonus and rng.random() < 0.7:
            continue
        if not rule.required and not rule.bonus and rng.random() < 0.6:
            continue
        if record.metric_type == "proportion":
            denominator = rng.randint(10, 5000)
            values[measure_id] = Proportion(rng.randint(1, denominator), denominator)
        else:
            values[measure_id] = True
        if rule.required and record.exclusion and rng.random() < 0.05:
            del values[measure_id]
            values[record.exclusion[0]] = True
    return values


def make_submissions(
    year: int, measures: MeasuresYear, policy: Policy, count: int, seed: int
) -> list[tuple[Submission, ScoringContext]]:
    rng = random.Random(seed)
    benchmarked = sorted(
        {
            b.measure_id
            for b in measures.benchmarks
            if b.submission_method == "registry"
            and (q := measures.quality(b.measure_id)) is not None
            and q.metric_type == "singlePerformanceRate"
        }
    )
    activities = [
        a.measure_id for a in measures.improvement_activities if a.measure_id != "IA_PCMH"
    ]
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    statuses = list(SpecialStatus)
    out: list[tuple[Submission, ScoringContext]] = []
    for n in range(count):
        quality = MeasurementSet(
            Category.QUALITY,
            SubmissionMethod.REGISTRY,
            tuple(Measurement(m, _rate(rng)) for m in rng.sample(benchmarked, 6)),
            performance_start=start,
            performance_end=end,
        )
        pi_values = _pi_values(policy, measures, rng)
        pi = MeasurementSet(
            Category.PI,
            SubmissionMethod.ELECTRONIC_HEALTH_RECORD,
            tuple(Measurement(k, v) for k, v in pi_values.items()),
            performance_start=start,
            performance_end=end,
            cehrt_id=rng.choice(CEHRT_IDS),
        )
        ia = MeasurementSet(
            Category.IA,
            SubmissionMethod.REGISTRY,
            tuple(Measurement(a, True) for a in rng.sample(activities, rng.randint(2, 6))),
            performance_start=start,
            performance_end=end,
        )
        entity = rng.choice([EntityType.GROUP, EntityType.INDIVIDUAL])
        submission = Submission(
            performance_year=year,
            entity_type=entity,
            tin=f"{n:09d}",
            npi="1234567893" if entity is EntityType.INDIVIDUAL else None,
            measurement_sets=(quality, pi, ia),
        )
        context = ScoringContext(
            entity_type=entity,
            special_statuses=frozenset(s for s in statuses if rng.random() < 0.1),
            cost_results=tuple(
                CostMeasureResult(
                    m,
                    rng.randint(0, 80),
                    20,
                    Decimal(rng.randint(100, 1000)) / 100,
                )
                for m in ("TPCC_1", "MSPB_1")
            ),
        )
        out.append((submission, context))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--count", type=int, default=2000, help="distinct submissions")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time (min.)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    roots = list(get_settings().measures_roots)
    shared_data = SHARED / "data" / "qpp-measures-data"
    if shared_data.is_dir() and shared_data not in roots:
        roots.append(shared_data)
    measures = MeasuresCatalogue(roots).year(args.year)
    policy = load_policy(args.year)
    cases = make_submissions(args.year, measures, policy, args.count, args.seed)

    # Warm-up round: also proves every tree is consistent.
    finals = []
    for submission, context in cases:
        tree = score_submission(submission, policy=policy, measures=measures, context=context)
        problems = check_tree(tree)
        if problems:
            raise SystemExit(f"inconsistent tree for {submission.tin}: {problems}")
        finals.append(tree.points)

    rounds: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds or len(rounds) < 3:
        tick = time.perf_counter()
        for submission, context in cases:
            score_submission(submission, policy=policy, measures=measures, context=context)
        rounds.append(time.perf_counter() - tick)
    elapsed = sum(rounds)
    scored = len(rounds) * len(cases)
    median_round = statistics.median(rounds)
    print(f"performance year {args.year}, measures data: {measures.source}")
    print(
        f"submissions: {len(cases)} distinct (6 quality measures, a full PI set, 2-6 activities, "
        "2 cost measures each)"
    )
    print(f"final scores: min {min(finals)}, median {statistics.median(finals)}, max {max(finals)}")
    print(f"python {sys.version.split()[0]}, {len(rounds)} rounds in {elapsed:.1f} s")
    print(
        f"throughput: {scored / elapsed:.0f} submissions/s "
        f"(median round: {len(cases) / median_round:.0f} submissions/s, "
        f"{median_round / len(cases) * 1e6:.0f} us per submission)"
    )


if __name__ == "__main__":
    main()
