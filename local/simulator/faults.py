"""Fault injection and request metering.

A fault is decided per request from a seeded RNG *before* the request is handled, so a
faulted request never changes state. Kinds: 429 with Retry-After and an empty body; a
5xx error body; slow (sleep past the client's timeout, then answer); drop (close the
connection without a response); malformed (200 with truncated JSON).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

FAULT_KINDS = ("429", "5xx", "slow", "drop", "malformed", "rate_limited")


@dataclass(frozen=True)
class Faults:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_slow: float = 0.0
    rate_drop: float = 0.0
    rate_malformed: float = 0.0
    latency: float = 0.0  # seconds added to every request
    retry_after: int = 1  # the Retry-After header of injected 429s
    slow_seconds: float = 3.0
    seed: int = 0
    rate_limit: float = 0.0  # requests per second over a 1 s sliding window; 0 disables
    #: Only requests with these methods are faulted (e.g. ("PUT",) to fail the status call
    #: and nothing else); empty means every request.
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    kind: str | None  # one of FAULT_KINDS, or None
    status: int = 0


class FaultInjector:
    """Draws one decision per request; thread-safe."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()

    def decide(self, method: str = "GET") -> Decision:
        f = self.faults
        if f.methods and method.upper() not in f.methods:
            return Decision(None)
        with self._lock:
            if f.rate_limit > 0 and self._over_limit(f.rate_limit):
                return Decision("rate_limited", 429)
            roll = self._rng.random()
            for kind, rate in (("429", f.rate_429), ("5xx", f.rate_5xx), ("slow", f.rate_slow),
                               ("drop", f.rate_drop), ("malformed", f.rate_malformed)):  # fmt: skip
                if roll < rate:
                    status = {"429": 429, "malformed": 200}.get(kind, 0)
                    if kind == "5xx":
                        status = self._rng.choice((500, 502, 503, 504))
                    return Decision(kind, status)
                roll -= rate
            return Decision(None)

    def _over_limit(self, per_second: float) -> bool:
        now = time.monotonic()
        while self._recent and now - self._recent[0] > 1.0:
            self._recent.popleft()
        if len(self._recent) >= per_second:
            return True
        self._recent.append(now)
        return False


class Stats:
    """Requests per route and faults per kind; thread-safe and resettable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def count_request(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"requests": dict(self.requests), "faults": dict(self.faults)}

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()
