"""Every cell of the permission matrix (role x organisation type x action), generated from the
data file, checked through the service-level `authorize`: allowed where the cell allows, refused
(with the right error) where it does not, during and outside the submission period, for the
organisation itself, for a registry's authorised client, and for outsiders."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support import access_world as w
from tests.support.databases import KINDS, fresh_database

from openqpp.core.access import (
    Action,
    ActionRefused,
    Cell,
    DataScope,
    Effect,
    Grant,
    NotConnected,
    OrganisationType,
    OutsideAllowedPeriod,
    Reach,
    Role,
    RoleNotOffered,
)
from openqpp.services import access, audit, database

MATRIX = access.load_matrix()
CELLS = list(MATRIX)
OFFERED = [c for c in CELLS if c.offered]


def cell_id(cell: Cell) -> str:
    return f"{cell.organisation_type.value}-{cell.role.value}-{cell.action.value}"


@pytest.fixture(scope="module", params=KINDS)
def world_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, w.World]]:
    with fresh_database(request.param, tmp_path_factory.mktemp("matrix")) as url:
        database.upgrade(url)
        with database.session_factory(url).begin() as session:
            world = w.build(session)
        yield url, world


@pytest.fixture
def session(world_db: tuple[str, w.World]) -> Iterator[Any]:
    url, _ = world_db
    with database.session_factory(url)() as s:
        yield s
        s.rollback()


def _principal(session: Any, world: w.World, cell: Cell) -> access.Principal:
    return w.principal(session, world.users[(cell.organisation_type, cell.role)])


def _ask(
    session: Any,
    principal: access.Principal,
    cell: Cell,
    kind: OrganisationType,
    identifier: str,
    *,
    at: Any,
    year: int | None = w.YEAR,
    npi: str | None = None,
) -> Any:
    return access.authorize(
        session,
        principal=principal,
        action=cell.action,
        organisation_type=kind,
        identifier=identifier,
        npi=npi,
        performance_year=year,
        at=at,
    )


def test_the_matrix_covers_every_role_organisation_type_and_action() -> None:
    assert len(CELLS) == len(Role) * len(OrganisationType) * len(Action)
    assert {(c.role, c.organisation_type, c.action) for c in CELLS} == {
        (r, t, a) for r in Role for t in OrganisationType for a in Action
    }
    assert all(c.reference for c in CELLS)


@pytest.mark.parametrize("cell", OFFERED, ids=cell_id)
def test_cell_on_the_home_organisation(
    cell: Cell, session: Any, world_db: tuple[str, w.World]
) -> None:
    """The role's own organisation: allowed exactly when the cell allows and reaches `own`."""
    _, world = world_db
    principal = _principal(session, world, cell)
    home = world.identifier(cell.organisation_type)
    for at, in_period in ((w.IN_SUBMISSION_PERIOD, True), (w.OUTSIDE_SUBMISSION_PERIOD, False)):
        allowed = cell.reach is Reach.OWN and (
            cell.effect is Effect.ALLOW
            or (cell.effect is Effect.OUTSIDE_SUBMISSION_PERIOD and not in_period)
        )
        if allowed:
            decision = _ask(session, principal, cell, cell.organisation_type, home, at=at)
            assert decision.grant.role is cell.role
            assert decision.cell == cell
            assert decision.via_client is None
        else:
            expected: type[Exception] = ActionRefused
            if cell.effect is Effect.OUTSIDE_SUBMISSION_PERIOD and cell.reach is Reach.OWN:
                expected = OutsideAllowedPeriod
            with pytest.raises(expected) as refused:
                _ask(session, principal, cell, cell.organisation_type, home, at=at)
            assert refused.value.http_status == 403
            assert refused.value.code in {"OQ-ACCESS-002", "OQ-ACCESS-003"}
            if cell.note and expected is ActionRefused:
                assert cell.note in refused.value.message


@pytest.mark.parametrize(
    "cell",
    [c for c in OFFERED if c.organisation_type is not OrganisationType.PRACTICE],
    ids=cell_id,
)
def test_cell_on_a_practice_that_authorised_the_registry(
    cell: Cell, session: Any, world_db: tuple[str, w.World]
) -> None:
    """Only registries reach a client practice, only for the authorised year, and only with
    cells that reach clients; everyone else is simply not connected to it."""
    _, world = world_db
    principal = _principal(session, world, cell)
    client = world.identifier(OrganisationType.PRACTICE)
    at = w.OUTSIDE_SUBMISSION_PERIOD
    if cell.organisation_type is not OrganisationType.REGISTRY:
        with pytest.raises(NotConnected):
            _ask(session, principal, cell, OrganisationType.PRACTICE, client, at=at)
        return
    if cell.reach is Reach.CLIENTS and cell.effect is Effect.ALLOW:
        for npi in (None, w.CLIENT_NPI):
            decision = _ask(
                session, principal, cell, OrganisationType.PRACTICE, client, at=at, npi=npi
            )
            assert decision.via_client is not None
            assert decision.via_client.performance_year == w.YEAR
        if cell.action in (Action.VIEW_SUBMISSIONS, Action.VIEW_PRELIMINARY_SCORES):
            assert decision.scope is DataScope.OWN_SUBMISSIONS
        # another year: no authorisation, so not connected
        with pytest.raises(NotConnected):
            _ask(
                session, principal, cell, OrganisationType.PRACTICE, client, at=at, year=w.YEAR + 1
            )
    else:
        with pytest.raises(ActionRefused):
            _ask(session, principal, cell, OrganisationType.PRACTICE, client, at=at)


@pytest.mark.parametrize("cell", OFFERED, ids=cell_id)
def test_cell_on_an_unconnected_or_missing_organisation_is_the_same_refusal(
    cell: Cell, session: Any, world_db: tuple[str, w.World]
) -> None:
    """Asking about a practice you have no connection to, or one that does not exist, gets the
    same 403 with the same words: a refusal never tells whether the practice is there."""
    _, world = world_db
    principal = _principal(session, world, cell)
    at = w.OUTSIDE_SUBMISSION_PERIOD
    with pytest.raises(NotConnected) as existing:
        _ask(session, principal, cell, OrganisationType.PRACTICE, w.OTHER_PRACTICE[0], at=at)
    with pytest.raises(NotConnected) as missing:
        _ask(session, principal, cell, OrganisationType.PRACTICE, w.MISSING_PRACTICE, at=at)
    assert existing.value.http_status == missing.value.http_status == 403
    assert existing.value.code == missing.value.code == "OQ-ACCESS-001"
    assert existing.value.message.replace("9323", "") == missing.value.message.replace("4321", "")
    assert existing.value.fix == missing.value.fix
    assert w.OTHER_PRACTICE[1] not in existing.value.message
    # and another registry is not reachable either
    with pytest.raises(NotConnected):
        _ask(session, principal, cell, OrganisationType.REGISTRY, w.OTHER_REGISTRY[0], at=at)


@pytest.mark.parametrize("cell", [c for c in CELLS if not c.offered], ids=cell_id)
def test_cell_of_a_role_not_offered_is_refused_and_cannot_be_requested(
    cell: Cell, session: Any, world_db: tuple[str, w.World]
) -> None:
    _, world = world_db
    home = world.identifier(cell.organisation_type)
    someone = _principal(session, world, dataclasses.replace(cell, role=Role.STAFF_USER))
    forged = dataclasses.replace(
        someone,
        grants=(Grant(cell.role, someone.grants[0].organisation),),
    )
    with pytest.raises(ActionRefused) as refused:
        _ask(session, forged, cell, cell.organisation_type, home, at=w.OUTSIDE_SUBMISSION_PERIOD)
    assert "only for practices" in refused.value.message
    with pytest.raises(RoleNotOffered):
        access.request_role(
            session,
            principal=someone,
            organisation_type=cell.organisation_type,
            identifier=home,
            role=cell.role,
            reason=None,
            context=audit.RequestContext(),
        )
