"""A token bucket shared by every delivery thread of a worker."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Allows ``rate`` acquisitions per second, bursts up to ``burst`` (default: none).

    Each caller reserves its token under the lock and sleeps outside it, so
    threads queue up fairly and the lock is held for microseconds.

    With the default ``burst`` of one token, acquisitions are spaced at least
    ``1 / rate`` apart, so no window of one second ever holds more than
    ``rate`` of them, idle spells included. (A bucket as deep as the rate
    saved up a second's worth while idle and spent it at once on top of the
    paced flow: up to twice the rate within one second, which is what made SES
    throttle.)
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else 1.0
        self.tokens = 1.0  # no burst at start-up: the first second is paced too
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is due; returns the time slept."""
        with self._lock:
            now = self._clock()
            self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
            self._last = now
            self.tokens -= 1.0
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def backoff(attempt: int, base: float = 0.2, cap: float = 20.0) -> float:
    """Full-jitter exponential backoff delay for retry number ``attempt`` (0-based)."""
    return random.uniform(0, min(cap, base * (2**attempt)))
