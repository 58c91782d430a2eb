"""Refused access forms come back as their page with the CMS Design System error summary, the
field marked and what was typed kept, and nothing written: a token without a name or with an
expiry in the past, an unknown registry or a mistyped NPI in "Authorise a registry", and a role
approved until a day that has passed (over HTTP; the browser walk of every form's error state is
tests/e2e/browser/test_form_error_summaries.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.support.access_http import csrf_from, sign_in
from tests.support.elections_world import PASSWORD, World

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.db.models import ApiToken, ClientAuthorisation, RoleGrant
from openqpp.services import access, audit
from openqpp.settings import Settings
from openqpp.web import create_app

PRACTICE = f"/organisations/practice/{MIAMI_MEDICAL}"


def _client(world: World, user_id: str) -> TestClient:
    client = TestClient(create_app(Settings(database_url=world.url, log_level="warning")))
    sign_in(client, user_id, PASSWORD)
    return client


def _count(world: World, model: type) -> int:
    with world.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _summary_links_to(page: str, field: str) -> None:
    assert 'id="error-summary"' in page
    assert f'<a href="#{field}">' in page
    assert f'id="{field}-error"' in page
    assert 'aria-invalid="true"' in page
    assert "<title>Error: " in page


def test_a_token_without_a_name_or_with_a_past_expiry_is_refused_on_its_page(
    world: World,
) -> None:
    client = _client(world, "maria.garcia")
    page = client.get(PRACTICE + "/tokens").text
    before = _count(world, ApiToken)
    nameless = client.post(
        PRACTICE + "/tokens",
        data={"csrf_token": csrf_from(page), "label": "  ", "expires_on": ""},
    )
    assert nameless.status_code == 400
    _summary_links_to(nameless.text, "token-label")
    assert "The token needs a name." in nameless.text
    assert "OQ-ACCESS-010" in nameless.text
    past = client.post(
        PRACTICE + "/tokens",
        data={"csrf_token": csrf_from(page), "label": "EHR", "expires_on": "2020-01-31"},
    )
    assert past.status_code == 400
    _summary_links_to(past.text, "token-expires")
    assert 'value="EHR"' in past.text  # what was typed is kept
    assert _count(world, ApiToken) == before


def test_authorising_an_unknown_registry_or_a_mistyped_npi_is_refused_on_its_page(
    world: World,
) -> None:
    client = _client(world, "maria.garcia")
    page = client.get(PRACTICE + "/clients").text
    before = _count(world, ClientAuthorisation)
    unknown = client.post(
        PRACTICE + "/clients",
        data={"csrf_token": csrf_from(page), "registry": "NO-SUCH-QR", "performance_year": "2022"},
    )
    assert unknown.status_code == 400
    _summary_links_to(unknown.text, "registry")
    assert "No registry with vendor ID NO-SUCH-QR" in unknown.text
    mistyped = client.post(
        PRACTICE + "/clients",
        data={
            "csrf_token": csrf_from(page),
            "registry": "OTHER-QR",
            "performance_year": "2022",
            "npi": "1234567890",
        },
    )
    assert mistyped.status_code == 400
    _summary_links_to(mistyped.text, "client-npi")
    assert "OQ-NPI-002" in mistyped.text
    assert 'value="OTHER-QR"' in mistyped.text
    assert _count(world, ClientAuthorisation) == before


def test_a_role_approved_until_a_past_day_is_refused_and_stays_pending(world: World) -> None:
    with world.factory.begin() as session:
        access.create_user(
            session, user_id="nora.new", name="Nora New", email="n@example.org", password=PASSWORD
        )
    with world.factory.begin() as session:
        grant = access.request_role(
            session,
            principal=world.principal("nora.new"),
            organisation_type="practice",
            identifier=MIAMI_MEDICAL,
            role="staff_user",
            reason=None,
            context=audit.RequestContext(request_id="req-test", client_address="127.0.0.1"),
        )
    client = _client(world, "maria.garcia")
    for next_path, heading in (("/account", "Your organisations"), (PRACTICE, "Miami Medical")):
        page = client.get(next_path).text
        refused = client.post(
            f"/access/role-requests/{grant.id}/decision",
            data={
                "csrf_token": csrf_from(page),
                "decision": "approve",
                "expires_on": "2020-01-31",
                "next": next_path,
            },
            follow_redirects=False,
        )
        assert refused.status_code == 400
        assert f"<title>Error: {heading}" in refused.text
        _summary_links_to(refused.text, f"expires-{grant.id}")
        assert "The expiry date is in the past." in refused.text
    with world.factory() as session:
        row = session.get(RoleGrant, grant.id)
        assert row is not None
        assert row.status == "pending"


def test_a_role_the_organisation_does_not_offer_is_refused_at_the_role_choice(
    world: World,
) -> None:
    client = _client(world, "sam.smith")
    page = client.get("/account/roles/new").text
    refused = client.post(
        "/account/roles",
        data={
            "csrf_token": csrf_from(page),
            "organisation_type": "registry",
            "identifier": "AAN-QCDR",
            "role": "clinician",
            "reason": "",
        },
    )
    assert refused.status_code == 400
    assert "OQ-ACCESS-004" in refused.text
    _summary_links_to(refused.text, "role-staff_user")  # the first radio of the role choice
    assert 'id="role-staff_user-error"' in refused.text
    assert 'value="AAN-QCDR"' in refused.text
