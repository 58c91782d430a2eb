"""SIGKILL of the server in the middle of a batch election call (`PUT /api/eligibility/opt-in`,
100 entities, an Idempotency-Key), on SQLite and PostgreSQL: the batch lands whole or not at
all, the audit log matches the elections one to one, and the client's retry with the same key
after the restart either gets the original answer (`Idempotency-Replayed: true`) when the batch
had landed, or records it now when it had not: never twice."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import httpx
from tests.support import fault_world
from tests.support.fault_world import FaultWorld, entity_key
from tests.support.faults import (
    KillPoint,
    Ledger,
    Server,
    WriteProbe,
    kill_mid_transaction,
    measure_write,
    read_ledger,
    send_concurrently,
    wait_until,
)

BATCH = 100
REPLAYED = "Idempotency-Replayed"
AFTER_COMMIT = KillPoint("just after the commit")
KILL_POINTS = {
    "postgresql": (
        KillPoint("recording the elections", ("elections",), certain=True),
        AFTER_COMMIT,
    ),
    "sqlite": (
        KillPoint("as the write transaction starts", certain=True),
        KillPoint("half way through the write transaction", fraction=0.5),
        AFTER_COMMIT,
    ),
}


def _put(server: Server, token: str, batch: range, key: str) -> httpx.Response:
    body = {
        "data": [
            {"tin": fault_world.PRACTICE, "npi": fault_world.npi(i), "decision": "opt_in"}
            for i in batch
        ],
        "year": fault_world.YEAR,
        "confirm": "CONFIRM",
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    return httpx.put(f"{server.url}/api/eligibility/opt-in", json=body, headers=headers, timeout=60)


def _election_ids(body: dict[str, Any]) -> list[int]:
    return [int(item["electionId"]) for item in body["data"]]


def _landed(ledger: Ledger, batch: range) -> list[int]:
    """The batch's election ids in request order; fails if only part of it landed."""
    ids = [ledger.election_id(entity_key(i)) for i in batch]
    found = [i for i in ids if i is not None]
    assert len(found) in (0, len(ids)), f"{len(found)} of the {len(ids)} elections landed"
    assert not ledger.audit_problems(), "\n".join(ledger.audit_problems()[:20])
    return found


def test_a_killed_batch_election_lands_whole_or_not_at_all_and_its_key_never_records_twice(
    large_world: FaultWorld, server: Server, probe: WriteProbe
) -> None:
    server.start()
    token = large_world.token

    # The call as it normally goes, and its repeat: the original answer, marked replayed. A
    # second batch measures how long a (warm) write transaction lasts, for SQLite's kill points.
    normal = range(0, BATCH)
    key = str(uuid.uuid4())
    first = _put(server, token, normal, key)
    assert first.status_code == 200, first.text
    assert REPLAYED not in first.headers
    again = _put(server, token, normal, key)
    assert again.status_code == 200, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert _landed(read_ledger(large_world.url), normal) == _election_ids(first.json())
    measured = range(BATCH, 2 * BATCH)
    timed = partial(_put, server, token, measured, str(uuid.uuid4()))
    second, write_seconds = measure_write(probe, timed)
    assert second.status_code == 200, second.text

    for n, point in enumerate(KILL_POINTS[large_world.kind], start=2):
        batch = range(n * BATCH, (n + 1) * BATCH)
        key = str(uuid.uuid4())
        outcomes, in_flight, join = send_concurrently(
            [partial(_put, server, token, batch, key)], threads=1
        )
        if point is AFTER_COMMIT:
            total = (n + 1) * BATCH

            def committed(total: int = total) -> bool:
                return int(probe.scalar("SELECT count(*) FROM elections")) >= total

            wait_until(committed, timeout=60, what="the batch's commit")
            server.kill()
        else:
            kill_mid_transaction(
                server, probe, point, write_seconds=write_seconds, in_flight=in_flight
            )
        join()
        original = outcomes[0].response
        ledger = read_ledger(large_world.url)
        landed = _landed(ledger, batch)
        assert (key in ledger.idempotency) == bool(landed)
        if point.certain:
            assert not landed, f"killed {point.name}, yet the batch landed"
        if point is AFTER_COMMIT:
            assert landed, "killed after the commit, yet the batch is not there"

        server.start()
        retry = _put(server, token, batch, key)
        assert retry.status_code == 200, retry.text
        if landed:
            assert retry.headers.get(REPLAYED) == "true", f"{point.name}: not a replay"
            assert retry.json() == ledger.idempotency[key]
            assert _election_ids(retry.json()) == landed
            if original is not None:
                assert original.json() == retry.json()
        else:
            assert original is None, "the client got an answer for a batch that did not land"
            assert REPLAYED not in retry.headers, f"{point.name}: replayed what never landed"
            repeat = _put(server, token, batch, key)
            assert repeat.headers.get(REPLAYED) == "true"
            assert repeat.json() == retry.json()
        after = read_ledger(large_world.url)
        assert _landed(after, batch) == _election_ids(retry.json())
        assert len(after.elections) == (n + 1) * BATCH
