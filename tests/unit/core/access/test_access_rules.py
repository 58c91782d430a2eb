"""The pure access rules: the matrix file's strict format, the decision rule, the back-off."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import yaml

from openqpp.core.access import (
    PER_USER,
    Action,
    ActionRefused,
    ClientLink,
    DataScope,
    Grant,
    MatrixError,
    NotConnected,
    OrganisationRef,
    OrganisationType,
    OutsideAllowedPeriod,
    PermissionMatrix,
    Role,
    Target,
    decide,
)
from openqpp.services.access.matrix import MATRIX_FILE, parse

RAW: dict[str, Any] = yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))
MATRIX = PermissionMatrix.from_mapping(RAW)

PRACTICE = OrganisationRef(1, OrganisationType.PRACTICE, "123456789")
OTHER_PRACTICE = OrganisationRef(2, OrganisationType.PRACTICE, "454599323")
REGISTRY = OrganisationRef(3, OrganisationType.REGISTRY, "AAN-QCDR")
APM = OrganisationRef(4, OrganisationType.APM_ENTITY, "A1234")
VG = OrganisationRef(5, OrganisationType.VIRTUAL_GROUP, "VG-1")
LINK = ClientLink(registry_id=3, practice_id=1, npi=None, performance_year=2019)


def allowed(grant: Grant, action: Action, target: OrganisationRef, **kwargs: Any) -> bool:
    kwargs.setdefault("in_submission_period", True)
    try:
        decide(MATRIX, grants=[grant], action=action, target=Target(target), **kwargs)
    except (ActionRefused, NotConnected, OutsideAllowedPeriod):
        return False
    return True


# ---------------------------------------------------------------- Appendix A, spelled out


def test_practice_staff_submit_and_elect_and_see_preliminary_scores_but_not_cost_in_period() -> (
    None
):
    staff = Grant(Role.STAFF_USER, PRACTICE)
    for action in (
        Action.SUBMIT_DATA,
        Action.ELECT,
        Action.VIEW_PRELIMINARY_SCORES,
        Action.VIEW_SUBMISSIONS,
        Action.VIEW_ELIGIBILITY,
    ):
        assert allowed(staff, action, PRACTICE), action
    assert not allowed(staff, Action.VIEW_COST_FEEDBACK, PRACTICE)
    assert allowed(staff, Action.VIEW_COST_FEEDBACK, PRACTICE, in_submission_period=False)
    for action in (Action.MANAGE_USERS, Action.MANAGE_API_TOKENS, Action.VIEW_AUDIT_LOG):
        assert not allowed(staff, action, PRACTICE), action


def test_the_clinician_role_is_view_only() -> None:
    clinician = Grant(Role.CLINICIAN, PRACTICE)
    assert allowed(clinician, Action.VIEW_ELIGIBILITY, PRACTICE)
    for action in Action:
        if action not in (Action.VIEW_ELIGIBILITY, Action.VIEW_COST_FEEDBACK):
            assert not allowed(clinician, action, PRACTICE), action
    assert MATRIX.offered_roles(OrganisationType.REGISTRY) == (
        Role.SECURITY_OFFICIAL,
        Role.STAFF_USER,
    )


def test_registry_staff_upload_and_elect_for_clients_only_and_see_only_their_own_data() -> None:
    staff = Grant(Role.STAFF_USER, REGISTRY)
    for action in (Action.SUBMIT_DATA, Action.ELECT):
        assert allowed(staff, action, PRACTICE, client_links=[LINK], performance_year=2019)
        assert not allowed(staff, action, PRACTICE, client_links=[LINK], performance_year=2020)
        assert not allowed(staff, action, PRACTICE)
        assert not allowed(staff, action, OTHER_PRACTICE, client_links=[LINK])
        assert not allowed(staff, action, REGISTRY)
    decision = decide(
        MATRIX,
        grants=[staff],
        action=Action.VIEW_SUBMISSIONS,
        target=Target(PRACTICE),
        client_links=[LINK],
        in_submission_period=True,
    )
    assert decision.scope is DataScope.OWN_SUBMISSIONS
    assert decision.via_client == LINK
    assert not allowed(
        staff, Action.VIEW_COST_FEEDBACK, PRACTICE, client_links=[LINK], in_submission_period=False
    )


def test_a_link_for_one_clinician_does_not_reach_the_group_or_other_clinicians() -> None:
    link = ClientLink(3, 1, "1234567893", 2019)
    staff = Grant(Role.STAFF_USER, REGISTRY)
    reach = {"client_links": [link], "performance_year": 2019}
    assert decide(
        MATRIX,
        grants=[staff],
        action=Action.ELECT,
        target=Target(PRACTICE, "1234567893"),
        in_submission_period=True,
        **reach,
    )
    with pytest.raises(NotConnected):
        decide(
            MATRIX,
            grants=[staff],
            action=Action.ELECT,
            target=Target(PRACTICE),
            in_submission_period=True,
            **reach,
        )
    with pytest.raises(NotConnected):
        decide(
            MATRIX,
            grants=[staff],
            action=Action.ELECT,
            target=Target(PRACTICE, "1245319599"),
            in_submission_period=True,
            **reach,
        )


def test_apm_entity_users_cannot_reach_practice_data_and_vice_versa() -> None:
    for role in (Role.SECURITY_OFFICIAL, Role.STAFF_USER):
        assert not allowed(Grant(role, APM), Action.VIEW_SUBMISSIONS, PRACTICE)
        assert not allowed(Grant(role, PRACTICE), Action.VIEW_SUBMISSIONS, APM)
        assert not allowed(Grant(role, VG), Action.VIEW_SUBMISSIONS, PRACTICE)
        assert allowed(Grant(role, APM), Action.VIEW_SUBMISSIONS, APM)
        assert not allowed(Grant(role, APM), Action.ELECT, APM)


def test_only_security_officials_of_registries_and_practices_manage_tokens() -> None:
    for org in (PRACTICE, REGISTRY, VG, APM):
        expected = org.type in (OrganisationType.PRACTICE, OrganisationType.REGISTRY)
        assert (
            allowed(Grant(Role.SECURITY_OFFICIAL, org), Action.MANAGE_API_TOKENS, org) is expected
        )
        assert not allowed(Grant(Role.STAFF_USER, org), Action.MANAGE_API_TOKENS, org)


def test_the_best_refusal_is_chosen_and_any_allowing_grant_wins() -> None:
    grants = [Grant(Role.CLINICIAN, PRACTICE), Grant(Role.STAFF_USER, PRACTICE)]
    decision = decide(
        MATRIX,
        grants=grants,
        action=Action.SUBMIT_DATA,
        target=Target(PRACTICE),
        in_submission_period=True,
    )
    assert decision.grant.role is Role.STAFF_USER
    with pytest.raises(OutsideAllowedPeriod, match="submission period"):
        decide(
            MATRIX,
            grants=grants,
            action=Action.VIEW_COST_FEEDBACK,
            target=Target(PRACTICE),
            in_submission_period=True,
        )
    with pytest.raises(NotConnected, match=r"\*\*\*\*\*9323"):
        decide(
            MATRIX,
            grants=grants,
            action=Action.VIEW_ELIGIBILITY,
            target=Target(OTHER_PRACTICE),
            in_submission_period=False,
        )


# ---------------------------------------------------------------- the file format


def test_every_cell_cites_its_source_and_every_refusal_says_why() -> None:
    for cell in MATRIX:
        assert len(cell.reference) > 10, cell
        if cell.effect.value != "allow":
            assert cell.note, cell


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(RAW)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["matrix"]["practice"]["staff_user"]["actions"].pop("elect"), "missing elect"),
        (
            lambda d: d["matrix"]["practice"]["staff_user"]["actions"]["elect"].pop("reference"),
            "reference",
        ),
        (lambda d: d["matrix"]["practice"]["staff_user"]["actions"].update(fly={}), "unknown key"),
        (
            lambda d: d["matrix"]["practice"]["staff_user"]["actions"]["elect"].update(
                effect="maybe"
            ),
            "maybe",
        ),
        (
            lambda d: d["matrix"]["practice"]["staff_user"]["actions"]["elect"].update(
                reach="clients"
            ),
            "only registries",
        ),
        (
            lambda d: d["matrix"]["registry"]["staff_user"]["actions"]["elect"].update(
                effect="deny"
            ),
            "note",
        ),
        (lambda d: d["matrix"].pop("apm_entity"), "missing apm_entity"),
        (lambda d: d.update(extra=1), "unknown key"),
    ],
)
def test_a_broken_matrix_file_is_refused_with_the_key_named(change: Any, message: str) -> None:
    with pytest.raises(MatrixError, match=message):
        PermissionMatrix.from_mapping(_broken(change))


def test_a_duplicate_key_in_the_matrix_file_is_refused() -> None:
    text = MATRIX_FILE.read_text(encoding="utf-8")
    doubled = text.replace(
        "        view_eligibility:\n",
        "        view_eligibility:\n          effect: deny\n        view_eligibility:\n",
        1,
    )
    with pytest.raises(MatrixError, match="duplicate key 'view_eligibility'"):
        parse(doubled)


# ---------------------------------------------------------------- back-off


def test_back_off_gives_free_attempts_then_doubles_up_to_a_cap() -> None:
    assert [PER_USER.lock_for(n) for n in range(1, 5)] == [None] * 4
    locks = [PER_USER.lock_for(n) for n in (5, 6, 7, 8)]
    assert locks == [dt.timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert PER_USER.lock_for(40) == dt.timedelta(hours=1)


def test_old_failures_are_forgotten() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert PER_USER.after_failure(4, now - dt.timedelta(days=2), now) == (1, None)
    failures, until = PER_USER.after_failure(4, now - dt.timedelta(minutes=1), now)
    assert failures == 5
    assert until == now + dt.timedelta(seconds=30)
