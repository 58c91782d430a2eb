"""The security world (tests/support/security_world.py): a copy of the elections world with the
security callers, tokens and data, on every database kind under test (SQLite always; PostgreSQL
too when OPENQPP_TEST_DATABASE_URL is set). The CSRF, secret-logging and TIN masking tests share
one world and its signed-in callers per database kind (``security_matrix``); the session tests
(which end sessions and reset a password) and the route matrix (SQLite) have their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.databases import KINDS
from tests.support.elections_world import Templates
from tests.support.security_http import TALLY, Matrix
from tests.support.security_world import SecurityWorld, callers, prepare, security_settings

from openqpp.web import create_app


def _world(
    kind: str, templates: Templates, factory: pytest.TempPathFactory
) -> Iterator[SecurityWorld]:
    for url in templates.clone(kind, factory.mktemp(f"security-{kind}")):
        yield SecurityWorld(url, kind, prepare(url))


@pytest.fixture(scope="module", params=KINDS)
def security_world(
    request: pytest.FixtureRequest,
    world_templates: Templates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SecurityWorld]:
    """A fresh security world per module, on each database kind under test."""
    yield from _world(request.param, world_templates, tmp_path_factory)


@pytest.fixture(scope="module")
def sqlite_security_world(
    world_templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecurityWorld]:
    """The security world on SQLite only (the route matrix: thousands of requests)."""
    yield from _world("sqlite", world_templates, tmp_path_factory)


@pytest.fixture(scope="package", params=KINDS)
def security_matrix(
    request: pytest.FixtureRequest,
    world_templates: Templates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Matrix]:
    """The app of a security world with every caller signed in or holding its token."""
    for world in _world(request.param, world_templates, tmp_path_factory):
        app = create_app(security_settings(world.url))
        yield Matrix(app, world.url, world.made, callers(), kind=world.kind)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.requests:
        terminalreporter.write_line(TALLY.summary())
