"""The elections world with something on every page, for the accessibility walks
(tests/e2e/browser/test_every_page_accessible.py, test_form_error_summaries.py): elections made
(Greenville Podiatry's group opted in for 2019, Alex Green reporting voluntarily for 2022 through
a registry upload, Debara Jones reporting voluntarily for 2019 inside an open 2019 public
reporting preview period), a confirmed and a pending registry upload, Miami Medical's 2022
improvement activities, an API token, a pending role request and a user with no role; and
signing a browser context in without drawing the sign-in page.

The server's clock is pinned inside the 2022 election window (``CLOCK``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import OrganisationType
from openqpp.core.elections import ElectionKind
from openqpp.services import access, audit, database
from openqpp.services.elections import records
from openqpp.services.elections.public_reporting import set_preview_period
from openqpp.services.submissions import uploads
from tests.support.elections_world import DEBARA, GREEN, NOW_2019, NOW_2022, PASSWORD, RIVERA, World
from tests.support.registry_uploads import qpp_json
from tests.support.scoring_world import accept, document, ia_set

CLOCK = "2023-03-19T20:00:00-04:00"
"""NOW_2022: inside the 2022 election window, and inside the 2019 preview period set here."""
CONTEXT = audit.RequestContext(request_id="req-a11y", client_address="127.0.0.1")
VENDOR = "AAN-QCDR"
NEW_USER = "nora.new"
"""Has no role anywhere; asked to be a Staff User at Miami Medical (pending)."""
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` made that pages are addressed by."""

    confirmed_upload: str
    pending_upload: str
    role_request: int


def prepare(url: str) -> Prepared:
    """Fill a fresh copy of the elections world (see the module docstring)."""
    world = World(url, "sqlite")
    with world.factory.begin() as session:
        records.confirm(
            session,
            principal=world.principal("lee.wong"),
            year=2019,
            level="group",
            tin=GREENVILLE_PODIATRY,
            kind="opt_in",
            typed="confirm",
            now=NOW_2019,
            context=CONTEXT,
        )
        records.confirm(
            session,
            principal=world.principal("maria.garcia"),
            year=2019,
            level="individual",
            tin=MIAMI_MEDICAL,
            npi=DEBARA,
            kind="voluntary",
            typed="confirm",
            now=NOW_2019,
            context=CONTEXT,
        )
        set_preview_period(
            session,
            year=2019,
            opens_at=dt.datetime(2023, 3, 1, tzinfo=dt.UTC),
            closes_at=dt.datetime(2023, 5, 1, tzinfo=dt.UTC),
            source="accessibility tests",
        )
    with world.factory.begin() as session:
        staged = uploads.stage_upload(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            files=[
                ("green.json", qpp_json(GREENVILLE_PODIATRY, npi=GREEN, year=2022)),
                ("rivera.json", qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=2022)),
            ],
            now=NOW_2022,
            context=CONTEXT,
            year=2022,
        )
    with world.factory.begin() as session:
        uploads.confirm_upload(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            upload_id=staged.id,
            decisions={f"{GREENVILLE_PODIATRY}/{GREEN}": ElectionKind.VOLUNTARY},
            typed="CONFIRM",
            now=NOW_2022,
            context=CONTEXT,
        )
    with world.factory.begin() as session:
        pending = uploads.stage_upload(
            session,
            principal=world.principal("alex.chen"),
            vendor_id=VENDOR,
            files=[("debara.json", qpp_json(MIAMI_MEDICAL, npi=DEBARA, year=2022))],
            now=NOW_2022,
            context=CONTEXT,
            year=2022,
        )
    accept(
        world,
        "maria.garcia",
        document(MIAMI_MEDICAL, ia_set("IA_EPA_1", "IA_BE_4", year=2022), year=2022),
        now=NOW_2022,
    )
    with world.factory.begin() as session:
        access.create_token(
            session,
            principal=world.principal("maria.garcia"),
            organisation_type=OrganisationType.PRACTICE,
            identifier=MIAMI_MEDICAL,
            label="EHR nightly upload",
            context=CONTEXT,
        )
        access.create_user(
            session,
            user_id=NEW_USER,
            name="Nora New",
            email=f"{NEW_USER}@example.org",
            password=PASSWORD,
        )
    with world.factory.begin() as session:
        grant = access.request_role(
            session,
            principal=world.principal(NEW_USER),
            organisation_type="practice",
            identifier=MIAMI_MEDICAL,
            role="staff_user",
            reason="New billing lead",
            context=CONTEXT,
        )
    database.engine_for(url).dispose()
    return Prepared(confirmed_upload=staged.id, pending_upload=pending.id, role_request=grant.id)


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in_context(context: Any, base_url: str, user_id: str) -> None:
    """Sign a Playwright browser context in through /signin with its own request client (it
    shares the context's cookies), without drawing the page."""
    form = context.request.get(base_url + "/signin")
    response = context.request.post(
        base_url + "/signin",
        form={
            "user_id": user_id,
            "password": PASSWORD,
            "statement_of_truth": "yes",
            "csrf_token": csrf_from(form.text()),
            "next": "/account",
        },
        max_redirects=0,
    )
    assert response.status == 303, response.text()[:2000]
