"""bench/load.py at a toy size: the real server under a few seconds of mixed load keeps every
election exactly once, with its audit record, and answers no request with an error. Checks the
integrity report only, never timings."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bench import load
from tests.conftest import _database_kinds, _postgres_url


def _options(cache: Path) -> load.Options:
    return load.Options(
        clinicians=3_000,
        tins=600,
        lines=150_000,
        near_threshold=0.04,
        pool=1_000,
        practice_tokens=2,
        seconds=3,
        # No warm-up: the toy run has ~120 entities to elect for, which a fast machine elects
        # for within a second, so a warm-up could use them all up before the measured window
        # and leave no election in it (CI failed that way).
        warmup=0,
        workers=2,
        concurrency=8,
        clients=1,
        mix=load.parse_mix("npi=40,roster=10,elect=40,score=10"),
        election_batch=3,
        roster_rows=20,
        replay_share=0.2,
        race_share=0.1,
        baseline_lookups=20,
        cache_dir=cache,
        log_level="warning",
    )


@pytest.mark.parametrize("kind", _database_kinds())
def test_load_run_keeps_every_election_exactly_once_and_answers_no_error(
    kind: str, tmp_path: Path
) -> None:
    options = _options(tmp_path)
    if kind == "sqlite":
        target = load.Target("sqlite")
    else:
        base = load.make_url(_postgres_url() or "")
        name = f"openqpp_t_load_{uuid.uuid4().hex[:8]}"
        target = load.Target("postgresql", base.set(database=name).render_as_string(False))
    try:
        result = load.measure(target, options)
    finally:
        if kind == "postgresql":
            load.drop_postgres(target, options)
    integrity = result.integrity
    problems = (
        integrity.lost
        + integrity.duplicated
        + integrity.unexpected
        + integrity.audit_problems
        + integrity.replay_problems
        + integrity.race_problems
    )
    assert integrity.ok, problems
    assert integrity.answered > 0
    assert integrity.recorded == integrity.answered + integrity.unknown_recorded
    assert integrity.audit_records == integrity.recorded
    assert integrity.replays > 0
    assert integrity.races > 0
    assert result.errors == {}
    assert {e.kind for e in result.endpoints} >= {"npi", "roster", "elect", "score"}
