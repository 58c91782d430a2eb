"""Cross-site request forgery over every state-changing route, generated from the app's routes:
every POST/PUT/PATCH/DELETE page is sent, by a signed-in caller the permission matrix allows,
a valid form without the CSRF token (from another origin, as a forged form would come), with a
made-up token, with another browser's token and with the token this browser had before it
signed in; each is refused with ``403 OQ-CSRF-001`` and stores nothing, and the caller stays
signed in; the same form with the right token gets past the check. The app does not look at
Origin or Referer: a same-origin header without the token is refused as well.

Every state-changing API route refuses a cookie-authenticated write without ``X-CSRF-Token``
(or with a wrong one) the same way, and takes an API token (``Authorization: Bearer``) with no
CSRF token at all."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from tests.support.security_http import UNSAFE, Exchange, Matrix, route_keys
from tests.support.security_routes import RULES, Outcome, Place, Rule
from tests.support.security_world import Caller, security_settings

from openqpp.web import create_app

SERVED = route_keys(create_app(security_settings("sqlite://")))
UNSAFE_PAGES = [k for k in SERVED if k.split(" ")[0] in UNSAFE and " /api/" not in k]
UNSAFE_APIS = [k for k in SERVED if k.split(" ")[0] in UNSAFE and " /api/" in k]
ATTACKER = "https://attacker.example"


@pytest.fixture
def matrix(security_matrix: Matrix) -> Matrix:
    return security_matrix


def _allowed_user(matrix: Matrix, key: str, rule: Rule) -> Caller:
    """The first signed-in caller the matrix lets do it (for public routes: the practice's
    Security Official), so that only the missing token can stop the request."""
    for caller in matrix.callers:
        if caller.kind != "user":
            continue
        (own,) = [p for p in rule.scope(caller, matrix.made) if p.variant == "own"]
        if matrix.expected(rule, caller, own) is Outcome.ALLOW:
            return caller
    raise AssertionError(f"{key}: no signed-in caller may do it, so CSRF cannot be told apart")


def _refused_for_csrf(exchange: Exchange) -> list[str]:
    response = exchange.response
    problems = []
    if response.status_code != 403 or "OQ-CSRF-001" not in response.text:
        problems.append(f"not refused with 403 OQ-CSRF-001: {response.status_code}")
    if exchange.counts_changed:
        problems.append("stored something")
    return problems


def _own(matrix: Matrix, rule: Rule, caller: Caller) -> Place:
    return next(p for p in rule.scope(caller, matrix.made) if p.variant == "own")


@pytest.mark.parametrize("key", UNSAFE_PAGES)
def test_a_page_form_without_its_csrf_token_is_refused_and_stores_nothing(
    key: str, matrix: Matrix
) -> None:
    rule = RULES[key]
    caller = _allowed_user(matrix, key, rule)
    place = _own(matrix, rule, caller)
    other = matrix.agents[next(c.name for c in matrix.callers if c.kind == "user" and c != caller)]
    agent = matrix.agents[caller.name]
    assert agent.csrf_before_sign_in is not None
    cross_site = {"Origin": ATTACKER, "Referer": ATTACKER + "/forged.html"}

    def send(**how: Any) -> Exchange:
        return matrix.send(key, rule, caller, place, count_rows=True, **how)

    attempts = {
        "no token, from another site": send(send_csrf=False, headers=cross_site),
        "no token, same origin": send(send_csrf=False, headers={"Origin": "http://testserver"}),
        "a made-up token": send(csrf=secrets.token_urlsafe(32)),
        "another browser's token": send(csrf=other.csrf),
        "this browser's token from before sign-in": send(csrf=agent.csrf_before_sign_in),
    }
    problems = [f"{what}: {p}" for what, e in attempts.items() for p in _refused_for_csrf(e)]
    if not rule.ends_session:
        still = agent.client.get("/api/access/me")
        if still.status_code != 200:
            problems.append("a refused form signed the caller out")
    control = matrix.send(key, rule, caller, place)
    if control.response.status_code == 403 and "OQ-CSRF-001" in control.response.text:
        problems.append("the right token is refused too, so the check proves nothing")
    assert not problems, f"{key} as {caller.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("key", UNSAFE_APIS)
def test_a_cookie_authenticated_api_write_needs_the_csrf_header_and_a_token_does_not(
    key: str, matrix: Matrix
) -> None:
    rule = RULES[key]
    problems = []
    if rule.who != "public":
        caller = _allowed_user(matrix, key, rule)
        place = _own(matrix, rule, caller)
        attempts: dict[str, dict[str, Any]] = {
            "no X-CSRF-Token": {"send_csrf": False, "headers": {"Origin": ATTACKER}},
            "a made-up X-CSRF-Token": {"csrf": secrets.token_urlsafe(32)},
        }
        for what, how in attempts.items():
            exchange = matrix.send(key, rule, caller, place, count_rows=True, **how)
            problems += [f"{caller.name}, {what}: {p}" for p in _refused_for_csrf(exchange)]
            if exchange.response.headers.get("content-type", "") != "application/json":
                problems.append(f"{caller.name}, {what}: the refusal is not JSON")
    for caller in matrix.callers:
        if caller.kind != "token":
            continue
        for place in rule.scope(caller, matrix.made)[:1]:
            exchange = matrix.send(key, rule, caller, place, send_csrf=False)
            if "OQ-CSRF-001" in exchange.response.text:
                problems.append(f"{caller.name}: a Bearer token was asked for a CSRF token")
    assert not problems, f"{key}:\n" + "\n".join(problems)
