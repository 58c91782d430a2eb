"""Fixtures for the submission rule tests: an in-memory measures year and the year's policy."""

from __future__ import annotations

import pytest
from tests.support.submissions import YEAR, make_year

from openqpp.measures import MeasuresYear
from openqpp.policy import Policy, load_policy


@pytest.fixture(scope="session")
def measures() -> MeasuresYear:
    return make_year()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(YEAR)
