"""Every HTML page of the app passes the axe check (WCAG 2.0/2.1 A and AA, as
tests/support/live.py configures it) in headless Chromium, without a Content-Security-Policy
refusal, with one level-1 heading, the skip link to the main content, and a visible focus
indicator on every control (tests/support/keyboard.py).

The pages are read from the app's routes (tests/support/page_routes.py), so a new page without
a visit here fails `test_every_html_page_has_an_accessibility_visit`. ``VISITS`` says how to
reach each page: its path parameters filled from the accessibility world
(tests/support/accessibility_world.py), the user signed in who may see it, and the states worth
seeing (with data, empty, with a validation error shown). Forms refused on submit are walked in
test_form_error_summaries.py; keyboard-only flows in test_keyboard_flows.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.accessibility_world import CLOCK, NEW_USER, Prepared, prepare, sign_in_context
from tests.support.elections_world import DEBARA, GREEN, RIVERA, Templates
from tests.support.keyboard import assert_focus_indicators
from tests.support.live import (
    ARTIFACTS,
    LiveServer,
    assert_accessible,
    csp_violations,
    start_server,
    stop_server,
)
from tests.support.page_routes import page_routes

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL

pytestmark = pytest.mark.browser

MIAMI = f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}"
GREENVILLE = f"/eligibility-reporting/2022/practices/{GREENVILLE_PODIATRY}"
GREENVILLE_2019 = f"/eligibility-reporting/2019/practices/{GREENVILLE_PODIATRY}"
REGISTRY = "/organisations/registry/AAN-QCDR"
PENDING = REGISTRY + "/uploads/{pending}"
CONFIRMED = REGISTRY + "/uploads/{confirmed}"
PRACTICE_ORG = f"/organisations/practice/{MIAMI_MEDICAL}"
DEBARA_CHOICE = f"choice-{MIAMI_MEDICAL}-{DEBARA}"


def _swap_in_the_counts(page: Any) -> None:
    """Choosing a participant's election makes htmx fetch .../counts and swap it in."""
    page.locator(f"#{DEBARA_CHOICE}-opt_in").focus()
    with page.expect_response(lambda r: "/counts?" in r.url):
        page.keyboard.press("Space")
    page.locator('#election-counts [data-count="opt_in"]').filter(has_text="1").wait_for()


@dataclass(frozen=True)
class Visit:
    state: str
    user: str | None
    path: str
    """The address; ``{pending}`` and ``{confirmed}`` are the registry uploads prepared."""
    status: int = 200
    then: Callable[[Any], None] | None = None


MARIA, LEE, ALEX = "maria.garcia", "lee.wong", "alex.chen"

VISITS: dict[str, tuple[Visit, ...]] = {
    "/": (Visit("organisations listed", None, "/"),),
    "/signin": (
        Visit("empty form", None, "/signin?next=/account"),
        Visit("already signed in", MARIA, "/signin"),
    ),
    "/account": (
        Visit("role requests to decide", MARIA, "/account"),
        Visit("no role yet, one requested", NEW_USER, "/account?requested=1"),
    ),
    "/account/roles/new": (Visit("empty form", NEW_USER, "/account/roles/new"),),
    "/docs/permissions": (Visit("the matrix", None, "/docs/permissions"),),
    "/participation-lookup": (
        Visit("empty form", None, "/participation-lookup"),
        Visit("a clinician's statuses", None, f"/participation-lookup?npi={GREEN}&year=2022"),
        Visit("validation error", None, "/participation-lookup?npi=1234567890", status=400),
        Visit("no results", None, "/participation-lookup?npi=9999999995", status=404),
    ),
    "/eligibility-reporting": (
        Visit("practices", MARIA, "/eligibility-reporting"),
        Visit("no practice", ALEX, "/eligibility-reporting"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}": (
        Visit("connected clinicians", MARIA, MIAMI),
        Visit("no clinician matches", MARIA, MIAMI + "?q=nobody&status=all"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/group-options": (
        Visit("opt-in eligible group", LEE, GREENVILLE + "/group-options"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/group-options/confirm": (
        Visit("type CONFIRM", LEE, GREENVILLE + "/group-options/confirm?decision=opt_in"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/confirmed": (
        Visit("group opted in", LEE, GREENVILLE_2019 + "/confirmed"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/individual-options": (
        Visit(
            "opt-in eligible clinician", MARIA, f"{MIAMI}/clinicians/{DEBARA}/individual-options"
        ),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/individual-options/confirm": (
        Visit(
            "type CONFIRM",
            MARIA,
            f"{MIAMI}/clinicians/{DEBARA}/individual-options/confirm?decision=voluntary",
        ),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/confirmed": (
        Visit("reporting voluntarily", LEE, f"{GREENVILLE}/clinicians/{GREEN}/confirmed"),
        Visit(
            "public reporting opt-out open",
            MARIA,
            f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/clinicians/{DEBARA}/confirmed",
        ),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/reporting": (
        Visit("data and receipts", MARIA, MIAMI + "/reporting"),
        Visit("election needed, no data", LEE, GREENVILLE + "/reporting"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/reporting": (
        Visit("a registry's data", MARIA, f"{MIAMI}/clinicians/{RIVERA}/reporting"),
        Visit("election needed", MARIA, f"{MIAMI}/clinicians/{DEBARA}/reporting"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/reporting/pi": (
        Visit("reweighted to 0%", MARIA, MIAMI + "/reporting/pi"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/reporting/pi": (
        Visit("empty form", MARIA, f"{MIAMI}/clinicians/{RIVERA}/reporting/pi"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/reporting/ia": (
        Visit("activities completed", MARIA, MIAMI + "/reporting/ia"),
        Visit("no activity matches", MARIA, MIAMI + "/reporting/ia?q=nothing-like-this"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/reporting/ia": (
        Visit("a registry's activity", MARIA, f"{MIAMI}/clinicians/{RIVERA}/reporting/ia"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/reporting/score": (
        Visit("preliminary score", MARIA, MIAMI + "/reporting/score"),
        Visit("no data to score", LEE, GREENVILLE + "/reporting/score"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/reporting/score/{category}": tuple(
        Visit(f"{category} category", MARIA, f"{MIAMI}/reporting/score/{category}")
        for category in ("quality", "pi", "ia", "cost")
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/reporting/score": (
        Visit("preliminary score", MARIA, f"{MIAMI}/clinicians/{RIVERA}/reporting/score"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/reporting/score/{category}": (
        Visit("ia category", MARIA, f"{MIAMI}/clinicians/{RIVERA}/reporting/score/ia"),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/reporting/what-if": (
        Visit("empty form", MARIA, MIAMI + "/reporting/what-if"),
        Visit("validation error", MARIA, MIAMI + "/reporting/what-if?scaling_factor=9"),
        Visit(
            "opt in or report voluntarily", LEE, GREENVILLE + "/reporting/what-if?activity=IA_EPA_1"
        ),
    ),
    "/eligibility-reporting/{year}/practices/{tin}/clinicians/{npi}/reporting/what-if": (
        Visit("empty form", MARIA, f"{MIAMI}/clinicians/{RIVERA}/reporting/what-if"),
    ),
    "/organisations/{kind}/{identifier}": (
        Visit("users and a request to decide", MARIA, PRACTICE_ORG),
        Visit("registry", ALEX, REGISTRY),
    ),
    "/organisations/{kind}/{identifier}/tokens": (
        Visit("one token", MARIA, PRACTICE_ORG + "/tokens"),
        Visit("no token", LEE, f"/organisations/practice/{GREENVILLE_PODIATRY}/tokens"),
    ),
    "/organisations/{kind}/{identifier}/clients": (
        Visit("intermediaries", MARIA, PRACTICE_ORG + "/clients"),
        Visit("clients", ALEX, REGISTRY + "/clients"),
    ),
    "/organisations/{kind}/{identifier}/audit": (
        Visit("audit records", MARIA, PRACTICE_ORG + "/audit"),
    ),
    "/organisations/{kind}/{identifier}/notifications": (
        Visit(
            "a registry's election",
            LEE,
            f"/organisations/practice/{GREENVILLE_PODIATRY}/notifications",
        ),
        Visit("none", MARIA, PRACTICE_ORG + "/notifications"),
    ),
    "/organisations/registry/{vendor_id}/submission-details": (
        Visit("submitted data", ALEX, REGISTRY + "/submission-details"),
        Visit("nothing uploaded", ALEX, REGISTRY + "/submission-details?year=2019"),
    ),
    "/organisations/registry/{vendor_id}/submission-details/receipt": (
        Visit("receipt", ALEX, REGISTRY + "/submission-details/receipt?year=2022"),
    ),
    "/organisations/registry/{vendor_id}/uploads": (
        Visit("empty form", ALEX, REGISTRY + "/uploads?year=2022"),
    ),
    "/organisations/registry/{vendor_id}/uploads/{upload_id}": (
        Visit("participants to decide", ALEX, PENDING),
        Visit("confirmed upload", ALEX, CONFIRMED),
    ),
    "/organisations/registry/{vendor_id}/uploads/{upload_id}/counts": (
        Visit("swapped in by htmx", ALEX, PENDING, then=_swap_in_the_counts),
    ),
    "/organisations/registry/{vendor_id}/uploads/{upload_id}/confirm": (
        Visit("type CONFIRM", ALEX, PENDING + f"/confirm?{DEBARA_CHOICE}=opt_in"),
        Visit("validation error: no choice", ALEX, PENDING + "/confirm", status=422),
    ),
    "/organisations/registry/{vendor_id}/uploads/{upload_id}/confirmed": (
        Visit("selections confirmed", ALEX, CONFIRMED + "/confirmed"),
    ),
}
NOT_ROUTES = (Visit("page not found", None, "/no-such-page", status=404),)
"""Pages no route declares: the error page."""


def test_every_html_page_has_an_accessibility_visit() -> None:
    pages, _ = page_routes()
    assert len(pages) > 30  # the walk found the included routers
    missing = [path for path in pages if path not in VISITS]
    assert not missing, "\n".join(f"page {path} has no accessibility visit" for path in missing)
    stale = [path for path in VISITS if path not in pages]
    assert not stale, "\n".join(
        f"visit for {path}, which the app no longer serves" for path in stale
    )


@pytest.fixture(scope="module")
def world(
    world_templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Prepared]]:
    tmp = tmp_path_factory.mktemp("every-page")
    for url in world_templates.clone("sqlite", tmp):
        prepared = prepare(url)
        live = start_server(tmp, database_url=url, demo=False, extra_env={"OPENQPP_CLOCK": CLOCK})
        try:
            yield live, prepared
        finally:
            stop_server(live)


@pytest.fixture(scope="module")
def contexts(browser: Any, world: tuple[LiveServer, Prepared]) -> Iterator[dict[str | None, Any]]:
    """One browser context per user, signed in once (None: nobody signed in)."""
    server, _ = world
    made: dict[str | None, Any] = {}

    class Contexts(dict[str | None, Any]):
        def __missing__(self, user: str | None) -> Any:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            if user is not None:
                sign_in_context(context, server.url, user)
            self[user] = made[user] = context
            return context

    yield Contexts()
    for context in made.values():
        context.close()


def _cases() -> list[Any]:
    return [
        pytest.param(visit, id=f"{route} [{visit.state}]")
        for route, visits in VISITS.items()
        for visit in visits
    ] + [pytest.param(visit, id=f"(no route) [{visit.state}]") for visit in NOT_ROUTES]


def _shot(page: Any, visit: Visit) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() else "_" for c in f"{visit.path}-{visit.state}")[:150]
    path = ARTIFACTS / f"every-page-{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize("visit", _cases())
def test_the_page_passes_axe_without_a_csp_refusal(
    visit: Visit, world: tuple[LiveServer, Prepared], contexts: dict[str | None, Any]
) -> None:
    server, prepared = world
    page = contexts[visit.user].new_page()
    refused = csp_violations(page)
    try:
        path = visit.path.format(
            pending=prepared.pending_upload, confirmed=prepared.confirmed_upload
        )
        response = page.goto(server.url + path)
        assert response is not None
        assert response.status == visit.status, f"{path}: {response.status}"
        assert "/signin" not in page.url or path.startswith("/signin"), "sent to sign in"
        if visit.then is not None:
            visit.then(page)
        assert page.locator("h1").count() == 1, "one level-1 heading"
        skip = page.locator("a.ds-c-skip-nav")
        assert skip.get_attribute("href") == "#main"
        assert page.locator("#main").count() == 1
        assert_accessible(page)
        assert_focus_indicators(page)
        assert not refused, "the Content-Security-Policy refused:\n" + "\n".join(refused)
    except AssertionError:
        _shot(page, visit)
        raise
    finally:
        page.close()
