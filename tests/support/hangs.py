"""Fail a test step that runs far longer than it can legitimately take (a hang, not a benchmark)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hang(AssertionError):
    pass


@contextmanager
def no_hang(seconds: float = 20.0) -> Iterator[None]:
    """Raise `Hang` if the block is still running after `seconds` (main thread, POSIX)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
