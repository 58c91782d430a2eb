"""'During the submission period' (the permission matrix) and the election window are the same
instants: open from the opening second, closed from the closing second (2022: March 31, 2023
8:00 PM EDT)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from openqpp.core.elections import Window
from openqpp.policy import load_policy
from openqpp.services.access.authorize import in_submission_period

ET = ZoneInfo("America/New_York")


def test_submission_period_closes_at_the_closing_second_like_the_election_window() -> None:
    closing = dt.datetime(2023, 3, 31, 20, 0, 0, tzinfo=ET)
    window = Window.for_policy(load_policy(2022))
    before = closing - dt.timedelta(seconds=1)
    assert in_submission_period(before) is window.is_open(before) is True
    assert in_submission_period(closing) is window.is_open(closing) is False


def test_submission_period_opens_at_the_opening_second() -> None:
    opening = dt.datetime(2023, 1, 3, 10, 0, 0, tzinfo=ET)
    assert in_submission_period(opening - dt.timedelta(seconds=1)) is False
    assert in_submission_period(opening) is True
