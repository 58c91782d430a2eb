"""The preliminary score pages over HTTP: a group and a clinician, who may see them (the
Clinician role is refused, a registry sees its own data's score and is told so), unknown
categories, sign-in, and the what-if page's htmx partial (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.support.access_http import sign_in
from tests.support.elections_world import NOW_2019, PASSWORD, RIVERA, World
from tests.support.scoring_world import accept, document, example_as_2019, ia_set, pi_set_2019

from openqpp.batch.demo import MIAMI_MEDICAL
from openqpp.services import scoring_overview
from openqpp.settings import Settings
from openqpp.web import create_app

CLOCK_2019 = "2020-02-03T10:00:00-05:00"
GROUP = f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/reporting"
CLINICIAN = f"/eligibility-reporting/2019/practices/{MIAMI_MEDICAL}/clinicians/{RIVERA}/reporting"


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=world.url, log_level="warning", clock=CLOCK_2019))
    with TestClient(app) as made:
        yield made


def test_group_and_clinician_pages_show_the_score_and_its_explanations(
    world: World, client: TestClient
) -> None:
    accept(world, "maria.garcia", example_as_2019(MIAMI_MEDICAL))
    accept(world, "jordan.rivera", document(MIAMI_MEDICAL, pi_set_2019()))
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, ia_set("IA_EPA_1"), npi=RIVERA))
    sign_in(client, "maria.garcia", PASSWORD)
    summary = client.get(GROUP + "/score")
    assert summary.status_code == 200
    assert "Preliminary final score" in summary.text
    assert f"{GROUP}/score/quality" in summary.text
    assert "Cost is left out of this preliminary score" in summary.text  # submission period
    for category, expected in (
        ("quality", "Measures that count toward your Quality score"),
        ("pi", "((3/4)*10) = 8"),
        ("ia", "IA_AHE_1"),
        ("cost", "Cost results are not shown to you"),
    ):
        page = client.get(f"{GROUP}/score/{category}")
        assert page.status_code == 200, category
        assert expected in page.text, category
    clinician = client.get(CLINICIAN + "/score/ia")
    assert clinician.status_code == 200
    assert "IA_EPA_1" in clinician.text
    assert f"NPI {RIVERA}" in clinician.text
    what_if = client.get(CLINICIAN + "/what-if")
    assert what_if.status_code == 200
    assert "<html" in what_if.text


def test_the_what_if_partial_is_only_the_result(world: World, client: TestClient) -> None:
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, ia_set("IA_EPA_1")))
    sign_in(client, "maria.garcia", PASSWORD)
    partial = client.get(GROUP + "/what-if?activity=IA_BE_4", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert "With your changes" in partial.text
    bad = client.get(GROUP + "/what-if?scaling_factor=abc", headers={"HX-Request": "true"})
    assert 'id="error-summary"' in bad.text
    assert 'href="#scaling_factor"' in bad.text


def test_who_may_see_the_pages(world: World, client: TestClient) -> None:
    accept(world, "maria.garcia", document(MIAMI_MEDICAL, ia_set("IA_EPA_1")))
    accept(world, "jordan.rivera", document(MIAMI_MEDICAL, pi_set_2019()))
    signed_out = client.get(GROUP + "/score", follow_redirects=False)
    assert signed_out.status_code in (302, 303)
    assert "/signin" in signed_out.headers["location"]
    sign_in(client, "debara.jones", PASSWORD)
    refused = client.get(GROUP + "/score")
    assert refused.status_code == 403
    assert "Clinician role sees final performance feedback" in refused.text
    client.cookies.clear()
    sign_in(client, "jordan.rivera", PASSWORD)
    registry = client.get(GROUP + "/score")
    assert registry.status_code == 200
    assert "only the data your organisation submitted" in registry.text
    assert client.get(GROUP + "/score/nonsense").status_code == 404


def test_the_overview_block_renders_each_state(world: World, client: TestClient) -> None:
    """``scoring/_overview_score.html`` with ``overview_score``'s three states (for the
    Reporting Overview's preliminary score block)."""

    accept(world, "maria.garcia", document(MIAMI_MEDICAL, ia_set("IA_EPA_1")))
    template = client.app.state.templates.get_template("scoring/_overview_score.html")  # type: ignore[attr-defined]
    with world.factory() as session:
        scored, refused, empty = (
            scoring_overview.overview_score(
                session,
                principal=world.principal(user),
                year=2019,
                tin=MIAMI_MEDICAL,
                npi=npi,
                now=NOW_2019,
            )
            for user, npi in (
                ("maria.garcia", None),
                ("debara.jones", None),
                ("maria.garcia", RIVERA),
            )
        )
    html = template.render(score=scored)
    assert "Preliminary Total Score" in html
    assert f"{GROUP}/score/ia" in html
    assert "15%" in html
    assert "Clinician role" in template.render(score=refused)
    assert "will appear here once data is submitted" in template.render(score=empty)
