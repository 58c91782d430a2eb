"""The preliminary score of stored data: the scoring context read from the database (special
statuses, clinicians, APM participation, election, CMS cost results), who sees which data,
the Reporting Overview's block, and the what-if estimate (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import DEBARA, GREEN, NOW_2019, NOW_2022, World
from tests.support.scoring_world import (
    AFTER_2019_PERIOD,
    CONTEXT,
    accept,
    document,
    example_as_2019,
    ia_set,
    pi_set_2019,
    quality_set,
    write_cost_file,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import AccessError
from openqpp.core.scoring.context import SpecialStatus
from openqpp.core.scoring.tree import check_tree
from openqpp.core.submissions.model import EntityType
from openqpp.db.models import AuditRecord, MeasurementSetRow, SubmissionReceipt, SubmissionRow
from openqpp.services import scoring_costs, scoring_overview, scoring_pages
from openqpp.services.access.principals import OPERATOR
from openqpp.services.elections import records
from openqpp.services.scoring_context import entity_facts

ROWS = (SubmissionRow, MeasurementSetRow, SubmissionReceipt, AuditRecord)


def _counts(world: World) -> tuple[int, ...]:
    with world.factory() as session:
        return tuple(int(session.scalar(select(func.count()).select_from(m)) or 0) for m in ROWS)


def _miami_data(world: World) -> None:
    """Quality and IA from the practice (CMS's example), PI from its registry."""
    accept(world, "maria.garcia", example_as_2019(MIAMI_MEDICAL))
    accept(world, "jordan.rivera", document(MIAMI_MEDICAL, pi_set_2019()))


def _score(world: World, user: str, **kwargs: object) -> scoring_overview.PreliminaryScore | None:
    with world.factory() as session:
        principal = OPERATOR if user == "operator" else world.principal(user)
        return scoring_overview.preliminary_score(
            session,
            principal=principal,
            year=kwargs.pop("year", 2019),  # type: ignore[arg-type]
            tin=kwargs.pop("tin", MIAMI_MEDICAL),  # type: ignore[arg-type]
            now=kwargs.pop("now", NOW_2019),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------- the context


def test_context_reads_special_statuses_and_clinicians_from_the_newest_run(world: World) -> None:
    with world.factory() as session:
        facts = entity_facts(session, year=2019, tin=MIAMI_MEDICAL)
    assert facts.entity_type is EntityType.GROUP
    assert facts.context.special_statuses == frozenset({SpecialStatus.SMALL_PRACTICE})
    assert facts.context.clinician_count == 3
    assert facts.context.apm_participation_share == 0
    assert facts.run_number == 1
    assert facts.adjustment.applies
    labels = {f.label: f.value for f in facts.facts}
    assert labels["Special statuses"] == "Small practice"
    assert labels["Clinicians billing under the TIN"] == "3"
    assert labels["Certified patient-centred medical home"] == "none known"


def test_context_counts_clinicians_in_an_apm_for_a_group_and_a_clinician(world: World) -> None:
    """Alex Green, Greenville Podiatry's one clinician, is on Sunshine ACO's list."""
    with world.factory() as session:
        group = entity_facts(session, year=2019, tin=GREENVILLE_PODIATRY)
        clinician = entity_facts(session, year=2019, tin=GREENVILLE_PODIATRY, npi=GREEN)
        miami_clinician = entity_facts(session, year=2019, tin=MIAMI_MEDICAL, npi=DEBARA)
    assert group.context.apm_participation_share == 1
    assert SpecialStatus.RURAL in group.context.special_statuses
    assert clinician.context.apm_participation_share == 1
    assert clinician.context.entity_type is EntityType.INDIVIDUAL
    assert clinician.context.clinician_count == 1
    assert miami_clinician.context.apm_participation_share == 0


def test_an_opt_in_eligible_entity_without_an_election_has_no_adjustment_yet(world: World) -> None:
    with world.factory() as session:
        facts = entity_facts(session, year=2019, tin=MIAMI_MEDICAL, npi=DEBARA)
    assert facts.opt_in_eligible_without_election
    assert not facts.adjustment.applies
    assert "Opt-in eligible with no election yet" in facts.adjustment.reason


def test_a_voluntary_reporter_gets_no_payment_adjustment(world: World) -> None:
    with world.factory.begin() as session:
        records.confirm(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            level="individual",
            tin=MIAMI_MEDICAL,
            npi=DEBARA,
            kind="voluntary",
            typed="CONFIRM",
            now=NOW_2019,
            context=CONTEXT,
        )
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, ia_set("IA_EPA_1"), npi=DEBARA))
    score = _score(world, "maria.garcia", npi=DEBARA)
    assert score is not None
    assert not score.payment.applies
    assert score.payment.shown_percent == 0
    assert "voluntary reporters get no MIPS payment adjustment" in score.payment.reason
    assert score.tree.inputs["payment_adjustment"]["estimate"] is True  # type: ignore[index]


def test_no_determination_run_leaves_the_statuses_unknown(world: World) -> None:
    with world.factory() as session:
        facts = entity_facts(session, year=2021, tin=MIAMI_MEDICAL)
    assert facts.run is None
    assert facts.context.special_statuses == frozenset()
    assert "no determination" in facts.facts[0].value


# ---------------------------------------------------------------- the score


def test_the_practice_sees_the_score_of_every_submitters_data_combined(world: World) -> None:
    _miami_data(world)
    score = _score(world, "maria.garcia")
    assert score is not None
    assert not check_tree(score.tree)
    assert score.sets_scored == 3
    by_key = {c.key: c for c in score.categories}
    assert by_key["quality"].scored
    assert by_key["quality"].points > 0
    assert by_key["pi"].points == 56
    assert by_key["ia"].points == 40
    assert not by_key["cost"].scored
    assert score.access.scope == "all"
    assert score.total == sum((c.contribution for c in score.categories), Decimal(0)).quantize(
        Decimal("0.0001")
    )
    assert by_key["pi"].detail_path.endswith(f"/practices/{MIAMI_MEDICAL}/reporting/score/pi")


def test_a_registry_sees_the_score_of_its_own_sets_only(world: World) -> None:
    _miami_data(world)
    registry = _score(world, "jordan.rivera")
    practice = _score(world, "maria.garcia")
    assert registry is not None
    assert practice is not None
    assert registry.sets_scored == 1
    assert registry.access.scope == "own_submissions"
    assert registry.access.scope_note
    assert registry.category("pi").points == 56  # type: ignore[union-attr]
    assert registry.category("quality").points == 0  # type: ignore[union-attr]
    assert registry.total < practice.total
    assert any("data your organisation submitted" in w for w in registry.warnings)


def test_a_registry_without_its_own_data_has_nothing_to_score(world: World) -> None:
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, ia_set("IA_EPA_1")))
    assert _score(world, "alex.chen") is None
    assert _score(world, "maria.garcia") is not None


def test_the_clinician_role_is_refused_and_an_unconnected_registry_too(world: World) -> None:
    _miami_data(world)
    with pytest.raises(AccessError):
        _score(world, "debara.jones")
    with pytest.raises(AccessError):
        _score(world, "olga.other")


def test_no_data_means_no_score(world: World) -> None:
    assert _score(world, "maria.garcia") is None


def test_the_policy_year_and_measures_data_version_are_recorded(world: World) -> None:
    _miami_data(world)
    score = _score(world, "maria.garcia")
    assert score is not None
    assert score.policy_year == 2019
    assert score.measures_year == 2019
    assert "qpp-measures-data" in score.measures_data
    assert score.tree.inputs["measures_data"] == score.measures_data


def test_scoring_writes_nothing(world: World) -> None:
    _miami_data(world)
    before = _counts(world)
    _score(world, "maria.garcia")
    with world.factory() as session:
        scoring_pages.what_if_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            form={
                "activity": "IA_BE_4",
                "measure": "001",
                "measure_met": "4",
                "measure_population": "40",
            },
            now=NOW_2019,
        )
    assert _counts(world) == before


# ---------------------------------------------------------------- cost results


def _load_cost(world: World, tmp_path: object) -> None:
    path = write_cost_file(
        tmp_path,  # type: ignore[arg-type]
        [
            f"{MIAMI_MEDICAL},,TPCC_1,45,,8",
            f"{MIAMI_MEDICAL},,MSPB_1,20,,",
            f"{MIAMI_MEDICAL},,COST_KA_1,12,10,6",
        ],
    )
    with world.factory.begin() as session:
        scoring_costs.load_cost_file(session, path=path, year=2019, now=AFTER_2019_PERIOD)


def test_cost_results_count_when_the_practice_may_see_cost_feedback(
    world: World, tmp_path: object
) -> None:
    _miami_data(world)
    _load_cost(world, tmp_path)
    after = _score(world, "maria.garcia", now=AFTER_2019_PERIOD)
    assert after is not None
    cost = after.category("cost")
    assert cost is not None
    assert cost.scored
    assert cost.points == 70  # TPCC 8 and KA 6 average 7 of 10; MSPB below its minimum of 35
    assert after.entity.cost_withheld is None
    during = _score(world, "maria.garcia", now=NOW_2019)
    assert during is not None
    assert not during.category("cost").scored  # type: ignore[union-attr]
    assert "submission period" in (during.entity.cost_withheld or "")
    registry = _score(world, "jordan.rivera", now=AFTER_2019_PERIOD)
    assert registry is not None
    assert not registry.category("cost").scored  # type: ignore[union-attr]
    assert "registries can't view" in (registry.entity.cost_withheld or "")
    operator = _score(world, "operator", now=NOW_2019)
    assert operator is not None
    assert operator.category("cost").scored  # type: ignore[union-attr]


# ---------------------------------------------------------------- the Reporting Overview


def test_overview_score_gives_the_total_categories_weights_and_links(world: World) -> None:
    _miami_data(world)
    with world.factory() as session:
        block = scoring_overview.overview_score(
            session,
            principal=world.principal("sam.smith"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
        )
        clinician = scoring_overview.overview_score(
            session,
            principal=world.principal("debara.jones"),
            year=2019,
            tin=MIAMI_MEDICAL,
            now=NOW_2019,
        )
        empty = scoring_overview.overview_score(
            session,
            principal=world.principal("sam.smith"),
            year=2022,
            tin=GREENVILLE_PODIATRY,
            now=NOW_2022,
        )
    assert block.state == "scored"
    assert block.total is not None
    assert [c.key for c in block.categories] == ["quality", "pi", "ia", "cost"]
    assert {c.key: c.weight for c in block.categories} == {
        "quality": 60,
        "pi": 25,
        "ia": 15,
        "cost": 0,
    }
    assert block.categories[1].has_unverified  # PI rests on unverified CEHRT ID and public health
    assert block.summary_path.endswith("/reporting/score")
    assert block.what_if_path.endswith("/reporting/what-if")
    assert block.payment is not None
    assert block.payment.applies
    assert clinician.state == "refused"
    assert "Clinician role" in (clinician.refused or "")
    assert empty.state == "no_data"


# ---------------------------------------------------------------- what-if


def test_what_if_adds_a_measure_and_an_activity_to_a_copy(world: World) -> None:
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, pi_set_2019()))
    with world.factory() as session:
        page = scoring_pages.what_if_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            form={
                "measure": "236",
                "measure_met": "30",
                "measure_population": "40",
                "activity": "IA_EPA_1",
                "scaling_factor": "1.5",
            },
            now=NOW_2019,
        )
    assert not page.errors
    assert page.scenario is not None
    assert page.difference is not None
    assert page.difference > 0
    assert len(page.changes) == 2
    assert page.scenario.payment.scaling_factor == Decimal("1.5")
    assert any("ESTIMATE" in a for a in page.assumptions)
    assert page.election_choices is None


def test_what_if_changes_a_reported_rate(world: World) -> None:
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, quality_set({"236": (20, 40)})))
    with world.factory() as session:
        page = scoring_pages.what_if_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            form={"improve": "236", "improve_rate": "95"},
            now=NOW_2019,
        )
    assert not page.errors
    assert "236" in page.changes[0]
    assert page.scenario is not None
    assert page.scenario.total > page.baseline.total
    assert [o.value for o in page.improve_options] == ["236"]


def test_what_if_refuses_bad_input_with_field_errors(world: World) -> None:
    with world.factory() as session:
        page = scoring_pages.what_if_page(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            tin=MIAMI_MEDICAL,
            form={
                "measure": "NOPE",
                "measure_met": "x",
                "measure_population": "0",
                "improve_rate": "140",
                "scaling_factor": "9",
            },
            now=NOW_2019,
        )
    fields = {e["field"] for e in page.errors}
    assert {
        "measure",
        "measure_met",
        "measure_population",
        "improve_rate",
        "improve",
        "scaling_factor",
    } <= fields
    assert page.scenario is None


def test_an_opt_in_eligible_practice_compares_opting_in_with_reporting_voluntarily(
    world: World,
) -> None:
    """Greenville Podiatry, opt-in eligible as a group in 2022 with no election (so no data)."""
    with world.factory() as session:
        page = scoring_pages.what_if_page(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            tin=GREENVILLE_PODIATRY,
            form={"activity": "IA_EPA_1"},
            now=NOW_2022,
        )
    assert not page.has_data
    assert page.election_choices is not None
    opt_in, voluntary = page.election_choices
    assert opt_in.payment.applies
    assert not voluntary.payment.applies
    assert voluntary.adjustment_words.startswith("0%")
    assert opt_in.total == voluntary.total
