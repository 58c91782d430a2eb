"""The one door for submitted data: validation, permission, the election gate, merge and
replace, receipts for every version, and what each caller sees (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from tests.support.elections_world import DEBARA, NOW_2019, World

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import AccessError
from openqpp.core.submissions import Submission
from openqpp.core.submissions.acceptance import (
    DuplicateMeasurementSet,
    ElectionRequired,
    Mode,
    NotFound,
    SubmissionInvalid,
)
from openqpp.db.models import AuditRecord, MeasurementSetRow, SubmissionReceipt, SubmissionRow
from openqpp.services import audit
from openqpp.services.elections import records
from openqpp.services.submissions import store

CONTEXT = audit.RequestContext(request_id="req-test", client_address="127.0.0.1")


def ia_submission(
    tin: str, *, npi: str | None = None, activities: dict[str, bool], year: int = 2019
) -> Submission:
    return Submission.from_qpp_json(
        {
            "performanceYear": year,
            "entityType": "individual" if npi else "group",
            "taxpayerIdentificationNumber": tin,
            **({"nationalProviderIdentifier": npi} if npi else {}),
            "measurementSets": [
                {
                    "category": "ia",
                    "submissionMethod": "registry",
                    "performanceStart": f"{year}-01-01",
                    "performanceEnd": f"{year}-12-31",
                    "measurements": [{"measureId": k, "value": v} for k, v in activities.items()],
                }
            ],
        }
    )


def _accept(world: World, user: str, submission: Submission, **kwargs: object) -> store.Accepted:
    with world.factory.begin() as session:
        return store.accept(
            session,
            principal=world.principal(user),
            submission=submission,
            context=CONTEXT,
            channel="api",
            now=NOW_2019,
            **kwargs,  # type: ignore[arg-type]
        )


def test_upload_merges_by_measure_id_and_keeps_every_version(world: World) -> None:
    first = _accept(
        world,
        "jordan.rivera",
        ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True, "IA_BE_4": True}),
        file=store.ReceivedFile.of("one.json", "qpp-json", b"{one}"),
    )
    second = _accept(
        world,
        "jordan.rivera",
        ia_submission(MIAMI_MEDICAL, activities={"IA_BE_4": False, "IA_CC_1": True}),
    )
    assert second.submission_id == first.submission_id
    assert second.set_ids == first.set_ids
    assert second.version == first.version + 1
    with world.factory() as session:
        receipts = store.receipts(session, first.submission_id)
        assert [r.version for r in receipts] == [1, 2]
        assert receipts[0].file_sha256 == store.sha256(b"{one}")
        latest = json.loads(receipts[-1].submission_json)
        values = {m["measureId"]: m["value"] for m in latest["measurementSets"][0]["measurements"]}
        assert values == {"IA_EPA_1": True, "IA_BE_4": False, "IA_CC_1": True}
        first_version = json.loads(receipts[0].submission_json)
        assert len(first_version["measurementSets"][0]["measurements"]) == 2
        assert receipts[0].determination_run_id is not None
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.object_id == first.submission_id)
        ).all()
        assert actions == ["submission.upload", "submission.merge"]


def test_replace_mode_replaces_the_whole_set(world: World) -> None:
    _accept(
        world,
        "jordan.rivera",
        ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True, "IA_BE_4": True}),
    )
    done = _accept(
        world,
        "jordan.rivera",
        ia_submission(MIAMI_MEDICAL, activities={"IA_CC_1": True}),
        mode=Mode.REPLACE,
    )
    with world.factory() as session:
        row = session.get(MeasurementSetRow, done.set_ids[0])
        assert row is not None
        assert [m.measure_id for m in row.measurements] == ["IA_CC_1"]


def test_create_mode_refuses_a_second_set_with_the_same_key(world: World) -> None:
    sub = ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True})
    _accept(world, "jordan.rivera", sub, mode=Mode.CREATE)
    with pytest.raises(DuplicateMeasurementSet):
        _accept(world, "jordan.rivera", sub, mode=Mode.CREATE)


def test_data_for_an_opt_in_eligible_clinician_without_an_election_is_refused(
    world: World,
) -> None:
    sub = ia_submission(MIAMI_MEDICAL, npi=DEBARA, activities={"IA_EPA_1": True})
    with pytest.raises(ElectionRequired) as refused:
        _accept(world, "maria.garcia", sub)
    assert refused.value.code == "OQ-SUB-101"
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(SubmissionRow)) == 0
        assert session.scalar(select(func.count()).select_from(SubmissionReceipt)) == 0
    with world.factory.begin() as session:
        records.confirm(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            level="individual",
            tin=MIAMI_MEDICAL,
            npi=DEBARA,
            kind="voluntary",
            typed="confirm",
            now=NOW_2019,
            context=CONTEXT,
        )
    done = _accept(world, "maria.garcia", sub)
    with world.factory() as session:
        receipt = session.get(SubmissionReceipt, done.receipt_id)
        assert receipt is not None
        assert receipt.election_id is not None


def test_invalid_data_is_refused_with_every_finding_and_nothing_stored(world: World) -> None:
    bad = ia_submission(MIAMI_MEDICAL, activities={"IA_NOPE_1": True, "IA_NOPE_2": True})
    with pytest.raises(SubmissionInvalid) as refused:
        _accept(world, "jordan.rivera", bad)
    assert len([f for f in refused.value.findings if f.is_error]) >= 2
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(SubmissionRow)) == 0


def test_a_registry_may_not_submit_for_a_practice_that_did_not_authorise_it(
    world: World,
) -> None:
    with pytest.raises(AccessError):
        _accept(world, "olga.other", ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True}))


def test_each_submitter_keeps_its_own_sets_and_sees_only_them(world: World) -> None:
    registry = _accept(
        world, "jordan.rivera", ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True})
    )
    practice = _accept(
        world, "maria.garcia", ia_submission(MIAMI_MEDICAL, activities={"IA_BE_4": True})
    )
    assert registry.submission_id == practice.submission_id
    assert registry.set_ids != practice.set_ids
    with world.factory() as session:
        row = session.get(SubmissionRow, registry.submission_id)
        assert row is not None
        seen_by_registry = store.visible_sets(
            session, principal=world.principal("jordan.rivera"), row=row, now=NOW_2019
        )
        seen_by_practice = store.visible_sets(
            session, principal=world.principal("maria.garcia"), row=row, now=NOW_2019
        )
        assert [s.id for s in seen_by_registry.sets] == list(registry.set_ids)
        assert len(seen_by_practice.sets) == 2
        with pytest.raises(NotFound):
            store.visible_sets(
                session, principal=world.principal("olga.other"), row=row, now=NOW_2019
            )


def test_delete_removes_only_the_callers_own_set_and_keeps_a_receipt(world: World) -> None:
    registry = _accept(
        world, "jordan.rivera", ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True})
    )
    with world.factory.begin() as session, pytest.raises(NotFound):
        store.delete_set(
            session,
            principal=world.principal("olga.other"),
            set_id=registry.set_ids[0],
            context=CONTEXT,
            channel="api",
            now=NOW_2019,
        )
    with world.factory.begin() as session:
        deleted = store.delete_set(
            session,
            principal=world.principal("jordan.rivera"),
            set_id=registry.set_ids[0],
            context=CONTEXT,
            channel="api",
            now=NOW_2019,
        )
    with world.factory() as session:
        assert session.get(MeasurementSetRow, registry.set_ids[0]) is None
        versions = store.receipts(session, registry.submission_id)
        assert [r.operation for r in versions] == ["merge", "delete"]
        assert deleted.version == 2
        assert json.loads(versions[-1].submission_json)["measurementSets"] == []


def test_receipts_cannot_be_changed_or_deleted(world: World) -> None:
    _accept(world, "jordan.rivera", ia_submission(MIAMI_MEDICAL, activities={"IA_EPA_1": True}))
    for statement in (
        "UPDATE submission_receipts SET actor = 'x'",
        "DELETE FROM submission_receipts",
    ):
        with world.factory.begin() as session, pytest.raises(DBAPIError):
            session.execute(text(statement))


def test_greenville_group_is_opt_in_eligible_so_its_data_waits_for_an_election(
    world: World,
) -> None:
    from tests.support.elections_world import NOW_2022

    sub = ia_submission(GREENVILLE_PODIATRY, activities={"IA_EPA_1": True}, year=2022)
    with world.factory.begin() as session, pytest.raises(ElectionRequired):
        store.accept(
            session,
            principal=world.principal("lee.wong"),
            submission=sub,
            context=CONTEXT,
            channel="web",
            now=NOW_2022,
        )
