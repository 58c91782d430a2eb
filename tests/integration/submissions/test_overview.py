"""The Reporting Overview and its file upload (SQLite and PostgreSQL): a good file is stored
with a receipt and listed by category and submitter; a file for another TIN or NPI is refused
with the TIN/NPI it holds; data for an opt-in eligible entity without an election is refused;
a bad file gets a downloadable error report (for QRDA III with the CMS converter's own JSON);
nothing is stored on any error; re-uploads merge by measure; a registry's sets are listed with
the practice's; PI data that conflicts across submission types says PI will score 0."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import DEBARA, NOW_2019, RIVERA, World
from tests.support.practice_reporting import (
    group_qrda3,
    ia_set,
    pi_set,
    qpp_json,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.elections import ElectionNotAuthorised
from openqpp.core.submissions import Category, Submission
from openqpp.db.models import MeasurementSetRow, SubmissionReceipt, SubmissionRow
from openqpp.services import audit
from openqpp.services.elections import records
from openqpp.services.submissions import overview, store

CONTEXT = audit.RequestContext(request_id="req-overview", client_address="127.0.0.1")
LIMIT = 1024 * 1024


def _upload(
    world: World,
    data: bytes,
    *,
    name: str = "file.json",
    user: str = "maria.garcia",
    npi: str | None = None,
    max_bytes: int = LIMIT,
) -> overview.UploadOutcome:
    with world.factory.begin() as session:
        return overview.upload(
            session,
            principal=world.principal(user),
            year=2019,
            tin=MIAMI_MEDICAL,
            npi=npi,
            file_name=name,
            data=data,
            context=CONTEXT,
            now=NOW_2019,
            max_bytes=max_bytes,
        )


def _page(world: World, *, user: str = "maria.garcia", npi: str | None = None) -> overview.Overview:
    with world.factory() as session:
        return overview.reporting_overview(
            session,
            principal=world.principal(user),
            year=2019,
            tin=MIAMI_MEDICAL,
            npi=npi,
            now=NOW_2019,
            max_upload_bytes=LIMIT,
        )


def _category(page: overview.Overview, category: Category) -> overview.CategoryView:
    return next(c for c in page.categories if c.category is category)


def _stored(world: World) -> tuple[int, int]:
    with world.factory() as session:
        return (
            session.scalar(select(func.count()).select_from(SubmissionRow)) or 0,
            session.scalar(select(func.count()).select_from(SubmissionReceipt)) or 0,
        )


def test_a_good_file_is_stored_and_listed_by_category_with_its_receipt(world: World) -> None:
    outcome = _upload(world, group_qrda3(MIAMI_MEDICAL), name="miami-2019.xml")
    assert outcome.status_code == 200
    result = outcome.page.upload
    assert result is not None
    assert result.ok
    assert "miami-2019.xml was uploaded successfully" in result.message
    assert "Promoting Interoperability, Improvement Activities" in result.message
    page = outcome.page
    assert page.submission_id is not None
    pi = _category(page, Category.PI)
    assert pi.submitted
    assert pi.submitters == ("Miami Medical (practice)",)
    (pi_set_view,) = pi.sets
    assert pi_set_view.method == "electronicHealthRecord"
    assert pi_set_view.source == "qrda3"
    assert [(m.measure_id, m.value) for m in pi_set_view.measures] == [
        ("PI_EP_1", "3 / 4"),
        ("PI_PPHI_1", "Yes"),
    ]
    assert pi_set_view.measures[0].title == "e-Prescribing"
    assert not _category(page, Category.QUALITY).submitted
    cost = _category(page, Category.COST)
    assert cost.note is not None
    assert "calculated by CMS" in cost.note
    (receipt,) = page.receipts
    assert (receipt.version, receipt.operation, receipt.channel) == (1, "upload", "web")
    assert receipt.file_name == "miami-2019.xml"
    with world.factory() as session:
        name, text = overview.receipt_download(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            receipt_id=receipt.id,
            now=NOW_2019,
        )
    document = json.loads(text)
    assert name == f"receipt-{MIAMI_MEDICAL}-2019-v1.json"
    assert document["receiptId"] == receipt.id
    assert document["submissionId"] == page.submission_id
    assert document["file"]["name"] == "miami-2019.xml"
    assert document["channel"] == "web"


def test_a_file_for_another_tin_is_refused_naming_the_tin_it_holds(world: World) -> None:
    outcome = _upload(world, group_qrda3(GREENVILLE_PODIATRY), name="greenville.xml")
    assert outcome.status_code == 422
    result = outcome.page.upload
    assert result is not None
    assert not result.ok
    (error,) = result.errors
    assert error.code == "OQ-SUB-102"
    assert f"the group TIN {GREENVILLE_PODIATRY}" in error.message
    assert f"this page reports for the group TIN {MIAMI_MEDICAL}" in error.message
    assert "Upload the file on the page of the entity it is for" in error.fix
    assert result.report is not None
    assert result.report["fileHolds"]["taxpayerIdentificationNumber"] == GREENVILLE_PODIATRY
    assert result.report["stored"] is False
    assert _stored(world) == (0, 0)


def test_an_individual_file_on_the_group_page_names_the_npi_it_holds(world: World) -> None:
    outcome = _upload(world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True}), npi=RIVERA))
    result = outcome.page.upload
    assert result is not None
    assert not result.ok
    assert result.errors[0].code == "OQ-SUB-102"
    assert f"TIN {MIAMI_MEDICAL} / NPI {RIVERA}" in result.errors[0].message
    assert _stored(world) == (0, 0)


def test_the_clinicians_own_page_takes_its_individual_file(world: World) -> None:
    outcome = _upload(
        world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True}), npi=RIVERA), npi=RIVERA
    )
    assert outcome.page.upload is not None
    assert outcome.page.upload.ok
    assert outcome.page.entity.npi == RIVERA
    assert _category(outcome.page, Category.IA).submitted


def test_data_for_an_opt_in_eligible_clinician_without_an_election_is_refused(
    world: World,
) -> None:
    before = _page(world, npi=DEBARA)
    assert before.election_needed is not None
    assert "opt-in eligible" in before.election_needed
    assert before.options_path is not None
    assert before.options_path.endswith("individual-options")
    assert not before.may_submit
    data = qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True}), npi=DEBARA)
    outcome = _upload(world, data, npi=DEBARA)
    result = outcome.page.upload
    assert result is not None
    assert not result.ok
    assert result.errors[0].code == "OQ-SUB-101"
    assert "has not made an election" in result.errors[0].message
    assert _stored(world) == (0, 0)
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
    after = _upload(world, data, npi=DEBARA)
    assert after.page.upload is not None
    assert after.page.upload.ok
    assert after.page.election_needed is None


def test_a_bad_qrda3_file_gets_an_error_report_with_the_converters_json(world: World) -> None:
    outcome = _upload(world, group_qrda3(MIAMI_MEDICAL, ia_answer="X"), name="bad file.xml")
    result = outcome.page.upload
    assert result is not None
    assert not result.ok
    (error,) = result.errors
    assert error.code == "CT051"
    assert error.location["line"]
    assert error.location["xpath"]
    assert "CMS conversion error 51" in error.fix
    report = result.report
    assert report is not None
    assert report["errors"][0]["code"] == "CT051"
    assert set(report["errors"][0]) >= {"code", "message", "fix", "location"}
    (detail,) = report["converter"]["errors"][0]["details"]
    assert detail["errorCode"] == 51
    assert report["converter"]["errors"][0]["sourceIdentifier"] == "bad file.xml"
    assert result.report_name == "bad_file-error-report.json"
    href = result.report_href
    assert href is not None
    assert href.startswith("data:application/json;base64,")
    assert json.loads(base64.b64decode(href.split(",", 1)[1])) == report
    assert _stored(world) == (0, 0)


def test_a_bad_qpp_json_file_lists_every_finding_with_its_json_path(world: World) -> None:
    data = qpp_json(MIAMI_MEDICAL, ia_set({"IA_NOPE_1": True, "IA_NOPE_2": True}))
    result = _upload(world, data).page.upload
    assert result is not None
    assert not result.ok
    codes = [e.code for e in result.errors]
    assert codes.count("OQ-SUB-051") == 2
    assert result.errors[0].location["path"] == "$.measurementSets[0].measurements[0].measureId"
    assert "converter" not in (result.report or {})
    assert _stored(world) == (0, 0)


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "OQ-SUB-201"), (b"   \n", "OQ-SUB-201"), (b"x" * (LIMIT + 1), "OQ-SUB-202")],
)
def test_empty_and_too_large_files_are_refused_with_a_clear_message(
    world: World, data: bytes, code: str
) -> None:
    result = _upload(world, data).page.upload
    assert result is not None
    assert not result.ok
    assert result.errors[0].code == code
    if code == "OQ-SUB-202":
        assert "larger than the 1,048,576 bytes (1 MB)" in result.errors[0].message
    assert _stored(world) == (0, 0)


def test_a_file_for_another_year_is_refused(world: World) -> None:
    data = qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True}, year=2022), year=2022)
    result = _upload(world, data).page.upload
    assert result is not None
    assert "OQ-SUB-204" in [e.code for e in result.errors]
    assert _stored(world) == (0, 0)


def test_a_re_upload_merges_by_measure_and_keeps_every_version(world: World) -> None:
    first = _upload(world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True, "IA_BE_4": True})))
    second = _upload(world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_BE_4": False, "IA_CC_1": True})))
    assert first.page.submission_id == second.page.submission_id
    (ia,) = _category(second.page, Category.IA).sets
    assert [(m.measure_id, m.value) for m in ia.measures] == [
        ("IA_EPA_1", "Yes"),
        ("IA_BE_4", "No"),
        ("IA_CC_1", "Yes"),
    ]
    assert ia.version == 2
    assert [r.version for r in second.page.receipts] == [2, 1]


def _registry_sends(world: World, *sets: dict[str, object]) -> None:
    with world.factory.begin() as session:
        store.accept(
            session,
            principal=world.principal("jordan.rivera"),
            submission=Submission.from_qpp_json(json.loads(qpp_json(MIAMI_MEDICAL, *sets))),
            context=CONTEXT,
            channel="api",
            now=NOW_2019,
        )


def test_a_registrys_sets_are_listed_together_with_the_practices(world: World) -> None:
    _registry_sends(world, ia_set({"IA_EPA_2": True}))
    _upload(world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True})))
    page = _page(world)
    ia = _category(page, Category.IA)
    assert set(ia.submitters) == {
        "American Academy of Neurology (QCDR)",
        "Miami Medical (practice)",
    }
    assert len(ia.sets) == 2
    assert len(page.receipts) == 2
    # the registry sees only its own set and receipts
    mine = _page(world, user="jordan.rivera")
    (only,) = _category(mine, Category.IA).sets
    assert only.submitter == "American Academy of Neurology (QCDR)"
    assert len(mine.receipts) == 1
    with world.factory() as session:
        _, text = overview.receipt_download(
            session,
            principal=world.principal("jordan.rivera"),
            year=2019,
            tin=MIAMI_MEDICAL,
            receipt_id=mine.receipts[0].id,
            now=NOW_2019,
        )
        assert "submission" not in json.loads(text)
        with pytest.raises(store.NotFound):
            overview.receipt_download(
                session,
                principal=world.principal("jordan.rivera"),
                year=2019,
                tin=MIAMI_MEDICAL,
                receipt_id=page.receipts[0].id,
                now=NOW_2019,
            )


def test_conflicting_pi_data_from_two_submission_types_scores_zero(world: World) -> None:
    _registry_sends(world, pi_set({"PI_EP_1": (3, 4), "PI_PPHI_1": True}))
    _upload(world, group_qrda3(MIAMI_MEDICAL))  # PI_EP_1 3/4 too: agrees
    agreeing = _category(_page(world), Category.PI)
    assert agreeing.conflict is None
    assert agreeing.several_types is not None
    assert "We recommend using a single submission type" in agreeing.several_types
    _registry_sends(world, pi_set({"PI_EP_1": (5, 9)}))
    pi = _category(_page(world), Category.PI)
    assert pi.conflict is not None
    assert pi.conflict.startswith("Promoting Interoperability will score 0")
    assert "PI_EP_1: " in pi.conflict
    assert "5 / 9 in American Academy of Neurology (QCDR), registry" in pi.conflict
    assert "3 / 4 in Miami Medical (practice), electronic health record" in pi.conflict


def test_the_clinician_role_sees_the_overview_but_not_the_data(world: World) -> None:
    _upload(world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True})))
    page = _page(world, user="debara.jones")
    assert page.view_refused is not None
    assert "view-only" in page.view_refused
    assert page.submit_refused is not None
    assert page.submission_id is None
    assert not any(c.sets for c in page.categories)
    assert page.receipts == ()
    with pytest.raises(ElectionNotAuthorised):  # no role at the practice: the page is refused
        _upload(world, qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True})), user="olga.other")


def test_nothing_is_half_stored_when_a_later_set_is_refused(world: World) -> None:
    data = qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_1": True}), ia_set({"IA_NOPE": True}))
    result = _upload(world, data).page.upload
    assert result is not None
    assert not result.ok
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(MeasurementSetRow)) == 0
