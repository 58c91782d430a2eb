"""Every form that can be refused shows the CMS Design System error summary, in a real browser.

The forms come from the templates (tests/support/forms.py): each one whose refusals show a
summary needs a scenario here that submits it with input it refuses, or this test fails. Then:
the summary (an error alert, role="alert", with a heading) appears at the top and has the
focus; the page title starts with "Error: "; each link in it moves the focus to its field when
activated with the keyboard; each field named is marked invalid (aria-invalid) and described by
its inline error (ds-c-inline-error, outside the label, in the summary's words); and the page
passes axe with no Content-Security-Policy refusal.

The server runs on the accessibility world (tests/support/accessibility_world.py) plus a
registry upload that needs no election (its Submit Data form)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from tests.support.accessibility_world import (
    CLOCK,
    CONTEXT,
    NEW_USER,
    VENDOR,
    Prepared,
    csrf_from,
    prepare,
    sign_in_context,
)
from tests.support.elections_world import DEBARA, NOW_2022, RIVERA, Templates, World
from tests.support.forms import summary_forms
from tests.support.live import LiveServer, assert_accessible, start_server, stop_server
from tests.support.registry_uploads import qpp_json

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.db.models import ClientAuthorisation, Organisation
from openqpp.services import access, database
from openqpp.services.submissions import uploads

pytestmark = pytest.mark.browser

MIAMI = f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}"
GREENVILLE = f"/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}"
REGISTRY = "/organisations/registry/" + VENDOR
DEBARA_CHOICE = f"choice-{MIAMI_MEDICAL}-{DEBARA}"
DEBARA_2019 = f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/clinicians/{DEBARA}"


@dataclass
class Live:
    server: LiveServer
    prepared: Prepared
    ready_upload: str
    """A registry upload of Rivera's data alone: no election to make, so "Submit Data"."""


@pytest.fixture(scope="module")
def live(world_templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("form-errors")
    for url in world_templates.clone("sqlite", tmp):
        prepared = prepare(url)
        world = World(url, "sqlite")
        with world.factory.begin() as session:
            ready = uploads.stage_upload(
                session,
                principal=world.principal("alex.chen"),
                vendor_id=VENDOR,
                files=[("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022))],
                now=NOW_2022,
                context=CONTEXT,
                year=2022,
            )
        database.engine_for(url).dispose()
        server = start_server(tmp, database_url=url, demo=False, extra_env={"OPENQPP_CLOCK": CLOCK})
        try:
            yield Live(server, prepared, ready.id)
        finally:
            stop_server(server)


# ---------------------------------------------------------------- one scenario per form
# Each signs in (through the page's browser context), opens the form, submits input the server
# refuses, and returns the ids of fields the summary must link to.

Scenario = Callable[[Any, Live], list[str]]


def _as(page: Any, live: Live, user: str | None, path: str) -> None:
    if user is not None:
        sign_in_context(page.context, live.server.url, user)
    page.goto(live.server.url + path)


def _press(page: Any, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def sign_in_without_anything(page: Any, live: Live) -> list[str]:
    _as(page, live, None, "/signin")
    _press(page, "Sign in")
    return ["user-id", "password", "sot-agree"]


def request_a_role_without_an_identifier(page: Any, live: Live) -> list[str]:
    _as(page, live, NEW_USER, "/account/roles/new")
    _press(page, "Send request")
    return ["identifier"]


def approve_a_role_until_a_past_day(page: Any, live: Live) -> list[str]:
    field = f"expires-{live.prepared.role_request}"
    _as(page, live, "maria.garcia", "/account")
    page.locator(f"#{field}").fill("2020-01-31")
    page.get_by_role("button", name=re.compile("^Approve Nora New")).click()
    return [field]


def create_a_token_without_a_name(page: Any, live: Live) -> list[str]:
    _as(page, live, "maria.garcia", f"/organisations/practice/{MIAMI_MEDICAL}/tokens")
    _press(page, "Create token")
    return ["token-label"]


def authorise_an_unknown_registry(page: Any, live: Live) -> list[str]:
    _as(page, live, "maria.garcia", f"/organisations/practice/{MIAMI_MEDICAL}/clients")
    page.get_by_label("Registry vendor ID").fill("NO-SUCH-QR")
    page.get_by_label("Performance year").fill("2022")
    _press(page, "Authorise")
    return ["registry"]


def look_up_a_mistyped_npi(page: Any, live: Live) -> list[str]:
    _as(page, live, None, "/participation-lookup")
    page.get_by_label("NPI").fill("1234567890")
    _press(page, "Look up")
    return ["npi"]


def confirm_an_election_with_a_typo(page: Any, live: Live) -> list[str]:
    _as(page, live, "lee.wong", GREENVILLE + "/group-options/confirm?decision=opt_in")
    page.get_by_label(re.compile('type "CONFIRM"')).fill("confirn")
    _press(page, "I'm sure, confirm opt-in")
    return ["confirm-text"]


def opt_out_of_public_reporting_twice(page: Any, live: Live) -> list[str]:
    """The opt-out is recorded (another tab, here a request sharing the cookies) before the
    button on this page is pressed: refused, nothing to fix but to know it is done."""
    _as(page, live, "maria.garcia", DEBARA_2019 + "/reporting")
    form = page.locator("form[action$='/public-reporting-opt-out']")
    token = csrf_from(form.inner_html())
    first = page.context.request.post(
        live.server.url + DEBARA_2019 + "/public-reporting-opt-out",
        form={"csrf_token": token},
        max_redirects=0,
    )
    assert first.status == 303
    _press(page, "Opt out of public reporting")
    return ["election-heading"]


def upload_no_file(page: Any, live: Live) -> list[str]:
    _as(page, live, "maria.garcia", MIAMI + "/reporting")
    _press(page, "Upload")
    return ["upload-file", "upload-error-1"]


def save_pi_without_the_0_percent_confirmation(page: Any, live: Live) -> list[str]:
    _as(page, live, "maria.garcia", MIAMI + "/reporting/pi")
    page.get_by_label("Start date").fill("2022-01-01")
    page.get_by_label("End date").fill("2022-12-31")
    _press(page, "Save Promoting Interoperability data")
    return ["confirm-reweighting", "cehrt-id"]


def save_ia_without_a_start_date(page: Any, live: Live) -> list[str]:
    _as(page, live, "maria.garcia", MIAMI + "/reporting/ia")
    page.get_by_label("Start date").fill("")
    _press(page, "Save improvement activities")
    return ["performance-start"]


def confirm_registry_selections_with_a_typo(page: Any, live: Live) -> list[str]:
    pending = f"{REGISTRY}/uploads/{live.prepared.pending_upload}"
    _as(page, live, "alex.chen", f"{pending}/confirm?{DEBARA_CHOICE}=opt_in")
    page.get_by_label(re.compile('Please type "CONFIRM"')).fill("confirn")
    _press(page, "I'm Sure, Confirm Selections")
    return ["confirm-text"]


def upload_no_registry_file(page: Any, live: Live) -> list[str]:
    _as(page, live, "alex.chen", REGISTRY + "/uploads?year=2022")
    _press(page, "Upload")
    return ["upload-files"]


def submit_elections_without_a_choice(page: Any, live: Live) -> list[str]:
    _as(page, live, "alex.chen", f"{REGISTRY}/uploads/{live.prepared.pending_upload}")
    _press(page, "Submit Elections")
    return [f"{DEBARA_CHOICE}-no_decision"]


def submit_data_after_the_practice_revoked_the_registry(page: Any, live: Live) -> list[str]:
    """Miami Medical revokes the registry's 2022 authorisation while its page is open: the
    data is refused and nothing is stored (the authorisation is given back afterwards)."""
    _as(page, live, "alex.chen", f"{REGISTRY}/uploads/{live.ready_upload}")
    url = live.server.database_url
    world = World(url, "sqlite")
    with world.factory.begin() as session:
        authorisation = session.scalar(
            select(ClientAuthorisation.id)
            .join(Organisation, Organisation.id == ClientAuthorisation.practice_fk)
            .where(
                Organisation.identifier == MIAMI_MEDICAL,
                ClientAuthorisation.performance_year == 2022,
                ClientAuthorisation.revoked_at.is_(None),
            )
        )
        assert authorisation is not None
        access.revoke(
            session,
            principal=world.principal("maria.garcia"),
            practice_tin=MIAMI_MEDICAL,
            authorisation_id=authorisation,
            context=CONTEXT,
        )
    try:
        _press(page, "Submit Data")
        page.locator("#error-summary").wait_for()
    finally:
        with world.factory.begin() as session:
            access.operator_authorise(
                session,
                practice_tin=MIAMI_MEDICAL,
                registry_vendor_id=VENDOR,
                performance_year=2022,
                evidence="test agreement (given back)",
            )
        database.engine_for(url).dispose()
    return []


def ask_what_if_with_a_scaling_factor_too_big(page: Any, live: Live) -> list[str]:
    _as(page, live, "maria.garcia", MIAMI + "/reporting/what-if")
    page.evaluate("window.__stillHere = true")
    page.get_by_label("Scaling factor").fill("9")
    _press(page, "Show the estimate")
    page.locator("#error-summary").wait_for()
    assert page.evaluate("window.__stillHere") is True  # htmx swapped it in, no page load
    return ["scaling_factor"]


SCENARIOS: dict[str, Scenario] = {
    "access/signin.html POST /signin": sign_in_without_anything,
    "access/request_role.html POST /account/roles": request_a_role_without_an_identifier,
    "access/_decide.html POST /access/role-requests/{{ g.id }}/decision": (
        approve_a_role_until_a_past_day
    ),
    "access/tokens.html POST {{ org.path }}/tokens": create_a_token_without_a_name,
    "access/clients.html POST {{ org.path }}/clients": authorise_an_unknown_registry,
    "eligibility/lookup.html GET /participation-lookup": look_up_a_mistyped_npi,
    "elections/confirm.html POST {{ page.post_path }}": confirm_an_election_with_a_typo,
    "elections/_election_facts.html POST {{ page.entity_path }}/public-reporting-opt-out": (
        opt_out_of_public_reporting_twice
    ),
    "submissions/overview_upload_form.html POST {{ page.upload_path }}": upload_no_file,
    "submissions/attest_pi.html POST {{ page.post_path }}": (
        save_pi_without_the_0_percent_confirmation
    ),
    "submissions/attest_ia.html POST {{ page.post_path }}": save_ia_without_a_start_date,
    "submissions/registry_confirm.html POST {{ page.confirm_path }}": (
        confirm_registry_selections_with_a_typo
    ),
    "submissions/registry_upload_new.html POST {{ page.post_path }}": upload_no_registry_file,
    "submissions/registry_upload.html GET {{ page.confirm_path }}": (
        submit_elections_without_a_choice
    ),
    "submissions/registry_upload.html POST {{ page.confirm_path }}": (
        submit_data_after_the_practice_revoked_the_registry
    ),
    "scoring/_what_if_body.html GET {{ page.path }}": ask_what_if_with_a_scaling_factor_too_big,
}


def test_every_form_that_can_be_refused_has_an_error_state_scenario() -> None:
    keys = {form.key for form in summary_forms()}
    assert len(keys) > 10
    missing = sorted(keys - set(SCENARIOS))
    assert not missing, "forms without an error-state scenario here:\n" + "\n".join(missing)
    assert not set(SCENARIOS) - keys, "scenarios for forms that show no summary"


def _summary_links(page: Any) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = page.eval_on_selector_all(
        "#error-summary a[href^='#']",
        "links => links.map(a => [a.getAttribute('href').slice(1), a.textContent.trim()])",
    )
    return links


@pytest.mark.parametrize(
    "key", [pytest.param(f.key, id=f.key) for f in summary_forms() if f.key in SCENARIOS]
)
def test_a_refused_form_shows_the_error_summary_linked_to_its_fields(
    key: str, page: Any, live: Live
) -> None:
    from playwright.sync_api import expect

    expected = SCENARIOS[key](page, live)
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert summary.get_attribute("role") == "alert"
    assert summary.get_attribute("tabindex") == "-1"
    heading = page.locator("#" + (summary.get_attribute("aria-labelledby") or "missing"))
    assert heading.inner_text().strip(), "the summary has a heading"
    assert summary.locator("li").count() >= 1
    expect(summary).to_be_focused()  # polled by Playwright: a string predicate meets the CSP
    expect(page).to_have_title(re.compile("^Error: "))

    links = _summary_links(page)
    targets = [target for target, _ in links]
    assert set(expected) <= set(targets), f"summary links {targets}, expected {expected}"
    for target, text in links[:4]:
        element = page.locator(f"[id='{target}']")
        assert element.count() == 1, f"the summary links to #{target}, which is not there"
        summary.locator(f"a[href='#{target}']").focus()
        page.keyboard.press("Enter")
        expect(element).to_be_focused()
        if element.evaluate("e => ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName)"):
            assert element.get_attribute("aria-invalid") == "true", target
            described = (element.get_attribute("aria-describedby") or "").split()
            assert f"{target}-error" in described, f"#{target} is not described by its error"
            inline = page.locator(f"[id='{target}-error']")
            assert "ds-c-inline-error" in (inline.get_attribute("class") or "")
            assert inline.evaluate("e => e.closest('label') === null"), "error inside a label"
            assert inline.inner_text().strip() == text, "the inline error and the summary differ"
    assert_accessible(page)
