"""Request limits shared by the APIs and the upload pages: the body size limit (413) and a
per-caller rate limit (429 with ``Retry-After``).

The rate limit is a token bucket per caller (an API token, a signed-in user, or the client
address for anonymous calls), kept in the process: ``Settings.rate_limit_burst`` requests at
once, refilled at ``Settings.rate_limit_per_second``. Several instances behind a load balancer
each keep their own buckets, so the limit a caller meets is per instance.

    body = await read_body(request)             # 413 past Settings.max_request_bytes
    check_rate(request, caller_key(request, principal))   # 429 with Retry-After
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.types import Message

from openqpp.core.errors import OpenQppError
from openqpp.services import access
from openqpp.web.access.security import client_address


class PayloadTooLarge(OpenQppError):
    http_status = 413
    code = "OQ-REQ-413"


class TooManyRequests(OpenQppError):
    http_status = 429
    code = "OQ-REQ-429"

    def __init__(self, message: str, *, fix: str, retry_after: int) -> None:
        super().__init__(message, fix=fix)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# ---------------------------------------------------------------- body size


def _too_large(limit: int, size: int | None = None) -> PayloadTooLarge:
    told = f" ({size:,} bytes)" if size is not None else ""
    return PayloadTooLarge(
        f"The request body{told} is larger than this server accepts ({limit:,} bytes); "
        "nothing was stored.",
        fix="Send one entity's submission (or one measurement set) per request, or ask the "
        "operator to raise OPENQPP_MAX_REQUEST_BYTES.",
    )


def body_limit(request: Request) -> int:
    limit: int = request.app.state.settings.max_request_bytes
    return limit


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The request body, read chunk by chunk and abandoned as soon as it passes ``limit``
    (a chunked body without Content-Length included): never more than ``limit`` bytes plus
    one chunk are held in memory."""
    limit = body_limit(request) if limit is None else limit
    refuse_body_past(request, limit, lambda size: _too_large(limit, size))
    return await request.body()


def refuse_body_past(
    request: Request, limit: int, refusal: Callable[[int | None], OpenQppError]
) -> None:
    """Refuse the body of ``request`` past ``limit`` bytes: at once with ``refusal(declared)``
    when its Content-Length says so (before anything is read), else with ``refusal(None)`` as
    soon as more than ``limit`` bytes of it have arrived, with or without a Content-Length. The
    count is kept where the bytes come in, so it holds for :func:`read_body` and for the
    multipart uploads alike (Starlette's form parser would read a chunked body to its end,
    spooling files to disk, before any file could be measured)."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise refusal(int(declared))
    receive = request.receive
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise refusal(None)
        return message

    # Starlette reads the body through the request's receive channel; it has no public setter.
    request._receive = counted


# ---------------------------------------------------------------- rate


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per caller key; ``take`` answers 0 (allowed) or the seconds to wait."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(tokens=float(self.burst), updated=now)
                self._buckets[key] = bucket
                while len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def limiter(request: Request) -> RateLimiter:
    """The application's rate limiter (made from its settings when first asked for)."""
    state = request.app.state
    found: RateLimiter | None = getattr(state, "rate_limiter", None)
    if found is None:
        settings = state.settings
        found = RateLimiter(rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
        state.rate_limiter = found
    return found


def caller_key(request: Request, principal: access.Principal | None) -> str:
    """Who a request counts against: its token or user, else its client address."""
    if principal is not None:
        return principal.actor
    return f"address:{client_address(request) or 'unknown'}"


def check_rate(request: Request, key: str) -> None:
    """Raise TooManyRequests (429, Retry-After in whole seconds) when ``key`` is over its rate."""
    wait = limiter(request).take(key)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"Too many requests: this caller may make {limiter(request).burst} at once and "
            f"{limiter(request).rate:g} per second after that.",
            fix=f"Wait {seconds} second(s) (the Retry-After header) and send the request again; "
            "spread requests out rather than sending them in bursts.",
            retry_after=seconds,
        )
