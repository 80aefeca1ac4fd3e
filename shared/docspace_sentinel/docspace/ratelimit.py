"""A request-rate budget shared by every thread of a client.

DocSpace's limiter (when a portal enables it) allows 1500 requests a minute per user and 50
concurrent GETs, answering 429 with ``Retry-After``. We stay under a configured budget
(``DOCSPACE_REQUESTS_PER_SECOND``, default 20) by spacing request starts, and when the portal
answers 429 anyway every thread pauses for the ``Retry-After`` and the budget drops by a
quarter (to no less than a quarter of the configured rate), recovering step by step once
requests go through again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        floor_share: float = 0.25,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.base = per_second
        self.rate = per_second
        self.floor = per_second * floor_share
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0
        self._calm_since = 0.0
        #: Seconds spent waiting for the budget, for benchmarks.
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until this request may start."""
        with self._lock:
            now = self._clock()
            if self.rate < self.base and now - self._calm_since > 2.0:
                self.rate = min(self.base, self.rate * 1.25)
                self._calm_since = now
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate
            wait = start - now
        if wait > 0:
            self.waited += wait
            self._sleep(wait)

    def back_off(self, seconds: float) -> None:
        """The portal said 429: nobody starts a request for ``seconds``; the rate drops."""
        with self._lock:
            now = self._clock()
            self._next = max(self._next, now + seconds)
            self.rate = max(self.floor, self.rate * 0.75)
            self._calm_since = now + seconds
