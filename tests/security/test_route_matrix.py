"""Authorisation over every route and every kind of caller, generated: the app's routes are read
from ``create_app(...).routes`` (every method), each has one expectation in
tests/support/security_routes.py, and each is asked by anonymous callers, every role at every
organisation type, a registry without client authorisations, the practice's and the registry's
API tokens and a revoked and an expired token, about their own organisation, someone else's,
one that does not exist and a registry's partial client authorisation. The expected answer
comes from the permission matrix data (tests/support/security_oracle.py). Every answer is
judged (tests/support/security_http.py): allowed is never 401/403; a refusal is a sign-in
redirect (pages), 401 (APIs), or 403 with a code (the API's JSON envelope, an accessible error
page), or 404 exactly as for something that does not exist; never 5xx; a refused write stores
nothing; no answer shows a TIN or data id the caller may not see.

The world is built once for this module (SQLite) and requests run in process."""

from __future__ import annotations

import time

import pytest
from tests.support.security_http import (
    TALLY,
    Exchange,
    Matrix,
    judge,
    route_keys,
    same_answer_pairs,
    same_answer_problems,
)
from tests.support.security_routes import RULES, Outcome
from tests.support.security_world import SecurityWorld, callers, security_settings

from openqpp.web import create_app


@pytest.fixture(scope="module")
def matrix(sqlite_security_world: SecurityWorld) -> Matrix:
    started = time.perf_counter()
    world = sqlite_security_world
    built = Matrix(create_app(security_settings(world.url)), world.url, world.made, callers())
    TALLY.callers = len(built.callers)
    TALLY.seconds += time.perf_counter() - started
    return built


def test_every_route_has_an_authorisation_expectation() -> None:
    app = create_app(security_settings("sqlite://"))
    served = route_keys(app)
    missing = [key for key in served if key not in RULES]
    assert not missing, (
        "route(s) with no authorisation expectation in tests/support/security_routes.py "
        f"RULES: {missing}"
    )
    stale = sorted(set(RULES) - set(served))
    assert not stale, f"RULES lists routes the app does not serve: {stale}"


@pytest.mark.parametrize("key", list(RULES))
def test_route_answers_as_the_permission_matrix_says(key: str, matrix: Matrix) -> None:
    started = time.perf_counter()
    rule = RULES[key]
    problems: list[str] = []
    destroyed: set[str] = set()
    for caller in matrix.callers:
        exchanges: list[Exchange] = []
        for place in matrix.places(rule, caller):
            exchange = matrix.send(key, rule, caller, place)
            exchanges.append(exchange)
            found = judge(matrix, exchange)
            status = exchange.response.status_code
            object_id = place.obj.id if place.obj else ""
            gone = rule.destroys and object_id in destroyed
            if (
                exchange.expected is Outcome.ALLOW
                and rule.refusal == "hidden"
                and status == 404
                and not (gone or rule.may_404)
            ):
                found.append("404 for something the caller may see")
            if rule.destroys and exchange.expected is Outcome.ALLOW and status < 300:
                destroyed.add(object_id)
            problems += [
                f"{caller.name} ({place.variant}: {exchange.method} {exchange.url}): {p}"
                for p in found
            ]
        for a, b in same_answer_pairs(matrix.oracle, exchanges):
            problems += [f"{caller.name}: {p}" for p in same_answer_problems(a, b)]
        TALLY.requests += len(exchanges)
    TALLY.routes.add(key)
    TALLY.seconds += time.perf_counter() - started
    assert not problems, f"{key}:\n" + "\n".join(problems)
