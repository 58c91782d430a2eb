"""Manual entry (attestation) of PI and IA (SQLite and PostgreSQL): stored as an ``attestation``
set through the one door, with a receipt; the CEHRT ID in the year's format; the required
statements answered Yes before measure data; a measure or its exclusion, not both; the 0%
reweighting confirmed before PI data overrides it; the validation engine's errors on the
fields; IA activities searched, filtered, marked completed, with the in-progress points and the
40-point cap; refusals store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import NOW_2019, NOW_2022, World
from tests.support.practice_reporting import (
    CEHRT_2015E,
    CEHRT_CURES,
    STATEMENTS_2019,
    ia_set,
    pi_form,
    pi_set,
    qpp_json,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import AccessError
from openqpp.core.submissions import Category, MeasurementSet, Proportion, Submission
from openqpp.db.models import MeasurementSetRow, SubmissionReceipt
from openqpp.services import audit
from openqpp.services.elections import records
from openqpp.services.submissions import attestation, overview, store

CONTEXT = audit.RequestContext(request_id="req-attest", client_address="127.0.0.1")
STATEMENTS_2022 = ("PI_PPHI_1", "PI_PPHI_2", "PI_ONCDIR_1", "PI_INFBLO_1")


def _save_pi(
    world: World,
    form: dict[str, str],
    *,
    year: int = 2019,
    tin: str = MIAMI_MEDICAL,
    user: str = "maria.garcia",
) -> attestation.PiOutcome:
    with world.factory.begin() as session:
        return attestation.save_pi(
            session,
            principal=world.principal(user),
            year=year,
            tin=tin,
            form=form,
            context=CONTEXT,
            now=NOW_2019 if year == 2019 else NOW_2022,
        )


def _errors(outcome: Any) -> dict[str, str]:
    assert outcome.page is not None, "expected the page back with errors"
    return {e["field"]: e["message"] for e in outcome.page.errors}


def _attestation_sets(world: World, category: str) -> list[MeasurementSet]:
    with world.factory() as session:
        rows = session.scalars(
            select(MeasurementSetRow).where(
                MeasurementSetRow.category == category,
                MeasurementSetRow.submission_method == "attestation",
            )
        )
        return [store.set_from_row(r) for r in rows]


def _receipts(world: World) -> int:
    with world.factory() as session:
        return session.scalar(select(func.count()).select_from(SubmissionReceipt)) or 0


def _stored_values(world: World, category: str) -> dict[str, object]:
    (measurement_set,) = _attestation_sets(world, category)
    return {m.measure_id: m.value for m in measurement_set.measurements}


# ---------------------------------------------------------------- PI


def test_pi_manual_entry_is_stored_as_an_attestation_set_with_a_receipt(world: World) -> None:
    form = pi_form(
        measures={"PI_EP_1": (5, 9), "PI_PEA_1": (40, 50), "PI_PHCDRR_1": "yes"},
        exclusions={"PI_HIE_1": "PI_LVOTC_1", "PI_HIE_4": "PI_CUITC_1"},
    )
    outcome = _save_pi(world, form)
    assert (
        outcome.redirect_to
        == f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/reporting/pi?saved=1"
    )
    (core,) = _attestation_sets(world, "pi")
    assert core.source == "attestation"
    assert core.cehrt_id == CEHRT_2015E
    values = {m.measure_id: m.value for m in core.measurements}
    assert values == {
        **dict.fromkeys(STATEMENTS_2019, True),
        "PI_EP_1": Proportion(5, 9),
        "PI_PEA_1": Proportion(40, 50),
        "PI_PHCDRR_1": True,
        "PI_LVOTC_1": True,
        "PI_CUITC_1": True,
    }
    with world.factory() as session:
        receipt = session.scalars(select(SubmissionReceipt)).one()
        assert (receipt.operation, receipt.channel) == ("attest", "web")
        assert json.loads(receipt.received_json)["measurementSets"][0]["submissionMethod"] == (
            "attestation"
        )
        page = attestation.pi_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
            saved=True,
        )
    assert page.has_entry
    assert page.saved
    assert page.cehrt_id == CEHRT_2015E
    assert [p.done for p in page.progress] == [True, True, True, True]
    ep = next(m for o in page.objectives for m in o.measures if m.measure_id == "PI_EP_1")
    assert (ep.numerator, ep.denominator) == ("5", "9")
    hie = next(m for o in page.objectives for m in o.measures if m.measure_id == "PI_HIE_4")
    assert hie.exclusion == "PI_CUITC_1"
    assert [x.measure_id for x in hie.exclusions] == ["PI_LVITC_2", "PI_CUITC_1"]


def test_the_pi_page_lists_statements_first_and_each_years_measures(world: World) -> None:
    with world.factory() as session:
        page = attestation.pi_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
        )
    assert [s.measure_id for s in page.statements if s.required] == sorted(STATEMENTS_2019)
    assert [s.measure_id for s in page.statements if not s.required] == ["PI_ONCACB_1"]
    kinds = {m.measure_id: m.kind for o in page.objectives for m in o.measures}
    assert kinds["PI_EP_1"] == "proportion"
    assert kinds["PI_EP_2"] == "boolean"
    assert "PI_LVPP_1" not in kinds  # an exclusion, offered under PI_EP_1
    ph = next(o for o in page.objectives if o.key == "publicHealthAndClinicalDataExchange")
    assert ph.title == "Public Health and Clinical Data Exchange"
    immunization = next(m for m in ph.measures if m.measure_id == "PI_PHCDRR_1")
    assert [x.measure_id for x in immunization.exclusions] == [
        "PI_PHCDRR_1_EX_1",
        "PI_PHCDRR_1_EX_2",
        "PI_PHCDRR_1_EX_3",
    ]
    assert page.reweighted == ()
    assert page.min_days == 90


@pytest.mark.parametrize(
    ("year", "cehrt", "accepted"),
    [
        (2019, CEHRT_2015E, True),
        (2019, CEHRT_CURES, False),
        (2019, "0015E123", False),
        (2022, CEHRT_CURES, True),
        (2022, "0015H1234567890", False),
    ],
)
def test_the_cehrt_id_must_have_the_years_format(
    world: World, year: int, cehrt: str, accepted: bool
) -> None:
    statements = STATEMENTS_2019 if year == 2019 else STATEMENTS_2022
    form = pi_form(year=year, cehrt=cehrt, statements=statements, confirm=year == 2022)
    outcome = _save_pi(world, form, year=year)
    if accepted:
        assert outcome.redirect_to is not None
        return
    errors = _errors(outcome)
    assert set(errors) == {"cehrt-id"}
    assert f"does not have the {year} format" in errors["cehrt-id"]
    assert _receipts(world) == 0


def test_required_statements_are_answered_yes_before_any_measure(world: World) -> None:
    unanswered = pi_form(statements=("PI_PPHI_1",))
    errors = _errors(_save_pi(world, unanswered))
    assert set(errors) == {"answer-pi-oncdir-1-yes", "answer-pi-infblo-1-yes"}
    assert "Answer the required statement PI_ONCDIR_1" in errors["answer-pi-oncdir-1-yes"]
    answered_no = pi_form(answer="no", measures={"PI_EP_1": (1, 2)})
    errors = _errors(_save_pi(world, answered_no))
    assert len(errors) == 3
    assert all("before entering measure data" in m for m in errors.values())
    assert _receipts(world) == 0
    # answering no without measure data is recorded (PI will not score, as the guide says)
    assert _save_pi(world, pi_form(answer="no")).redirect_to is not None


def test_a_measure_and_its_exclusion_are_not_both_claimed(world: World) -> None:
    form = pi_form(measures={"PI_EP_1": (1, 2)}, exclusions={"PI_EP_1": "PI_LVPP_1"})
    errors = _errors(_save_pi(world, form))
    assert "numerator-pi-ep-1" in errors
    assert (
        "claim the exclusion PI_LVPP_1 or report the measure, not both"
        in errors["numerator-pi-ep-1"]
    )
    assert _receipts(world) == 0


def test_form_values_are_checked_and_the_validation_engine_runs(world: World) -> None:
    form = pi_form(measures={"PI_EP_1": ("x", 2), "PI_PEA_1": (9, 3)})
    form["performance_start"] = "2019-02-30"
    errors = _errors(_save_pi(world, form))
    assert "performance-start" in errors
    assert "numerator-pi-ep-1" in errors
    # the form is right, the engine is not happy: numerator over denominator, a short period
    form = pi_form(measures={"PI_PEA_1": (9, 3)})
    form["performance_end"] = "2019-02-01"
    errors = _errors(_save_pi(world, form))
    assert "OQ-SUB-061" in errors["numerator-pi-pea-1"]
    assert "OQ-SUB-033" in errors["performance-end"]
    assert _receipts(world) == 0


def test_pi_reweighted_to_zero_needs_the_confirmation_that_data_overrides_it(
    world: World,
) -> None:
    form = pi_form(year=2022, cehrt=CEHRT_CURES, statements=STATEMENTS_2022)
    with world.factory() as session:
        page = attestation.pi_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2022,
            tin=MIAMI_MEDICAL,
            now=NOW_2022,
        )
    assert page.reweighted == ("Small practice",)
    errors = _errors(_save_pi(world, form, year=2022))
    assert set(errors) == {"confirm-reweighting"}
    assert "overrides the reweighting" in errors["confirm-reweighting"]
    assert _receipts(world) == 0
    assert _save_pi(world, {**form, "confirm_reweighting": "yes"}, year=2022).redirect_to


def test_a_new_pi_entry_replaces_the_previous_one(world: World) -> None:
    _save_pi(world, pi_form(measures={"PI_EP_1": (5, 9), "PI_PEA_1": (4, 5)}))
    _save_pi(world, pi_form(measures={"PI_PEA_1": (4, 5)}, exclusions={"PI_EP_1": "PI_LVPP_1"}))
    values = _stored_values(world, "pi")
    assert "PI_EP_1" not in values
    assert values["PI_LVPP_1"] is True
    assert _receipts(world) == 2


def test_a_manual_entry_conflicting_with_a_registry_file_scores_pi_zero(world: World) -> None:
    with world.factory.begin() as session:
        store.accept(
            session,
            principal=world.principal("jordan.rivera"),
            submission=Submission.from_qpp_json(
                json.loads(qpp_json(MIAMI_MEDICAL, pi_set({"PI_EP_1": (3, 4)})))
            ),
            context=CONTEXT,
            channel="api",
            now=NOW_2019,
        )
    _save_pi(world, pi_form(measures={"PI_EP_1": (5, 9)}))
    with world.factory() as session:
        page = attestation.pi_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
        )
        overview_page = overview.reporting_overview(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
            max_upload_bytes=1024,
        )
    assert page.other_sources == (
        "American Academy of Neurology (QCDR), registry (QPP JSON file or API)",
    )
    assert page.conflict is not None
    assert "will score 0" in page.conflict
    pi = next(c for c in overview_page.categories if c.category is Category.PI)
    assert pi.conflict == page.conflict
    assert pi.has_manual_entry


def test_an_opt_in_eligible_practice_without_an_election_cannot_attest(world: World) -> None:
    form = pi_form(year=2022, cehrt=CEHRT_CURES, statements=STATEMENTS_2022, confirm=True)
    errors = _errors(_save_pi(world, form, year=2022, tin=GREENVILLE_PODIATRY, user="lee.wong"))
    assert "OQ-SUB-101" in errors["error-summary"]
    assert _receipts(world) == 0
    with world.factory.begin() as session:
        records.confirm(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            level="group",
            tin=GREENVILLE_PODIATRY,
            kind="opt_in",
            typed="CONFIRM",
            now=NOW_2022,
            context=CONTEXT,
        )
    done = _save_pi(world, form, year=2022, tin=GREENVILLE_PODIATRY, user="lee.wong")
    assert done.redirect_to is not None


def test_the_view_only_clinician_role_cannot_attest(world: World) -> None:
    with pytest.raises(AccessError), world.factory() as session:
        attestation.pi_page(
            session,
            principal=world.principal("debara.jones"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
        )


# ---------------------------------------------------------------- IA


def _save_ia(
    world: World,
    *,
    shown: list[str],
    completed: list[str],
    start: str = "2019-01-01",
    end: str = "2019-12-31",
    **filters: str,
) -> attestation.IaOutcome:
    with world.factory.begin() as session:
        return attestation.save_ia(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            performance_start=start,
            performance_end=end,
            shown=shown,
            completed=completed,
            context=CONTEXT,
            now=NOW_2019,
            **filters,
        )


def _ia_page(world: World, **filters: str) -> attestation.IaPage:
    with world.factory() as session:
        return attestation.ia_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
            **filters,
        )


def test_activities_are_searched_and_filtered_by_weight_and_subcategory(world: World) -> None:
    everything = _ia_page(world)
    assert everything.activities[0].measure_id == "IA_PCMH"  # "the first activity listed"
    assert len(everything.activities) == everything.total > 100
    high = _ia_page(world, weight="high")
    assert high.activities
    assert all(a.weight == "high" for a in high.activities)
    access = _ia_page(world, subcategory="expandedPracticeAccess", weight="medium")
    assert access.activities
    assert all(
        a.subcategory == "expandedPracticeAccess" and a.weight == "medium"
        for a in access.activities
    )
    assert ("expandedPracticeAccess", "Expanded Practice Access") in access.subcategories
    found = _ia_page(world, query="telehealth")
    assert "IA_EPA_2" in [a.measure_id for a in found.activities]
    nonsense = _ia_page(world, weight="enormous", subcategory="nope")
    assert (nonsense.weight, nonsense.subcategory) == ("all", "all")


def test_marking_activities_completed_shows_the_points_and_the_40_point_cap(
    world: World,
) -> None:
    assert _ia_page(world).points is None
    outcome = _save_ia(world, shown=["IA_EPA_2", "IA_EPA_3"], completed=["IA_EPA_2"])
    assert outcome.redirect_to == (
        f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/reporting/ia?saved=1"
    )
    page = _ia_page(world)
    assert page.completed == ("IA_EPA_2",)
    assert page.doubled == ("Small practice",)
    assert page.points is not None
    assert page.points.points == 20  # medium, doubled for a small practice
    assert not page.points.capped
    assert page.cap_message == (
        "You cannot earn more than 40 points in this category, even if you submit additional "
        "activities."
    )
    _save_ia(world, shown=["IA_EPA_1", "IA_EPA_3"], completed=["IA_EPA_1", "IA_EPA_3"])
    capped = _ia_page(world)
    assert capped.points is not None
    assert (capped.points.points, capped.points.cap) == (40, 40)
    assert capped.points.capped
    assert "capped at 40" in capped.points.explanation
    values = _stored_values(world, "ia")
    assert values == {"IA_EPA_2": True, "IA_EPA_1": True, "IA_EPA_3": True}
    with world.factory() as session:
        receipts = session.scalars(select(SubmissionReceipt.operation)).all()
    assert receipts == ["attest", "attest"]


def test_unticking_an_activity_keeps_the_ones_filtered_out_of_view(world: World) -> None:
    _save_ia(world, shown=["IA_EPA_1", "IA_EPA_2"], completed=["IA_EPA_1", "IA_EPA_2"])
    outcome = _save_ia(world, shown=["IA_EPA_2"], completed=[], query="telehealth", weight="medium")
    assert outcome.redirect_to is not None
    assert outcome.redirect_to.endswith("saved=1&q=telehealth&weight=medium")
    assert _stored_values(world, "ia") == {"IA_EPA_1": True, "IA_EPA_2": False}
    assert _ia_page(world).completed == ("IA_EPA_1",)


def test_the_ia_period_is_checked_by_the_validation_engine(world: World) -> None:
    outcome = _save_ia(world, shown=["IA_EPA_1"], completed=["IA_EPA_1"], end="2019-01-31")
    errors = _errors(outcome)
    assert "OQ-SUB-033" in errors["performance-end"]
    assert outcome.page is not None
    assert outcome.page.completed == ("IA_EPA_1",)
    missing = _errors(_save_ia(world, shown=[], completed=[], start="", end=""))
    assert set(missing) == {"performance-start", "performance-end"}
    assert _receipts(world) == 0


def test_ia_activities_from_a_registry_and_the_manual_entry_count_once(world: World) -> None:
    with world.factory.begin() as session:
        store.accept(
            session,
            principal=world.principal("jordan.rivera"),
            submission=Submission.from_qpp_json(
                json.loads(qpp_json(MIAMI_MEDICAL, ia_set({"IA_EPA_2": True})))
            ),
            context=CONTEXT,
            channel="api",
            now=NOW_2019,
        )
    _save_ia(world, shown=["IA_EPA_2"], completed=["IA_EPA_2"])
    page = _ia_page(world)
    assert page.other_sources == (
        "American Academy of Neurology (QCDR), registry (QPP JSON file or API)",
    )
    assert page.points is not None
    assert page.points.points == 20
