"""The per-caller token bucket behind the APIs' 429 (web/limits.py), on a fake clock."""

from __future__ import annotations

from openqpp.web.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_the_sustained_rate_applies() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("token:1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("token:1") == 0.5  # one token refills in half a second
    clock.now = 0.5
    assert limiter.take("token:1") == 0.0
    assert limiter.take("token:1") > 0


def test_each_caller_has_its_own_bucket_and_refills_stop_at_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    limiter.take("a")
    limiter.take("a")
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0
    clock.now = 100.0
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]


def test_the_oldest_callers_are_forgotten_past_the_key_limit() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock(), max_keys=2)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")
    assert limiter.take("a") == 0.0  # "a" was forgotten, so it starts with a full bucket
