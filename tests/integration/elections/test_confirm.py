"""Elections through the services on a real database: who may elect, for what, when; every
refusal with its code; the record (actor, role, on-behalf-of, run, typed text); the audit
record in the same transaction; and "MIPS eligible via opt-in" everywhere afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from tests.support.elections_world import (
    DEBARA,
    GREEN,
    LAKESIDE,
    LAKESIDE_NPI,
    MORGAN,
    NOW_2019,
    NOW_2022,
    RIVERA,
    VIRTUAL_GROUP,
    World,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.elections import ElectionKind, ElectionRefused
from openqpp.db.models import AuditRecord, Election, Notification
from openqpp.services import audit, elections
from openqpp.services import eligibility_lookup as lookup

CONTEXT = audit.RequestContext(request_id="req-1", client_address="127.0.0.1")


def _confirm(
    world: World,
    user_id: str,
    *,
    tin: str = GREENVILLE_PODIATRY,
    npi: str | None = None,
    kind: str = "opt_in",
    typed: str = "CONFIRM",
    year: int = 2022,
    now: dt.datetime = NOW_2022,
    pathway: str = "traditional_mips",
) -> elections.Confirmed:
    from openqpp.core.elections import Pathway

    with world.factory.begin() as session:
        return elections.confirm(
            session,
            principal=world.principal(user_id),
            year=year,
            level="individual" if npi else "group",
            tin=tin,
            npi=npi,
            kind=kind,
            typed=typed,
            now=now,
            context=CONTEXT,
            pathway=Pathway(pathway),
        )


def _refused(world: World, code: str, **kwargs: object) -> ElectionRefused:
    with pytest.raises(ElectionRefused) as caught:
        _confirm(world, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value
    assert caught.value.fix
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(Election)) == 0
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == "election.confirmed")
            )
            == 0
        )
    return caught.value


def test_a_security_official_opts_the_practice_in_and_it_is_recorded_and_audited(
    world: World,
) -> None:
    confirmed = _confirm(world, "lee.wong", typed="  confirm ")
    info = confirmed.election
    assert info.kind is ElectionKind.OPT_IN
    assert (info.tin, info.npi, info.level.value) == (GREENVILLE_PODIATRY, None, "group")
    assert (info.actor, info.role, info.actor_kind.value) == (
        "lee.wong",
        "security_official",
        "practice_representative",
    )
    assert info.on_behalf_of == "Greenville Podiatry"
    assert info.acting_organisation == "Greenville Podiatry"
    assert (info.performance_year, info.run_number, info.status_at_election) == (
        2022,
        1,
        "opt_in_eligible",
    )
    assert info.confirmation_text == "confirm"
    assert info.decided_at == NOW_2022
    with world.factory() as session:
        (record,) = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "election.confirmed")
        ).all()
        assert record.actor == "lee.wong"
        assert record.role == "security_official"
        assert record.tin == GREENVILLE_PODIATRY
        assert record.object_id == str(info.id)
        assert record.after is not None
        assert record.after["kind"] == "opt_in"
        assert record.after["run"] == "2022:1"
        assert record.request_id == "req-1"
        # a practice representative electing for its own practice notifies nobody
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_after_an_opt_in_the_status_reads_mips_eligible_via_opt_in_everywhere(
    world: World,
) -> None:
    info = _confirm(world, "sam.smith").election
    with world.factory() as session:
        view = lookup.lookup_npi(session, GREEN, year=2022)
        (org,) = view.organizations
        assert org.group is not None
        assert org.group.display == "MIPS eligible via opt-in"
        assert org.group.is_opted_in is True
        assert org.group.opt_in_decision_date == info.decided_at
        # the clinician's own individual status is unchanged: the practice elected as a group
        assert org.individual is not None
        assert org.individual.is_opted_in is None
        assert org.individual.display == "MIPS EXEMPT · Opt-in eligible"
        _run, lines = lookup.roster(session, [(2, GREENVILLE_PODIATRY, None)], year=2022)
        assert lines[0].group is not None
        assert lines[0].group.is_opted_in is True
        # the 2019 determination is another year: no election there
        older = lookup.lookup_npi(session, GREEN, year=2019).organizations[0].group
        assert older is not None
        assert older.is_opted_in is None


def test_a_voluntary_election_reads_is_opted_in_false(world: World) -> None:
    _confirm(world, "maria.garcia", tin=MIAMI_MEDICAL, npi=DEBARA, kind="voluntary")
    with world.factory() as session:
        (org,) = lookup.lookup_npi(session, DEBARA, year=2022).organizations
    assert org.individual is not None
    assert org.individual.is_opted_in is False
    assert org.individual.display == "MIPS exempt · Reporting voluntarily"
    assert org.individual.opt_in_decision_date == NOW_2022


def test_staff_elect_for_a_clinician_of_their_practice(world: World) -> None:
    info = _confirm(world, "sam.smith", tin=MIAMI_MEDICAL, npi=DEBARA).election
    assert (info.level.value, info.entity_key) == ("individual", f"{MIAMI_MEDICAL}/{DEBARA}")
    assert info.role == "staff_user"


def test_the_clinician_role_may_not_elect(world: World) -> None:
    error = _refused(world, "OQ-ELECT-005", user_id="debara.jones", tin=MIAMI_MEDICAL, npi=DEBARA)
    assert "view-only" in error.message
    assert getattr(error, "access_code", None) == "OQ-ACCESS-002"


def test_someone_without_a_role_at_the_practice_is_not_authorised_and_learns_nothing(
    world: World,
) -> None:
    there = _refused(world, "OQ-ELECT-005", user_id="lee.wong", tin=MIAMI_MEDICAL)
    missing = _refused(world, "OQ-ELECT-005", user_id="lee.wong", tin="987654321")
    assert "*****6789" in there.message
    assert there.message.replace("6789", "4321") == missing.message
    assert getattr(missing, "access_code", None) == getattr(there, "access_code", None)
    assert there.access_code == "OQ-ACCESS-001"  # type: ignore[attr-defined]


def test_a_registry_elects_for_an_authorised_client_and_the_practice_is_notified(
    world: World,
) -> None:
    info = _confirm(world, "jordan.rivera", tin=MIAMI_MEDICAL, npi=DEBARA).election
    assert info.actor_kind.value == "registry"
    assert info.acting_organisation == "American Academy of Neurology"
    assert info.on_behalf_of == "Miami Medical"
    with world.factory() as session:
        (note,) = session.scalars(select(Notification)).all()
        assert "American Academy of Neurology" in note.title
        assert "Miami Medical" in note.title
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "election.confirmed")
        ).one()
        assert record.acting_organisation_id is not None
        assert record.organisation_id != record.acting_organisation_id


def test_a_registry_without_a_client_authorisation_for_the_year_is_not_authorised(
    world: World,
) -> None:
    # OTHER-QR has no client at all; AAN-QCDR is authorised for Greenville only for Alex Green
    _refused(world, "OQ-ELECT-005", user_id="olga.other", tin=MIAMI_MEDICAL, npi=DEBARA)
    _refused(world, "OQ-ELECT-005", user_id="alex.chen", tin=GREENVILLE_PODIATRY)
    assert _confirm(world, "alex.chen", tin=GREENVILLE_PODIATRY, npi=GREEN).election.npi == GREEN


def test_a_registry_authorised_for_2019_only_cannot_elect_for_2022_and_vice_versa(
    world: World,
) -> None:
    # AAN-QCDR is authorised for Greenville's Alex Green in 2022 only
    _refused(
        world,
        "OQ-ELECT-005",
        user_id="alex.chen",
        tin=GREENVILLE_PODIATRY,
        npi=GREEN,
        year=2019,
        now=NOW_2019,
    )


@pytest.mark.parametrize(
    ("npi", "tin", "what"),
    [
        (RIVERA, MIAMI_MEDICAL, "MIPS eligible"),
        (MORGAN, MIAMI_MEDICAL, "exempt"),
        (None, MIAMI_MEDICAL, "MIPS eligible"),
    ],
)
def test_only_opt_in_eligible_entities_can_elect(
    world: World, npi: str | None, tin: str, what: str
) -> None:
    error = _refused(world, "OQ-ELECT-001", user_id="maria.garcia", tin=tin, npi=npi)
    assert what in error.message


def test_a_clinician_who_did_not_bill_at_the_practice_has_no_result(world: World) -> None:
    error = _refused(world, "OQ-ELECT-001", user_id="sam.smith", tin=MIAMI_MEDICAL, npi=GREEN)
    assert "no result" in error.message


def test_a_second_election_is_refused_as_already_elected_and_the_first_stands(
    world: World,
) -> None:
    first = _confirm(world, "lee.wong").election
    with pytest.raises(ElectionRefused) as caught:
        _confirm(world, "sam.smith", kind="voluntary")
    assert caught.value.code == "OQ-ELECT-002"
    assert caught.value.http_status == 409
    assert "Opt-In" in caught.value.message
    assert "March 19, 2023 at 8:00 PM ET" in caught.value.message
    with world.factory() as session:
        (row,) = session.scalars(select(Election)).all()
    assert (row.id, row.kind, row.actor) == (first.id, "opt_in", "lee.wong")


def test_outside_the_window_elections_are_refused_with_their_own_codes(world: World) -> None:
    before = dt.datetime(2023, 1, 3, 9, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    after = dt.datetime(2023, 3, 31, 20, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    early = _refused(world, "OQ-ELECT-003", user_id="lee.wong", now=before)
    assert "opens" in early.message
    late = _refused(world, "OQ-ELECT-004", user_id="lee.wong", now=after)
    assert "closed on March 31, 2023 at 8:00 PM ET" in late.message


def test_the_window_edges_are_exact_on_the_closing_day(world: World) -> None:
    last_second = dt.datetime(2023, 3, 31, 23, 59, 59, tzinfo=dt.UTC)  # 19:59:59 EDT
    assert _confirm(world, "lee.wong", now=last_second).election.decided_at == last_second
    _refused_after = dt.datetime(2023, 4, 1, 0, 0, 0, tzinfo=dt.UTC)  # 20:00:00 EDT
    with pytest.raises(ElectionRefused) as caught:
        _confirm(world, "maria.garcia", tin=MIAMI_MEDICAL, npi=DEBARA, now=_refused_after)
    assert caught.value.code == "OQ-ELECT-004"


def test_2019_uses_the_extended_close_across_daylight_saving(world: World) -> None:
    # opens 10:00 EST on January 2, 2020; published close March 31 8:00 PM EDT; extended to
    # April 30, 2020 8:00 PM EDT (docs/decisions/0004: the close is the recorded extension)
    opens = dt.datetime(2020, 1, 2, 15, 0, 0, tzinfo=dt.UTC)
    _refused(
        world, "OQ-ELECT-003", user_id="lee.wong", year=2019, now=opens - dt.timedelta(seconds=1)
    )
    after_published_close = dt.datetime(2020, 4, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert _confirm(world, "lee.wong", year=2019, now=after_published_close).election
    last = dt.datetime(2020, 4, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert _confirm(world, "maria.garcia", tin=MIAMI_MEDICAL, npi=DEBARA, year=2019, now=last)
    with pytest.raises(ElectionRefused) as caught:
        _confirm(world, "sam.smith", tin=GREENVILLE_PODIATRY, npi=GREEN, year=2019,
                 now=dt.datetime(2020, 5, 1, 0, 0, 0, tzinfo=dt.UTC))  # fmt: skip
    assert caught.value.code == "OQ-ELECT-004"


def test_confirm_must_be_typed(world: World) -> None:
    for typed in ("", "CONFIRMED", "yes", "confirm please"):
        error = _refused(world, "OQ-ELECT-008", user_id="lee.wong", typed=typed)
        assert "CONFIRM" in error.message


def test_a_voluntary_app_election_is_refused_and_mvps_are_not_for_opt_in_eligible(
    world: World,
) -> None:
    app = _refused(world, "OQ-ELECT-007", user_id="lee.wong", kind="voluntary", pathway="app")
    assert "APP" in app.message
    mvp = _refused(world, "OQ-ELECT-007", user_id="lee.wong", pathway="mvp")
    assert "MVP" in mvp.message
    # opting in to report the APP is allowed in 2022
    assert _confirm(world, "lee.wong", pathway="app").election.pathway.value == "app"


def test_a_group_listed_in_a_virtual_group_is_already_opted_in(world: World) -> None:
    error = _refused(world, "OQ-ELECT-002", user_id="dana.lake", tin=LAKESIDE)
    assert VIRTUAL_GROUP in error.message
    with world.factory() as session:
        (org,) = lookup.lookup_npi(session, LAKESIDE_NPI, year=2022).organizations
    assert org.group is not None
    assert org.group.display == "MIPS eligible via opt-in"
    assert org.group.is_opted_in is True
    assert org.group.opt_in_decision_date is None
    # the clinician can still elect as an individual
    assert _confirm(world, "dana.lake", tin=LAKESIDE, npi=LAKESIDE_NPI).election


def test_an_unknown_decision_and_an_unsupported_year_are_user_errors(world: World) -> None:
    _refused(world, "OQ-ELECT-009", user_id="lee.wong", kind="no_decision")
    _refused(world, "OQ-ELECT-009", user_id="lee.wong", kind="maybe")
    error = _refused(world, "OQ-POLICY-002", user_id="lee.wong", year=2030)
    assert "2030" in error.message


def test_the_page_form_repeated_with_its_key_returns_the_same_election(world: World) -> None:
    with world.factory.begin() as session:
        first = elections.confirm_from_page(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            tin=GREENVILLE_PODIATRY,
            decision="opt_in",
            typed="confirm",
            idempotency_key="form-key-1",
            now=NOW_2022,
            context=CONTEXT,
        )
    with world.factory.begin() as session:
        again = elections.confirm_from_page(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            tin=GREENVILLE_PODIATRY,
            decision="opt_in",
            typed="confirm",
            idempotency_key="form-key-1",
            now=NOW_2022 + dt.timedelta(seconds=2),
            context=CONTEXT,
        )
    assert first.confirmed is not None
    assert again.confirmed is not None
    assert again.confirmed.replayed
    assert again.confirmed.election.id == first.confirmed.election.id
    assert (
        again.redirect_to
        == first.redirect_to
        == (f"/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}/confirmed")
    )


def test_the_page_shows_a_mistyped_confirmation_in_the_error_summary(world: World) -> None:
    with world.factory.begin() as session:
        outcome = elections.confirm_from_page(
            session,
            principal=world.principal("lee.wong"),
            year=2022,
            tin=GREENVILLE_PODIATRY,
            decision="opt_in",
            typed="CONFIRMED",
            idempotency_key="k",
            now=NOW_2022,
            context=CONTEXT,
        )
    assert outcome.confirmed is None
    assert outcome.page is not None
    assert outcome.status_code == 422
    assert outcome.page.error_code == "OQ-ELECT-008"
    assert outcome.page.errors[0]["field"] == "confirm-text"
    assert outcome.page.typed == "CONFIRMED"


def test_an_election_and_its_audit_record_commit_or_roll_back_together(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If anything after the insert fails (here the audit record), the election is not kept:
    on SQLite too, where a first SAVEPOINT would otherwise commit on its own."""
    from openqpp.services.elections import records

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(records, "audit_election", broken_audit)
    with pytest.raises(RuntimeError, match="audit log"):
        _confirm(world, "lee.wong")
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(Election)) == 0
    monkeypatch.undo()
    assert _confirm(world, "lee.wong").election.kind is ElectionKind.OPT_IN
