"""TINs are masked unless the caller may see that practice, for every endpoint that shows
TINs of practices the caller did not name and every kind of caller: the Eligibility API's NPI
lookups (a TIN in full exactly when the permission matrix lets the caller view that practice's
eligibility, its virtual group ids likewise), the public Participation Status page (always
masked), the roster (only the TINs sent come back), the opt-in read (refused entities masked),
and the CSV downloads (clinicians of a practice, a registry's submission details: only TINs the
caller may see). Every other answer of every route is scanned the same way by the route
matrix (tests/security/test_route_matrix.py)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from httpx import Response
from tests.support.elections_world import DEBARA, GREEN, LAKESIDE_NPI, MORGAN, RIVERA
from tests.support.security_http import TIN_PATTERNS, Matrix
from tests.support.security_oracle import Target
from tests.support.security_world import (
    MEMBER_OF,
    OTHER,
    PRACTICE,
    REGISTRY,
    Caller,
)

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import Action

PRACTICES = {
    "Miami Medical": MIAMI_MEDICAL,
    "Greenville Podiatry": GREENVILLE_PODIATRY,
    "Lakeside Clinic": OTHER[PRACTICE],
}
NPIS = (DEBARA, RIVERA, MORGAN, GREEN, LAKESIDE_NPI)
V6_MASK = "XXXXXXXXXX"
VIRTUAL_GROUP_IDS = ("VG-2019-001",)


@pytest.fixture
def matrix(security_matrix: Matrix) -> Matrix:
    return security_matrix


def _get(
    matrix: Matrix,
    caller: Caller,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Response:
    agent = matrix.agents[caller.name]
    sending = dict(headers or {})
    if agent.bearer:
        sending["Authorization"] = f"Bearer {agent.bearer}"
    return agent.client.get(path, headers=sending, **kwargs)


def _full_tins(text: str) -> set[str]:
    return {tin for tin, pattern in TIN_PATTERNS.items() if pattern.search(text)}


def _may_view(matrix: Matrix, caller: Caller, tin: str) -> bool:
    """The v6 rule: the caller may view the practice's eligibility (any year)."""
    return matrix.oracle.may(caller, Action.VIEW_ELIGIBILITY, Target(PRACTICE, tin))


def _organisations_problems(matrix: Matrix, caller: Caller, data: dict[str, object]) -> list[str]:
    problems = []
    for org in data["organizations"]:  # type: ignore[attr-defined]
        tin = PRACTICES[org["prvdrOrgName"]]
        shown = org["TIN"]
        if _may_view(matrix, caller, tin):
            if shown != tin:
                problems.append(f"{org['prvdrOrgName']}: masked for a caller who may see it")
        elif shown != V6_MASK:
            problems.append(f"{org['prvdrOrgName']}: TIN {shown} shown to a caller who may not")
        for group in org["virtualGroups"]:
            if not _may_view(matrix, caller, tin) and any(
                vg in str(group) for vg in VIRTUAL_GROUP_IDS
            ):
                problems.append(f"{org['prvdrOrgName']}: virtual group id shown with a masked TIN")
    return problems


@pytest.mark.parametrize("year", [2019, 2022])
def test_the_eligibility_api_shows_a_tin_only_to_callers_who_may_view_that_practice(
    year: int, matrix: Matrix
) -> None:
    problems = []
    for caller in matrix.callers:
        single = [_get(matrix, caller, f"/api/eligibility/npi/{npi}", params={"year": year})
                  for npi in NPIS]  # fmt: skip
        batch = _get(
            matrix, caller, f"/api/eligibility/npis/{','.join(NPIS)}", params={"year": year}
        )
        if caller.kind == "dead_token":
            assert {r.status_code for r in [*single, batch]} == {401}, caller.name
            continue
        datas = [r.json()["data"] for r in single if r.status_code == 200] + batch.json()["data"]
        assert len(datas) >= 2 * len(NPIS) - 2, (caller.name, [r.status_code for r in single])
        for data in datas:
            problems += [
                f"{caller.name}: {p}" for p in _organisations_problems(matrix, caller, data)
            ]
    assert not problems, "\n".join(problems)


def test_the_public_participation_lookup_never_shows_a_tin_in_full(matrix: Matrix) -> None:
    problems = []
    for caller in matrix.callers:
        for npi in NPIS:
            page = _get(
                matrix, caller, "/participation-lookup", params={"npi": npi, "year": "2022"}
            )
            assert page.status_code in (200, 404), (caller.name, npi, page.status_code)
            if shown := _full_tins(page.text):
                problems.append(f"{caller.name}, NPI {npi}: TIN(s) {sorted(shown)} in full")
            if page.status_code == 200 and not re.search(r"\*{5}\d{4}", page.text):
                problems.append(f"{caller.name}, NPI {npi}: no masked TIN on the page")
    assert not problems, "\n".join(problems)


def test_the_roster_answers_only_with_the_tins_it_was_sent(matrix: Matrix) -> None:
    anonymous = matrix.agents["anonymous"].client
    for tin in PRACTICES.values():
        rows = f"tin,npi\n{tin},\n{tin},{GREEN}\n{tin},{LAKESIDE_NPI}\n"
        for fmt in ("json", "csv"):
            answer = anonymous.post(
                "/api/eligibility/roster",
                params={"year": "2022", "format": fmt},
                content=rows.encode(),
                headers={"Content-Type": "text/csv"},
            )
            assert answer.status_code == 200
            assert _full_tins(answer.text) == {tin}, (tin, fmt)
            assert not any(vg in answer.text for vg in VIRTUAL_GROUP_IDS), (tin, fmt)


def test_the_opt_in_read_masks_the_practices_it_refuses(matrix: Matrix) -> None:
    problems = []
    entities = f"{MIAMI_MEDICAL}|{DEBARA},{GREENVILLE_PODIATRY}|{GREEN},{OTHER[PRACTICE]}"
    for caller in matrix.callers:
        if not caller.authenticated:
            continue
        answer = _get(
            matrix, caller, "/api/eligibility/opt-in", params={"year": "2022"},
            headers={"Qpp-Opt-In-Entities": entities},
        )  # fmt: skip
        if answer.status_code == 200:
            shown = {item["tin"] for item in answer.json()["data"]}
            hidden = [t for t in shown if not matrix.oracle.sees_tin(caller, t)]
            problems += [f"{caller.name}: {t} in full" for t in hidden]
            continue
        assert answer.status_code == 403, (caller.name, answer.text)
        for detail in answer.json()["error"]["details"]:
            if re.fullmatch(r"\d{9}", detail["tin"]):
                problems.append(f"{caller.name}: refused {detail['path']} with its TIN in full")
    assert not problems, "\n".join(problems)


def test_csv_downloads_show_only_the_tins_the_caller_may_see(matrix: Matrix) -> None:
    downloads = (
        f"/eligibility-reporting/2022/practices/{MIAMI_MEDICAL}/clinicians.csv",
        f"/organisations/registry/{MEMBER_OF[REGISTRY]}/submission-details.csv",
        f"/organisations/registry/{OTHER[REGISTRY]}/submission-details.csv",
    )
    problems = []
    seen = 0
    for caller in matrix.callers:
        for path in downloads:
            answer = _get(matrix, caller, path, follow_redirects=False)
            if answer.status_code != 200:
                continue
            assert answer.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(answer.text)))
            seen += len(rows)
            for tin in _full_tins(answer.text):
                if not matrix.oracle.sees_tin(caller, tin):
                    problems.append(f"{caller.name}: {path} shows {tin}")
    assert seen > 4, "the downloads were answered with rows"
    assert not problems, "\n".join(problems)
