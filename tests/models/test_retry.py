"""Retry: exponential backoff with bounded jitter, and only for the errors it is told to retry."""

from __future__ import annotations

import random

import pytest

from models.errors import ModelOutputInvalid, ModelUnavailable
from models.retry import Retry


class Flaky:
    """Raises the given errors in turn, then returns ``"ok"``; counts calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_backoff_doubles_from_the_base_delay_until_the_cap() -> None:
    retry = Retry(attempts=6, base_delay_s=1.0, max_delay_s=5.0, jitter=0.0)

    assert [retry.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_its_fraction_and_under_the_cap() -> None:
    retry = Retry(base_delay_s=1.0, max_delay_s=3.0, jitter=0.25, rand=random.Random(7).random)

    first_retry = [retry.delay(0) for _ in range(500)]
    capped = [retry.delay(5) for _ in range(500)]

    assert all(0.75 <= d <= 1.25 for d in first_retry)
    assert max(first_retry) - min(first_retry) > 0.4  # it does spread
    assert all(2.25 <= d <= 3.0 for d in capped)


def test_sleeps_the_backoff_between_attempts_and_returns_the_first_success() -> None:
    sleeps: list[float] = []
    retry = Retry(attempts=4, base_delay_s=0.5, jitter=0.0, sleep=sleeps.append)
    flaky = Flaky(ModelUnavailable("down"), ModelUnavailable("still down"))

    assert retry.call(flaky) == "ok"
    assert flaky.calls == 3
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    sleeps: list[float] = []
    retry = Retry(attempts=3, sleep=sleeps.append)
    last = ModelUnavailable("third failure")
    flaky = Flaky(ModelUnavailable("first"), ModelUnavailable("second"), last)

    with pytest.raises(ModelUnavailable) as caught:
        retry.call(flaky)

    assert caught.value is last
    assert flaky.calls == 3
    assert len(sleeps) == 2


def test_an_error_not_retried_on_passes_through_at_once() -> None:
    sleeps: list[float] = []
    retry = Retry(attempts=5, sleep=sleeps.append)
    flaky = Flaky(ModelOutputInvalid("{oops", "not JSON"))

    with pytest.raises(ModelOutputInvalid):
        retry.call(flaky)

    assert flaky.calls == 1
    assert sleeps == []


def test_retry_on_chooses_which_errors_are_transient() -> None:
    retry = Retry(attempts=2, sleep=lambda _: None)
    flaky = Flaky(TimeoutError("slow"))

    assert retry.call(flaky, retry_on=(TimeoutError,)) == "ok"


@pytest.mark.parametrize(
    "settings",
    [{"attempts": 0}, {"base_delay_s": -1.0}, {"max_delay_s": -1.0}, {"jitter": 1.5}],
)
def test_nonsense_settings_are_rejected(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        Retry(**settings)  # type: ignore[arg-type]
