"""The NPI lookup's view of a clinician: every result reached through the NPI (its own at each
TIN, the group, the APM entities and virtual groups it takes part in through the TIN), the
registered practice's name, and each result's election, read in one statement on both
databases (services.eligibility_lookup)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from tests.support.elections_world import (
    APM_ENTITY,
    DEBARA,
    GREEN,
    LAKESIDE,
    LAKESIDE_NPI,
    VIRTUAL_GROUP,
    World,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, demo_npi
from openqpp.core.elections import ElectionSource
from openqpp.core.eligibility import Level, Status
from openqpp.services import database
from openqpp.services import eligibility_lookup as lookup

UNKNOWN_NPI = demo_npi("199000999")
"""Billed nothing: in no determination."""


def test_a_clinician_in_a_virtual_group_sees_it_and_the_group_opt_in_it_implies(
    world: World,
) -> None:
    with world.factory() as session:
        view = lookup.lookup_npi(session, LAKESIDE_NPI, year=2022)
    (org,) = view.organizations
    assert (org.tin, org.name, org.address) == (
        LAKESIDE,
        "Lakeside Clinic",
        "1 Lake Rd., Akron, OH 44301",
    )
    assert org.individual is not None
    assert (org.individual.level, org.individual.entity_key) == (
        Level.INDIVIDUAL,
        f"{LAKESIDE}/{LAKESIDE_NPI}",
    )
    assert org.individual.election is None
    (vg,) = org.virtual_groups
    assert (vg.level, vg.entity_key, vg.tin) == (Level.VIRTUAL_GROUP, VIRTUAL_GROUP, None)
    assert org.group is not None
    assert org.group.status is Status.OPT_IN_ELIGIBLE
    assert org.group.election is not None
    assert org.group.election.source is ElectionSource.VIRTUAL_GROUP
    assert org.group.election.virtual_group_id == VIRTUAL_GROUP
    assert org.apms == ()
    assert (view.first_name, view.last_name, view.performance_year) == ("Lena", "Lake", 2022)


def test_a_clinician_on_an_apm_participation_list_sees_the_apm_entity_at_that_tin(
    world: World,
) -> None:
    with world.factory() as session:
        view = lookup.lookup_npi(session, GREEN, year=2019)
    (org,) = view.organizations
    assert (org.tin, org.name) == (GREENVILLE_PODIATRY, "Greenville Podiatry")
    (apm,) = org.apms
    assert (apm.apm_entity_id, apm.apm_model, apm.mips_apm, apm.advanced_apm) == (
        APM_ENTITY,
        "Medicare Shared Savings Program",
        True,
        False,
    )
    assert apm.result is not None
    assert (apm.result.level, apm.result.entity_key) == (Level.APM_ENTITY, APM_ENTITY)
    assert org.group is not None
    assert org.group.entity_key == GREENVILLE_PODIATRY
    assert org.virtual_groups == ()


def test_several_npis_read_at_once_match_each_read_alone_and_unknown_ones_are_left_out(
    world: World,
) -> None:
    wanted = [GREEN, UNKNOWN_NPI, LAKESIDE_NPI, DEBARA]
    with world.factory() as session:
        run, views = lookup.lookup_npis(session, wanted, year=2019)
        alone = [
            lookup.lookup_npi(session, npi, year=2019) for npi in (GREEN, LAKESIDE_NPI, DEBARA)
        ]
    assert run.performance_year == 2019
    assert [v.npi for v in views] == [GREEN, LAKESIDE_NPI, DEBARA]
    assert views == alone


def test_a_lookup_is_one_statement_whichever_run_it_names(world: World) -> None:
    """The run is chosen inside the lookup's statement and the clinician read with it: a
    lookup is one trip to the database (it was ten), on a warm pool and a cold one alike."""
    statements: list[str] = []
    engine = database.engine_for(world.url)

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        for year, run_number in ((None, None), (2019, None), (None, 1), (2019, 1)):
            statements.clear()
            with world.factory() as session:
                lookup.lookup_npi(session, GREEN, year=year, run_number=run_number)
            assert len(statements) == 1, (year, run_number, statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_lookup_reads_the_run_it_names_else_the_newest(world: World) -> None:
    with world.factory() as session:
        chosen = {
            (year, run_number): lookup.lookup_npi(session, GREEN, year=year, run_number=run_number)
            for year, run_number in ((None, None), (2019, None), (None, 1), (2019, 1))
        }
    assert {key: (v.performance_year, v.run_number) for key, v in chosen.items()} == {
        (None, None): (2022, 1),
        (2019, None): (2019, 1),
        (None, 1): (2022, 1),  # run 1 of the newest year that has one
        (2019, 1): (2019, 1),
    }
    assert chosen[(2019, None)] != chosen[(None, None)]


def test_a_lookup_of_a_run_that_is_not_there_says_which_and_how_to_find_one(
    world: World,
) -> None:
    with world.factory() as session:
        with pytest.raises(lookup.NoDeterminationRun) as missing_number:
            lookup.lookup_npi(session, GREEN, run_number=7)
        with pytest.raises(lookup.NoDeterminationRun) as missing_year:
            lookup.lookup_npi(session, GREEN, year=2030)
        with pytest.raises(lookup.NoDeterminationRun) as missing_both:
            lookup.lookup_npis(session, [GREEN, DEBARA], year=2030)
        with pytest.raises(lookup.ClinicianNotFound) as unknown:
            lookup.lookup_npi(session, UNKNOWN_NPI, year=2019)
    assert missing_number.value.message == "There is no determination run 7."
    assert "runNum" in missing_number.value.fix
    assert missing_year.value.message == (
        "No eligibility determination has been loaded for performance year 2030."
    )
    assert missing_both.value.message == missing_year.value.message
    assert "performance year 2019" in unknown.value.message
