"""Exactly one election per (performance year, entity), even when requests race: 50 threads,
each with its own connection and transaction against the real database, confirm the same
election at the same moment; one wins and 49 are told "already elected"."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import GREEN, NOW_2022, World

from openqpp.batch.demo import GREENVILLE_PODIATRY
from openqpp.core.elections import AlreadyElected
from openqpp.db.models import AuditRecord, Election
from openqpp.services import audit, elections
from openqpp.services.elections.common import election_facts, run_for

RACERS = 50


def _opt_in_greenville_as_a_group(world: World, user_id: str) -> None:
    """Another request's election, committed in a transaction of its own."""
    with world.factory.begin() as session:
        elections.confirm(
            session,
            principal=world.principal(user_id),
            year=2022,
            level="group",
            tin=GREENVILLE_PODIATRY,
            kind="opt_in",
            typed="CONFIRM",
            now=NOW_2022,
            context=audit.RequestContext(),
        )


def test_fifty_racing_confirmations_make_one_election_and_forty_nine_already_elected(
    world: World,
) -> None:
    principals = [world.principal("lee.wong"), world.principal("sam.smith")]
    factory = world.factory
    start = threading.Barrier(RACERS)
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()

    def race(number: int) -> None:
        kind = "opt_in" if number % 2 == 0 else "voluntary"
        start.wait()
        try:
            with factory.begin() as session:
                confirmed = elections.confirm(
                    session,
                    principal=principals[number % 2],
                    year=2022,
                    level="group",
                    tin=GREENVILLE_PODIATRY,
                    kind=kind,
                    typed="CONFIRM",
                    now=NOW_2022,
                    context=audit.RequestContext(request_id=f"race-{number}"),
                )
            outcome: tuple[str, object] = ("elected", confirmed.election.id)
        except AlreadyElected as exc:
            outcome = ("already_elected", exc.existing.kind.value)
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            outcome = ("error", repr(exc))
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    counts = Counter(kind for kind, _ in outcomes)
    assert counts == {"elected": 1, "already_elected": RACERS - 1}, outcomes
    with factory() as session:
        (row,) = session.scalars(select(Election)).all()
        audited = session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "election.confirmed")
        )
    assert audited == 1
    # every loser was told what the winner elected
    assert {value for kind, value in outcomes if kind == "already_elected"} == {row.kind}


def test_a_race_lost_after_every_check_passed_is_still_already_elected(world: World) -> None:
    """The unique constraint, not the checks, decides: a request that passed every rule while
    the other was still uncommitted loses at the insert and is answered "already elected"."""
    from openqpp.core.elections import Channel, ElectionKind, ElectionRequest, Entity
    from openqpp.services.elections import records

    principal = world.principal("lee.wong")
    request = ElectionRequest(Entity.group(GREENVILLE_PODIATRY), ElectionKind.VOLUNTARY, "confirm")
    with world.factory.begin() as late:
        decided = records.decide(
            late, principal=principal, request=request, year=2022, now=NOW_2022,
            channel=Channel.WEB,
        )  # fmt: skip
        _opt_in_greenville_as_a_group(world, "sam.smith")
        with pytest.raises(AlreadyElected) as caught:
            records.insert_election(
                late, decided, principal=principal, channel=Channel.WEB, request_id=None
            )
        assert caught.value.existing.kind.value == "opt_in"
        assert caught.value.code == "OQ-ELECT-002"
    with world.factory() as session:
        (row,) = session.scalars(select(Election)).all()
    assert (row.kind, row.actor) == ("opt_in", "sam.smith")


def test_racing_repeats_of_one_request_with_its_idempotency_key_all_get_its_result(
    world: World,
) -> None:
    """A client that retries while its first request is still running gets the first request's
    response, not "already elected"."""
    from tests.support.elections_world import DEBARA

    from openqpp.batch.demo import MIAMI_MEDICAL

    principal = world.principal("jordan.rivera")
    racers = 10
    start = threading.Barrier(racers)
    bodies: list[object] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        with world.factory.begin() as session:
            result = elections.submit(
                session,
                principal=principal,
                items=[elections.SubmitItem(tin=MIAMI_MEDICAL, npi=DEBARA, decision="opt_in")],
                year=2022,
                typed="CONFIRM",
                now=NOW_2022,
                context=audit.RequestContext(),
                idempotency_key="retry-key-1",
            )
        with lock:
            bodies.append((result.status_code, result.body))

    threads = [threading.Thread(target=send) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(bodies) == racers
    assert len({repr(b) for b in bodies}) == 1, bodies
    with world.factory() as session:
        assert len(session.scalars(select(Election)).all()) == 1


def test_a_batch_that_loses_a_race_for_one_entity_inserts_none_and_names_that_entity(
    world: World,
) -> None:
    """A batch's elections go in as one multi-row insert: when another request elected one of
    its entities after the rules passed, none of the batch is inserted and the refusal names
    the entity that lost (its position in the batch)."""
    from openqpp.core.elections import Channel, ElectionKind, ElectionRequest, Entity
    from openqpp.services.elections import records

    principal = world.principal("sam.smith")
    green = Entity.individual(GREENVILLE_PODIATRY, GREEN)
    requests = [
        ElectionRequest(green, ElectionKind.OPT_IN, "CONFIRM"),
        ElectionRequest(Entity.group(GREENVILLE_PODIATRY), ElectionKind.VOLUNTARY, "confirm"),
    ]
    with world.factory.begin() as late:
        run = run_for(late, 2022)
        facts = election_facts(late, run, 2022, [r.entity for r in requests])
        decided = [
            records.decide(
                late, principal=principal, request=r, year=2022, now=NOW_2022,
                channel=Channel.WEB, run=run, facts=facts,
            )
            for r in requests
        ]  # fmt: skip
        _opt_in_greenville_as_a_group(world, "lee.wong")
        with pytest.raises(records.RaceLost) as caught:
            records.insert_elections(
                late, decided, principal=principal, channel=Channel.WEB, request_id=None
            )
    assert caught.value.position == 1
    assert caught.value.error.code == "OQ-ELECT-002"
    assert caught.value.error.existing.kind.value == "opt_in"
    with world.factory() as session:
        (row,) = session.scalars(select(Election)).all()
    assert (row.level, row.actor) == ("group", "lee.wong")


def test_an_idempotency_key_taken_meanwhile_refuses_the_whole_request(world: World) -> None:
    """Two requests under one key with different bodies, the other committed between this
    one's key check and its end: this one is refused and nothing of it is stored, on a
    transaction that failed at the key's insert (no SAVEPOINT around it)."""
    from openqpp.core.elections import IdempotencyKeyReused
    from openqpp.db.models import IdempotencyRecord
    from openqpp.services.elections import records

    key, scope = "key-taken-meanwhile", "token:1"

    def answer(fingerprint: str) -> dict[str, object]:
        return {
            "scope": scope, "key": key, "fingerprint_": fingerprint, "status_code": 200,
            "body": {}, "now": NOW_2022,
        }  # fmt: skip

    def this_request() -> None:
        with world.factory.begin() as session:
            assert records.stored_response(session, scope=scope, key=key, fingerprint_="a") is None
            with world.factory.begin() as other:  # the other request ends first
                records.store_response(other, **answer("b"))  # type: ignore[arg-type]
            session.add(  # this request's own work
                IdempotencyRecord(
                    scope=scope, key="this-request's-other-row", fingerprint="a",
                    status_code=200, body={}, created_at=NOW_2022,
                )
            )  # fmt: skip
            records.store_response(session, **answer("a"))  # type: ignore[arg-type]

    with pytest.raises(IdempotencyKeyReused) as caught:
        this_request()
    assert caught.value.code == "OQ-ELECT-010"
    assert "at the same time" in caught.value.message
    with world.factory() as session:
        stored = session.scalars(select(IdempotencyRecord.key)).all()
    assert stored == [key]
