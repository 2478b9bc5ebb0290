"""The per-caller rate limit of ``serve``: a sliding 60 s window, keys apart."""

from __future__ import annotations

from pipelines.common.rate import SWEEP_AT, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_the_rate_a_caller_waits_until_its_oldest_request_leaves_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock)
    assert limiter.retry_after("a") is None
    clock.now += 10
    assert limiter.retry_after("a") is None
    clock.now += 5
    assert limiter.retry_after("a") == 45, "the first request leaves the window at +60 s"
    assert limiter.retry_after("b") is None, "every caller has a window of its own"
    clock.now += 45
    assert limiter.retry_after("a") is None


def test_a_refused_request_does_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock)
    assert limiter.retry_after("a") is None
    for _ in range(5):
        clock.now += 1
        assert limiter.retry_after("a") is not None
    clock.now = 1060.0
    assert limiter.retry_after("a") is None


def test_callers_idle_for_a_window_are_forgotten_once_many_are_tracked() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock)
    for n in range(SWEEP_AT):
        assert limiter.retry_after(f"address-{n}") is None
    clock.now += 61
    assert limiter.retry_after("newcomer") is None
    assert limiter.tracked() == 1
