"""The registry file upload with per-participant elections (2019 election guide, "Registry
Election Process"; 2022 guide, Steps 2-6), on SQLite and PostgreSQL: exact outcomes per
choice, cancel, the 50-file limit, error reports, CONFIRM, and all-or-nothing under a crash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import DEBARA, GREEN, LAKESIDE, NOW_2019, NOW_2022, RIVERA, World
from tests.support.registry_uploads import (
    bad_qpp_json,
    qpp_json,
    qrda3_from_reference,
    qrda3_with_converter_errors,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import AccessError
from openqpp.core.elections import ConfirmationRequired, ElectionKind
from openqpp.core.eligibility import Status
from openqpp.db.models import (
    AuditRecord,
    Election,
    Notification,
    SubmissionReceipt,
    SubmissionRow,
    Upload,
    UploadFile,
)
from openqpp.services import access, audit
from openqpp.services.submissions import store, uploads

CONTEXT = audit.RequestContext(request_id="req-upload", client_address="127.0.0.1")
VENDOR = "AAN-QCDR"
OPT_IN = ElectionKind.OPT_IN
VOLUNTARY = ElectionKind.VOLUNTARY
NO_DECISION = ElectionKind.NO_DECISION


def _stage(
    world: World,
    files: list[tuple[str, bytes]],
    *,
    year: int = 2022,
    user: str = "alex.chen",
    **kwargs: Any,
) -> uploads.UploadView:
    with world.factory.begin() as session:
        return uploads.stage_upload(
            session,
            principal=world.principal(user),
            vendor_id=VENDOR,
            files=files,
            now=NOW_2022 if year == 2022 else NOW_2019,
            context=CONTEXT,
            year=year,
            **kwargs,
        )


def _confirm(
    world: World,
    upload: uploads.UploadView,
    decisions: Mapping[str, ElectionKind | None],
    typed: str | None = "CONFIRM",
    *,
    user: str = "alex.chen",
) -> uploads.UploadView:
    with world.factory.begin() as session:
        return uploads.confirm_upload(
            session,
            principal=world.principal(user),
            vendor_id=VENDOR,
            upload_id=upload.id,
            decisions=decisions,
            typed=typed,
            now=NOW_2022 if upload.year == 2022 else NOW_2019,
            context=CONTEXT,
        )


def _count(world: World, model: Any, *where: Any) -> int:
    with world.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _audit_actions(world: World) -> list[str]:
    with world.factory() as session:
        return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))


def _authorise_greenville_group(world: World) -> None:
    """The world authorises AAN-QCDR only for Alex Green at Greenville in 2022; the group's
    data and election need the practice's authorisation too."""
    with world.factory.begin() as session:
        access.operator_authorise(
            session,
            practice_tin=GREENVILLE_PODIATRY,
            registry_vendor_id=VENDOR,
            performance_year=2022,
            evidence="test agreement (group)",
        )


def _files_2022() -> list[tuple[str, bytes]]:
    return [
        ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
        ("green.xml", qrda3_from_reference(tin=GREENVILLE_PODIATRY, npi=GREEN, year=2022)),
        ("greenville-group.json", qpp_json(GREENVILLE_PODIATRY, year=2022)),
        ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
        ("miami-group.json", qpp_json(MIAMI_MEDICAL, year=2022)),
    ]


def test_each_opt_in_eligible_participant_gets_exactly_the_choice_made(world: World) -> None:
    _authorise_greenville_group(world)
    staged = _stage(world, _files_2022())
    assert [f.ok for f in staged.files] == [True] * 5
    assert staged.files[1].kind == "qrda3"
    choosing = {p.key: p for p in staged.choosing}
    debara, green, group = (
        f"{MIAMI_MEDICAL}/{DEBARA}",
        f"{GREENVILLE_PODIATRY}/{GREEN}",
        GREENVILLE_PODIATRY,
    )
    assert set(choosing) == {debara, green, group}
    assert all(p.status is Status.OPT_IN_ELIGIBLE for p in staged.choosing)
    assert choosing[debara].name == "Debara Jones"
    assert choosing[group].name == "Greenville Podiatry"
    assert {p.key: p.display for p in staged.others} == {
        MIAMI_MEDICAL: "MIPS ELIGIBLE",
        f"{MIAMI_MEDICAL}/{RIVERA}": "MIPS ELIGIBLE",
    }
    assert staged.unchosen == 3
    # nothing is in the submissions while the upload waits for the choices
    assert _count(world, SubmissionRow) == 0

    done = _confirm(world, staged, {debara: OPT_IN, green: VOLUNTARY, group: NO_DECISION})

    assert done.status == uploads.CONFIRMED
    assert {c.kind: c.count for c in done.counts} == {OPT_IN: 1, VOLUNTARY: 1, NO_DECISION: 1}
    assert [f.outcome for f in done.files] == [
        "stored",
        "stored",
        uploads.DROPPED,
        "stored",
        "stored",
    ]
    with world.factory() as session:
        elections = {
            e.entity_key: e for e in session.scalars(select(Election).order_by(Election.id))
        }
        assert set(elections) == {debara, green}
        assert elections[debara].kind == "opt_in"
        assert elections[green].kind == "voluntary"
        for election in elections.values():
            assert election.channel == "registry_upload"
            assert election.actor == "alex.chen"
            assert election.actor_kind == "registry"
            assert election.confirmation_text == "CONFIRM"
        keys = set(session.scalars(select(SubmissionRow.entity_key)))
        assert keys == {debara, green, f"{MIAMI_MEDICAL}/{RIVERA}", MIAMI_MEDICAL}
        receipts = list(session.scalars(select(SubmissionReceipt)))
        assert len(receipts) == 4
        assert {r.channel for r in receipts} == {"registry_upload"}
        assert {r.upload_id for r in receipts} == {staged.id}
        by_file = {r.file_name: r for r in receipts}
        assert by_file["debara.json"].election_id == elections[debara].id
        assert by_file["green.xml"].file_kind == "qrda3"
        assert by_file["rivera.json"].election_id is None
        held = list(session.scalars(select(UploadFile).order_by(UploadFile.position)))
        assert all(f.submission_json is None for f in held)
        assert {f.receipt_id for f in held if f.outcome == "stored"} == {r.id for r in receipts}
        upload = session.get(Upload, staged.id)
        assert upload is not None
        assert upload.summary is not None
        assert upload.summary["opt_in"] == 1
        assert upload.summary["no_decision"] == 1
        assert upload.summary["stored"] == 4
        # the practices hear of the registry's elections for them
        titles = list(session.scalars(select(Notification.title)))
        assert any("Miami Medical" in t for t in titles)
        assert any("Greenville Podiatry" in t for t in titles)
    actions = _audit_actions(world)
    assert actions.count("election.confirmed") == 2
    assert actions.count("submission.upload") == 4
    assert actions[-1] == "upload.confirmed"
    assert "upload.staged" in actions
    # the group with No Decision stays opt-in eligible: its data still waits for an election
    assert _count(world, SubmissionRow, SubmissionRow.entity_key == GREENVILLE_PODIATRY) == 0


def test_a_2019_registry_upload_opts_debara_in_and_shows_her_as_elected_next_time(
    world: World,
) -> None:
    files = [
        ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2019)),
        ("debara.xml", qrda3_from_reference(tin=MIAMI_MEDICAL, npi=DEBARA, year=2019)),
    ]
    staged = _stage(world, files, year=2019, user="jordan.rivera")
    key = f"{MIAMI_MEDICAL}/{DEBARA}"
    assert [p.key for p in staged.choosing] == [key]
    assert staged.choosing[0].files == ("debara.json", "debara.xml")
    _confirm(world, staged, {key: OPT_IN}, typed="confirm", user="jordan.rivera")
    with world.factory() as session:
        (election,) = session.scalars(select(Election)).all()
        assert (election.entity_key, election.kind, election.role) == (key, "opt_in", "staff_user")
        versions = list(session.scalars(select(SubmissionReceipt.version)))
        assert sorted(versions) == [1, 2]  # two files for the same clinician: merged in turn

    again = _stage(world, files[:1], year=2019)
    assert again.choosing == ()
    (shown,) = again.others
    assert shown.display == "MIPS eligible via opt-in"
    _confirm(world, again, {}, typed=None)
    assert _count(world, SubmissionReceipt) == 3
    assert _count(world, Election) == 1


def test_cancel_file_upload_drops_everything_including_eligible_participants(
    world: World,
) -> None:
    staged = _stage(
        world,
        [
            ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
            ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
            ("miami-group.json", qpp_json(MIAMI_MEDICAL, year=2022)),
        ],
    )
    with world.factory.begin() as session:
        cancelled = uploads.cancel_upload(
            session,
            principal=world.principal("jordan.rivera"),
            vendor_id=VENDOR,
            upload_id=staged.id,
            now=NOW_2022,
            context=CONTEXT,
        )
    assert cancelled.status == uploads.CANCELLED
    assert [f.outcome for f in cancelled.files] == ["cancelled"] * 3
    assert _count(world, SubmissionRow) == 0
    assert _count(world, SubmissionReceipt) == 0
    assert _count(world, Election) == 0
    assert _count(world, UploadFile, UploadFile.submission_json.is_not(None)) == 0
    assert _audit_actions(world)[-1] == "upload.cancelled"
    with pytest.raises(uploads.UploadClosed):
        _confirm(world, staged, {f"{MIAMI_MEDICAL}/{DEBARA}": OPT_IN})
    assert _count(world, Election) == 0


def test_51_files_are_refused_with_a_clear_message_and_nothing_stored(world: World) -> None:
    files = [
        (f"rivera-{i}.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)) for i in range(51)
    ]
    with pytest.raises(uploads.UploadRefused) as refused:
        _stage(world, files)
    assert "a maximum of 50 files can be processed in a single upload request" in str(refused.value)
    assert _count(world, Upload) == 0
    assert _count(world, UploadFile) == 0
    fifty = _stage(world, files[:50])
    assert len(fifty.files) == 50
    assert [p.key for p in fifty.others] == [f"{MIAMI_MEDICAL}/{RIVERA}"]


def test_a_file_over_the_size_limit_refuses_the_upload(world: World) -> None:
    big = qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022) + b" " * 2048
    with pytest.raises(uploads.FileTooLarge) as refused:
        _stage(world, [("big.json", big)], max_file_bytes=1024)
    assert "big.json" in str(refused.value)
    assert _count(world, Upload) == 0


def test_files_with_errors_get_a_report_and_are_never_stored(world: World) -> None:
    staged = _stage(
        world,
        [
            ("broken.json", bad_qpp_json(MIAMI_MEDICAL, year=2022)),
            ("MIPS_GROUP TIN 123456789.xml", qrda3_with_converter_errors()),
            ("old-year.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2019)),
            ("lakeside.json", qpp_json(LAKESIDE, year=2022)),
            ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
        ],
    )
    assert [f.ok for f in staged.files] == [False, False, False, False, True]
    assert all(f.errors > 0 for f in staged.files[:4])
    assert [f.outcome for f in staged.files[:4]] == [uploads.REJECTED] * 4
    assert [p.key for p in staged.others] == [f"{MIAMI_MEDICAL}/{RIVERA}"]
    with world.factory() as session:
        principal = world.principal("alex.chen")

        def report(position: int) -> tuple[str, Any]:
            return uploads.error_report(
                session,
                principal=principal,
                vendor_id=VENDOR,
                upload_id=staged.id,
                position=position,
            )

        name, findings = report(1)
        assert name == "broken-report.json"
        assert isinstance(findings, list)
        assert {f["code"] for f in findings if f["severity"] == "error"} >= {"OQ-SUB-051"}
        assert all(f["file"] == "broken.json" and f["location"] for f in findings)
        name, cms = report(2)
        assert name == "MIPS_GROUP TIN 123456789-error.json"
        assert isinstance(cms, dict)
        (entry,) = cms["errors"]
        assert entry["sourceIdentifier"] == "MIPS_GROUP TIN 123456789.xml"
        assert [d["errorCode"] for d in entry["details"]] == [43]
        assert entry["details"][0]["location"]["location"] == "IA Section"
        assert entry["details"][0]["location"]["line"] > 0
        _, other_year = report(3)
        assert [f["code"] for f in other_year] == [uploads.OTHER_YEAR]
        _, lakeside = report(4)
        assert [f["code"] for f in lakeside] == ["OQ-ACCESS-001"]
        with pytest.raises(store.NotFound):
            report(9)
    done = _confirm(world, staged, {}, typed=None)
    assert done.stored_files == 1
    with world.factory() as session:
        assert list(session.scalars(select(SubmissionReceipt.file_name))) == ["rivera.json"]


def test_elections_need_confirm_typed_in_any_case(world: World) -> None:
    staged = _stage(world, [("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022))])
    key = f"{MIAMI_MEDICAL}/{DEBARA}"
    for typed in (None, "", "confirn"):
        with pytest.raises(ConfirmationRequired):
            _confirm(world, staged, {key: VOLUNTARY}, typed=typed)
    assert _count(world, Election) == 0
    assert _count(world, SubmissionRow) == 0
    _confirm(world, staged, {key: VOLUNTARY}, typed="  cOnFiRm ")
    assert _count(world, Election, Election.kind == "voluntary") == 1


def test_every_opt_in_eligible_participant_needs_a_choice(world: World) -> None:
    staged = _stage(
        world,
        [
            ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
            ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
        ],
    )
    with pytest.raises(uploads.ChoicesIncomplete) as missing:
        _confirm(world, staged, {})
    assert [p.key for p in missing.value.missing] == [f"{MIAMI_MEDICAL}/{DEBARA}"]
    with pytest.raises(uploads.ParticipantNotChoosable):
        _confirm(
            world,
            staged,
            {f"{MIAMI_MEDICAL}/{DEBARA}": OPT_IN, f"{MIAMI_MEDICAL}/{RIVERA}": OPT_IN},
        )
    assert _count(world, SubmissionRow) == 0
    with world.factory() as session:
        review = uploads.review_choices(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            upload_id=staged.id,
            now=NOW_2022,
            choices={},
        )
    assert not review.complete
    assert review.page.errors[0]["field"] == f"choice-{MIAMI_MEDICAL}-{DEBARA}-no_decision"


def test_no_decision_for_everyone_needs_no_confirm_and_stores_only_the_eligible(
    world: World,
) -> None:
    staged = _stage(
        world,
        [
            ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
            ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
        ],
    )
    done = _confirm(world, staged, {f"{MIAMI_MEDICAL}/{DEBARA}": None}, typed=None)
    assert [f.outcome for f in done.files] == [uploads.DROPPED, uploads.STORED]
    assert _count(world, Election) == 0
    with world.factory() as session:
        assert list(session.scalars(select(SubmissionRow.entity_key))) == [
            f"{MIAMI_MEDICAL}/{RIVERA}"
        ]


def test_a_crash_between_the_elections_and_the_data_leaves_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = _stage(
        world,
        [
            ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
            ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
        ],
    )
    before = _audit_actions(world)
    inserted: list[int] = []
    real_accept = store.accept

    def crash(session: Any, **kwargs: Any) -> store.Accepted:
        inserted.append(int(session.scalar(select(func.count()).select_from(Election)) or 0))
        raise RuntimeError("injected crash after the elections")

    monkeypatch.setattr(store, "accept", crash)
    with pytest.raises(RuntimeError, match="injected crash"):
        _confirm(world, staged, {f"{MIAMI_MEDICAL}/{DEBARA}": OPT_IN})
    assert inserted == [1]  # the election was in the transaction when the crash came
    assert _count(world, Election) == 0
    assert _count(world, SubmissionRow) == 0
    assert _count(world, SubmissionReceipt) == 0
    assert _count(world, Notification) == 0
    assert _audit_actions(world) == before
    with world.factory() as session:
        upload = session.get(Upload, staged.id)
        assert upload is not None
        assert upload.status == uploads.PENDING
        assert all(f.submission_json is not None and f.outcome is None for f in upload.files)

    monkeypatch.setattr(store, "accept", real_accept)
    _confirm(world, staged, {f"{MIAMI_MEDICAL}/{DEBARA}": OPT_IN})
    assert _count(world, Election) == 1
    assert _count(world, SubmissionReceipt) == 2


def test_a_refusal_on_the_page_rolls_back_the_elections_and_shows_the_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openqpp.core.submissions.acceptance import ElectionRequired

    staged = _stage(world, [("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022))])

    def refuse(session: Any, **kwargs: Any) -> store.Accepted:
        raise ElectionRequired("refused for the test.", fix="Try again.")

    monkeypatch.setattr(store, "accept", refuse)
    key = f"{MIAMI_MEDICAL}/{DEBARA}"
    with world.factory.begin() as session:
        outcome = uploads.confirm_from_page(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            upload_id=staged.id,
            choices={key: OPT_IN},
            typed="CONFIRM",
            now=NOW_2022,
            context=CONTEXT,
        )
    assert outcome.redirect_to is None
    assert outcome.page is not None
    assert outcome.page.error_code == "OQ-SUB-101"
    assert outcome.page.choosing[0].choice is OPT_IN
    assert _count(world, Election) == 0
    assert "election.confirmed" not in _audit_actions(world)


def test_submission_details_list_each_tin_with_status_search_date_and_csv(world: World) -> None:
    staged = _stage(
        world,
        [
            ("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022)),
            ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
            ("green.xml", qrda3_from_reference(tin=GREENVILLE_PODIATRY, npi=GREEN, year=2022)),
        ],
    )
    _confirm(
        world,
        staged,
        {f"{MIAMI_MEDICAL}/{DEBARA}": OPT_IN, f"{GREENVILLE_PODIATRY}/{GREEN}": VOLUNTARY},
    )
    principal = world.principal("jordan.rivera")
    with world.factory() as session:
        page = uploads.submission_details(
            session, principal=principal, vendor_id=VENDOR, year=2022, now=NOW_2022
        )
        assert [t.tin for t in page.tins] == [MIAMI_MEDICAL, GREENVILLE_PODIATRY]
        shown = {r.npi: r.display for r in page.rows}
        assert shown == {
            DEBARA: "MIPS ELIGIBLE VIA OPT-IN",
            RIVERA: "MIPS ELIGIBLE",
            GREEN: "MIPS EXEMPT · REPORTING VOLUNTARILY",
        }
        assert {r.upload_date for r in page.rows} == {"03/19/2023"}
        assert page.dates == (("2023-03-19", "03/19/2023"),)
        assert all(r.last_receipt is not None for r in page.rows)
        searched = uploads.submission_details(
            session, principal=principal, vendor_id=VENDOR, year=2022, now=NOW_2022, query=GREEN
        )
        assert [r.npi for r in searched.rows] == [GREEN]
        other_day = uploads.submission_details(
            session,
            principal=principal,
            vendor_id=VENDOR,
            year=2022,
            now=NOW_2022,
            date="2023-03-18",
        )
        assert other_day.rows == ()
        name, text = uploads.submission_details_csv(
            session, principal=principal, vendor_id=VENDOR, year=2022, now=NOW_2022
        )
        assert name == "registry-submission-details-AAN-QCDR-2022.csv"
        lines = text.strip().splitlines()
        assert lines[0].startswith("TIN,NPI,Level,Participant,Status")
        assert len(lines) == 4
        assert any("MIPS ELIGIBLE VIA OPT-IN" in line and DEBARA in line for line in lines)
        with pytest.raises(AccessError):
            uploads.submission_details(
                session,
                principal=world.principal("olga.other"),
                vendor_id=VENDOR,
                year=2022,
                now=NOW_2022,
            )


def test_only_the_registrys_own_people_see_or_change_an_upload(world: World) -> None:
    staged = _stage(world, [("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022))])
    with world.factory() as session:
        for user in ("olga.other", "maria.garcia"):
            with pytest.raises(AccessError):
                uploads.upload_view(
                    session,
                    principal=world.principal(user),
                    vendor_id=VENDOR,
                    upload_id=staged.id,
                    now=NOW_2022,
                )
        with pytest.raises(store.NotFound):
            uploads.upload_view(
                session,
                principal=world.principal("jordan.rivera"),
                vendor_id=VENDOR,
                upload_id="00000000-0000-0000-0000-000000000000",
                now=NOW_2022,
            )
    with pytest.raises(AccessError):
        _stage(
            world,
            [("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022))],
            user="maria.garcia",
        )


def test_a_confirmed_upload_cannot_be_confirmed_or_cancelled_again(world: World) -> None:
    staged = _stage(world, [("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022))])
    _confirm(world, staged, {}, typed=None)
    with pytest.raises(uploads.UploadClosed):
        _confirm(world, staged, {}, typed=None)
    with world.factory.begin() as session, pytest.raises(uploads.UploadClosed):
        uploads.cancel_upload(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            upload_id=staged.id,
            now=NOW_2022,
            context=CONTEXT,
        )
    with world.factory.begin() as session:
        again = uploads.confirm_from_page(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            upload_id=staged.id,
            choices={},
            typed="",
            now=NOW_2022,
            context=CONTEXT,
        )
    assert again.redirect_to == f"/organisations/registry/{VENDOR}/uploads/{staged.id}/confirmed"
    assert _count(world, SubmissionReceipt) == 1


def test_parse_choices_reads_the_form_fields() -> None:
    parsed = uploads.parse_choices(
        {
            f"choice-{MIAMI_MEDICAL}-{DEBARA}": "opt_in",
            f"choice-{GREENVILLE_PODIATRY}": "no_decision",
            f"choice-{MIAMI_MEDICAL}": "nonsense",
            "csrf_token": "x",
        }
    )
    assert parsed == {f"{MIAMI_MEDICAL}/{DEBARA}": OPT_IN, GREENVILLE_PODIATRY: NO_DECISION}
    assert json.dumps({k: v.value for k, v in parsed.items() if v})
