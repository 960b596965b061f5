"""retry_while_resuming: waits out a resuming store within a budget, and nothing else."""

from __future__ import annotations

import pytest

from skyglass.errors import StoreResuming, StoreUnavailable
from skyglass.resume import retry_while_resuming


class FakeTime:
    """A clock that only moves when slept on; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def resuming_for(calls: int, error: type[StoreUnavailable] = StoreResuming):
    """A call that raises ``error`` ``calls`` times, then answers "ok"; counts its attempts."""
    attempts = []

    def call() -> str:
        attempts.append(1)
        if len(attempts) <= calls:
            raise error("the metadata database is resuming")
        return "ok"

    return call, attempts


def test_a_resume_is_waited_out_with_doubling_delays():
    # Given a store that answers "resuming" three times
    time = FakeTime()
    call, attempts = resuming_for(3)
    waits: list[float] = []
    # When the call is retried with a 60 s budget
    result = retry_while_resuming(
        call,
        budget_seconds=60,
        sleep=time.sleep,
        clock=time.clock,
        on_wait=lambda exc, delay: waits.append(delay),
    )
    # Then it succeeds on the fourth attempt after 1 + 2 + 4 s, each wait announced first
    assert result == "ok" and len(attempts) == 4
    assert time.sleeps == waits == [1.0, 2.0, 4.0]


def test_delays_are_capped_and_the_budget_is_never_overslept():
    # Given a store that never finishes resuming
    time = FakeTime()
    call, attempts = resuming_for(10**6)
    # When retried with a 30 s budget
    with pytest.raises(StoreResuming):
        retry_while_resuming(call, budget_seconds=30, sleep=time.sleep, clock=time.clock, max_delay=8)
    # Then it gave up with the last error, having slept 1 + 2 + 4 + 8 + 8 = 23 s (another 8 s would pass 30)
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(attempts) == 6


def test_no_budget_means_one_attempt():
    time = FakeTime()
    call, attempts = resuming_for(1)
    with pytest.raises(StoreResuming):
        retry_while_resuming(call, budget_seconds=0, sleep=time.sleep, clock=time.clock)
    assert len(attempts) == 1 and time.sleeps == []


def test_other_outages_are_not_retried():
    # Given a store that is down (not resuming)
    time = FakeTime()
    call, attempts = resuming_for(1, StoreUnavailable)
    # Then the failure reaches the caller at once
    with pytest.raises(StoreUnavailable):
        retry_while_resuming(call, budget_seconds=60, sleep=time.sleep, clock=time.clock)
    assert len(attempts) == 1 and time.sleeps == []
