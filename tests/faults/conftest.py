"""Fixtures of the fault tests: the fault world (1,000 opt-in eligible clinicians of one
practice, a registry authorised for it) cloned per test on SQLite and on PostgreSQL, and a real
`openqpp serve` with two workers that the test kills and restarts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import _database_kinds
from tests.support.fault_world import FaultWorld, Templates
from tests.support.faults import SERVER_ENV, Server, WriteProbe

KINDS = [
    pytest.param(kind, marks=pytest.mark.postgres) if kind == "postgresql" else kind
    for kind in _database_kinds()
]


@pytest.fixture(scope="session")
def fault_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("fault-world"))
    yield templates
    templates.close()


@pytest.fixture(params=KINDS)
def large_world(
    request: pytest.FixtureRequest, fault_templates: Templates, tmp_path: Path
) -> Iterator[FaultWorld]:
    """A fresh copy of the fault world on each database kind under test."""
    yield from fault_templates.clone(request.param, tmp_path)


@pytest.fixture
def server(large_world: FaultWorld, tmp_path: Path) -> Iterator[Server]:
    """The server on the world's database (not started); always stopped at the end."""
    running = Server(tmp_path, large_world.url, env=dict(SERVER_ENV))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def probe(large_world: FaultWorld) -> Iterator[WriteProbe]:
    watching = WriteProbe(large_world.url)
    try:
        yield watching
    finally:
        watching.close()
