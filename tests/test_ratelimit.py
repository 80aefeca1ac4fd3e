from __future__ import annotations

import pytest

from docspace_sentinel.docspace.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_requests_are_spaced_to_the_budget() -> None:
    t = FakeTime()
    limiter = RateLimiter(20, clock=t.clock, sleep=t.sleep)
    for _ in range(41):
        limiter.acquire()
    assert t.now - 100.0 == pytest.approx(2.0)  # 40 gaps of 1/20 s


def test_a_429_pauses_everyone_and_slows_down_then_recovers() -> None:
    t = FakeTime()
    limiter = RateLimiter(20, clock=t.clock, sleep=t.sleep)
    limiter.acquire()
    limiter.back_off(3.0)
    assert limiter.rate == pytest.approx(15.0)
    start = t.now
    limiter.acquire()
    assert t.now - start >= 3.0
    for _ in range(10):
        limiter.back_off(0.0)
    assert limiter.rate == pytest.approx(5.0)  # never below a quarter of the budget
    for _ in range(200):
        limiter.acquire()
        t.now += 0.5
    assert limiter.rate == pytest.approx(20.0)


def test_zero_is_not_a_budget() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
