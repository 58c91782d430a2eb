"""The demo users from the guides: created once, a new password at every start, and able to
sign in with it."""

from __future__ import annotations

from sqlalchemy import func, select

from openqpp.db.models import ClientAuthorisation, RoleGrant, User
from openqpp.services import access, audit, database, demo


def test_demo_users_load_once_with_fresh_passwords_that_work(database_url: str) -> None:
    database.upgrade(database_url)
    factory = database.session_factory(database_url)
    with factory.begin() as session:
        demo.load_demo(session)
        first = {c.user_id: c for c in demo.load_demo_access(session)}
    with factory.begin() as session:
        second = {c.user_id: c for c in demo.load_demo_access(session)}
    assert {"sam.smith", "debara.jones", "maria.garcia", "alex.chen"} <= set(first)
    assert first["sam.smith"].name == "Sam Smith"
    assert "staff user at Miami Medical" in first["sam.smith"].roles
    assert "clinician at Miami Medical" in first["debara.jones"].roles
    assert "(pending)" in first["chris.taylor"].roles
    assert all(first[u].password != second[u].password for u in first)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(User)) == len(demo.DEMO_USERS)
        grants = session.scalar(select(func.count()).select_from(RoleGrant))
        assert grants == sum(len(u.roles) + len(u.pending) for u in demo.DEMO_USERS)
        assert session.scalar(select(func.count()).select_from(ClientAuthorisation)) == len(
            demo.DEMO_CLIENT_AUTHORISATIONS
        )
    with factory.begin() as session:
        old = access.sign_in(
            session,
            user_id="sam.smith",
            password=first["sam.smith"].password,
            agreed_to_statement_of_truth=True,
            context=audit.RequestContext(),
        )
        new = access.sign_in(
            session,
            user_id="sam.smith",
            password=second["sam.smith"].password,
            agreed_to_statement_of_truth=True,
            context=audit.RequestContext(),
        )
    assert old.error is not None
    assert new.error is None
    assert new.principal is not None
    assert {g.organisation.identifier for g in new.principal.grants} == {"123456789", "454599323"}


def test_practice_by_tin_finds_a_practice_by_any_tin_spelling(database_url: str) -> None:
    database.upgrade(database_url)
    factory = database.session_factory(database_url)
    with factory.begin() as session:
        demo.load_demo(session)
    with factory() as session:
        found = access.practice_by_tin(session, "12-3456789")
        assert found is not None
        assert (found.identifier, found.name) == ("123456789", "Miami Medical")
        assert found.address == "213 Miami Ln., Miami, FL 01234"
        assert access.practice_by_tin(session, "987654321") is None
