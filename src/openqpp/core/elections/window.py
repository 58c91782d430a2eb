"""The election window as exact instants, and the deadline in a reader's words.

The year's policy gives the window as naive wall-clock times in an IANA timezone
(America/New_York). :class:`Window` turns them into aware instants with :mod:`zoneinfo`, so a
window that opens in standard time and closes in daylight time (2019: opens January 2, 2020 at
10:00 EST, extended close April 30, 2020 at 20:00 EDT) is exact at both ends. The window closes
at ``effective_closes``: the extension CMS announced where there is one (docs/decisions/0004).
An election is inside the window when ``opens <= now < closes``: at 19:59:59 ET on the closing
day it is in, at 20:00:00 it is out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from openqpp.policy import Policy

_ZONE_LABELS: Final = {"America/New_York": "ET"}
"""What the guides call a timezone ("8:00 pm ET"); other zones use their abbreviation."""


class WindowState(StrEnum):
    NOT_OPEN_YET = "not_open_yet"
    OPEN = "open"
    CLOSED = "closed"


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the election rules need an aware datetime for now (a UTC offset)")
    return now


@dataclass(frozen=True, slots=True)
class Window:
    """One performance year's election (and data submission) window."""

    performance_year: int
    timezone: str
    opens: dt.datetime
    closes: dt.datetime
    """The effective close: the recorded extension where there is one."""
    published_closes: dt.datetime
    """The close as first published (before any extension)."""

    @classmethod
    def for_policy(cls, policy: Policy) -> Window:
        window = policy.elections.window
        zone = ZoneInfo(window.timezone)
        return cls(
            performance_year=policy.year,
            timezone=window.timezone,
            opens=window.opens.replace(tzinfo=zone),
            closes=window.effective_closes.replace(tzinfo=zone),
            published_closes=window.closes.replace(tzinfo=zone),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def extended(self) -> bool:
        return self.closes != self.published_closes

    def state(self, now: dt.datetime) -> WindowState:
        moment = _aware(now)
        if moment < self.opens:
            return WindowState.NOT_OPEN_YET
        if moment < self.closes:
            return WindowState.OPEN
        return WindowState.CLOSED

    def is_open(self, now: dt.datetime) -> bool:
        return self.state(now) is WindowState.OPEN

    def local(self, moment: dt.datetime) -> dt.datetime:
        return _aware(moment).astimezone(self.zone)

    def zone_label(self, moment: dt.datetime) -> str:
        return _ZONE_LABELS.get(self.timezone) or self.local(moment).strftime("%Z")

    def when(self, moment: dt.datetime, *, now: dt.datetime | None = None) -> str:
        """``March 31 at 8:00 PM ET``; the year is added when it is not ``now``'s year."""
        local = self.local(moment)
        day = f"{local:%B} {local.day}"
        if now is None or self.local(now).year != local.year:
            day += f", {local.year}"
        return f"{day} at {clock_time(local)} {self.zone_label(moment)}"

    def deadline(self, now: dt.datetime) -> str:
        """The deadline as a person would say it at ``now``::

        opens in 15 days, January 3, 2023 at 10:00 AM ET (closes March 31, 2023 at 8:00 PM ET)
        closes in 12 days, March 31 at 8:00 PM ET
        closes tomorrow, March 31 at 8:00 PM ET
        closes today at 8:00 PM ET (in 3 hours)
        closed on March 31, 2023 at 8:00 PM ET
        """
        state = self.state(now)
        if state is WindowState.NOT_OPEN_YET:
            return (
                f"opens {_in_days(self, self.opens, now)}{self.when(self.opens, now=now)} "
                f"(closes {self.when(self.closes, now=now)})"
            )
        if state is WindowState.CLOSED:
            return f"closed on {self.when(self.closes)}"
        days = (self.local(self.closes).date() - self.local(now).date()).days
        if days == 0:
            return f"closes today at {clock_time(self.local(self.closes))} " + (
                f"{self.zone_label(self.closes)} (in {_duration(self.closes - now)})"
            )
        return f"closes {_in_days(self, self.closes, now)}{self.when(self.closes, now=now)}"

    def describe(self) -> str:
        """``January 3, 2023 at 10:00 AM ET to March 31, 2023 at 8:00 PM ET``."""
        text = f"{self.when(self.opens)} to {self.when(self.closes)}"
        if self.extended:
            text += f" (extended from {self.when(self.published_closes)})"
        return text


def clock_time(local: dt.datetime) -> str:
    """``8:00 PM``, ``10:00 AM``, ``12:30 PM``."""
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def _in_days(window: Window, moment: dt.datetime, now: dt.datetime) -> str:
    days = (window.local(moment).date() - window.local(now).date()).days
    if days == 1:
        return "tomorrow, "
    if days == 0:
        return "today, "
    return f"in {days} days, "


def _duration(delta: dt.timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''}"
