"""Back-off after failed sign-ins: a few free attempts, then locks that double each time.

The server never sleeps: while a lock holds, a sign-in is refused at once (HTTP 429 with
Retry-After) without checking the password, so guessing costs the guesser time, not the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackOff:
    free_attempts: int
    first_lock: dt.timedelta
    max_lock: dt.timedelta
    forget_after: dt.timedelta
    """Failures older than this (counted from the last one) are forgotten."""

    def lock_for(self, failures: int) -> dt.timedelta | None:
        """How long to lock after ``failures`` consecutive failures (None: not locked)."""
        if failures < self.free_attempts:
            return None
        doublings = min(failures - self.free_attempts, 20)
        lock: dt.timedelta = self.first_lock * (2**doublings)
        return min(lock, self.max_lock)

    def after_failure(
        self, failures: int, last_failure_at: dt.datetime | None, now: dt.datetime
    ) -> tuple[int, dt.datetime | None]:
        """The failure count and lock-until time once one more failure happens at ``now``."""
        if last_failure_at is not None and now - last_failure_at > self.forget_after:
            failures = 0
        failures += 1
        lock = self.lock_for(failures)
        return failures, (now + lock if lock is not None else None)


PER_USER = BackOff(
    free_attempts=5,
    first_lock=dt.timedelta(seconds=30),
    max_lock=dt.timedelta(hours=1),
    forget_after=dt.timedelta(hours=24),
)
"""Per user ID typed (whether or not such a user exists, so locks reveal nothing)."""

PER_ADDRESS = BackOff(
    free_attempts=20,
    first_lock=dt.timedelta(seconds=30),
    max_lock=dt.timedelta(hours=1),
    forget_after=dt.timedelta(hours=1),
)
"""Per client address, so one machine cannot walk through many user IDs."""
