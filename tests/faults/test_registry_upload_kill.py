"""SIGKILL of the server in the middle of registry upload confirmations ("I'm Sure, Confirm
Selections"), on SQLite and PostgreSQL: each upload's participant elections, their data,
receipts and audit records land whole or not at all, the audit log matches the elections one to
one, and a client that sends the same confirmation again after the restart gets the original
answer (303 to the confirmation page) without anything recorded twice.

1,000 participant elections: the practice's 1,000 opt-in eligible clinicians in 20 uploads of
50 files (one upload holds at most 50 files: 2019 election guide, "Upload Data"), confirmed
four at a time, the server killed at two points in the confirmations' transactions and
restarted, and the confirmations sent again after each restart."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from tests.support import fault_world
from tests.support.fault_world import FaultWorld, entity_key
from tests.support.faults import (
    KillPoint,
    Ledger,
    RegistryPages,
    Server,
    WriteProbe,
    kill_mid_transaction,
    measure_write,
    read_ledger,
    send_concurrently,
    upload_id,
)

from openqpp.services.submissions.uploads import MAX_FILES

UPLOADS = fault_world.CLINICIANS // MAX_FILES
KILL_POINTS = {
    "postgresql": (
        KillPoint("recording the elections", ("elections",)),
        KillPoint("storing the participants' data", ("elections", "submissions")),
    ),
    "sqlite": (
        KillPoint("as a write transaction starts"),
        KillPoint("half way through a write transaction", fraction=0.5),
    ),
}


def _groups() -> list[range]:
    return [range(u * MAX_FILES, (u + 1) * MAX_FILES) for u in range(UPLOADS)]


def _whole_or_nothing(ledger: Ledger, upload: str, group: range) -> list[str]:
    """What is half-done about one upload (empty: it landed whole, or nothing of it did)."""
    keys = [entity_key(i) for i in group]
    status = ledger.uploads[upload]
    if status == "confirmed":
        expected = {"elections": 1, "submissions": 1, "receipts": 1}
        held = 0
    else:
        expected = {"elections": 0, "submissions": 0, "receipts": 0}
        held = len(keys)
    found = {
        "elections": [len(ledger.elections.get(k, [])) for k in keys],
        "submissions": [ledger.submissions[k] for k in keys],
        "receipts": [ledger.receipts[k] for k in keys],
    }
    problems = [
        f"upload {upload} is {status} but its participants have {what} {sorted(set(counts))}"
        for what, counts in found.items()
        if set(counts) != {expected[what]}
    ]
    if status not in ("confirmed", "pending"):
        problems.append(f"upload {upload} is {status}")
    if ledger.held[upload] != held:
        problems.append(f"upload {upload} is {status} but holds {ledger.held[upload]} files' data")
    return problems


def _at_least(count: Callable[[], int], wanted: int) -> bool:
    return count() >= wanted


def _check(url: str, ids: list[str], groups: list[range]) -> Ledger:
    ledger = read_ledger(url)
    problems = [
        p for u, g in zip(ids, groups, strict=True) for p in _whole_or_nothing(ledger, u, g)
    ]
    problems += ledger.audit_problems()
    assert not problems, "after the kill:\n" + "\n".join(problems[:20])
    return ledger


def test_killed_upload_confirmations_land_whole_or_not_at_all_and_a_retry_gets_the_original_answer(
    large_world: FaultWorld, server: Server, probe: WriteProbe
) -> None:
    server.start()
    pages = RegistryPages(server.url)
    groups = _groups()
    paths = pages.stage_all(groups)
    ids = [upload_id(path) for path in paths]

    # Confirmations as they normally go: what every retry must answer, and how long a (warm)
    # write transaction lasts, for SQLite's kill points.
    normal = [measure_write(probe, partial(pages.confirm, paths[u], groups[u])) for u in (0, 1)]
    for u, (response, _) in enumerate(normal):
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"{paths[u]}/confirmed"
    write_seconds = min(seconds for _, seconds in normal)
    answered = {0, 1}

    def confirmed() -> int:
        return int(probe.scalar("SELECT count(*) FROM uploads WHERE status = 'confirmed'"))

    for point in KILL_POINTS[large_world.kind]:
        waiting = [u for u in range(UPLOADS) if u not in answered]
        landed_before = confirmed()
        sends = [partial(pages.confirm, paths[u], groups[u]) for u in waiting]
        outcomes, in_flight, join = send_concurrently(sends, threads=4)
        kill_mid_transaction(
            server,
            probe,
            point,
            write_seconds=write_seconds,
            ready=partial(_at_least, confirmed, landed_before + 2),
            in_flight=in_flight,
        )
        join()
        ledger = _check(large_world.url, ids, groups)
        for u, sent in zip(waiting, outcomes, strict=True):
            if sent.response is not None:
                # answered before the kill: it landed, and the answer was the usual one
                assert sent.response.status_code == 303, sent.response.text
                assert sent.response.headers["location"] == f"{paths[u]}/confirmed"
                assert ledger.uploads[ids[u]] == "confirmed"
                answered.add(u)
        landed = [u for u in waiting if ledger.uploads[ids[u]] == "confirmed"]
        assert len(landed) >= 2, f"{point.name}: the kill came before two more uploads landed"
        assert len(landed) < len(waiting), f"{point.name}: the kill came after every upload"
        server.start()

    # After the last restart every client sends its confirmation again, answered or not, and
    # twice at once (a person pressing the button twice): the same answer, nothing twice.
    before = read_ledger(large_world.url)
    twice = [u for u in range(UPLOADS) for _ in (1, 2)]
    retries, _, join = send_concurrently(
        [partial(pages.confirm, paths[u], groups[u]) for u in twice], threads=8
    )
    join()
    for u, sent in zip(twice, retries, strict=True):
        assert sent.response is not None, f"upload {u}: {sent.error!r}"
        assert sent.response.status_code == 303, sent.response.text
        assert sent.response.headers["location"] == f"{paths[u]}/confirmed"
    after = _check(large_world.url, ids, groups)
    assert set(after.uploads.values()) == {"confirmed"}
    assert len(after.elections) == fault_world.CLINICIANS
    for u in range(UPLOADS):
        if before.uploads[ids[u]] == "confirmed":
            unchanged = {entity_key(i): before.elections[entity_key(i)] for i in groups[u]}
            assert {k: after.elections[k] for k in unchanged} == unchanged
    page = pages.client.get(f"{paths[-1]}/confirmed")
    assert page.status_code == 200
    assert "Participation Selections Confirmed" in page.text
    assert f"{MAX_FILES} opted in" in page.text
    pages.close()
