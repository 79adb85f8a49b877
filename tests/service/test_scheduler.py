from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from reclaimer.clock import SystemClock
from reclaimer.service.scheduler import AlwaysLeader, TickScheduler


class Follower:
    def is_leader(self) -> bool:
        return False


class Recorder:
    """A tick function that asks to be woken ``wake_after`` later, a bounded number of times."""

    def __init__(self, wake_after: timedelta | None, *, wanted: int) -> None:
        self.calls: list[datetime] = []
        self.wake_after = wake_after
        self.done = threading.Event()
        self.wanted = wanted

    def __call__(self, now: datetime) -> datetime | None:
        self.calls.append(now)
        if len(self.calls) >= self.wanted:
            self.done.set()
        return None if self.wake_after is None else now + self.wake_after


@pytest.mark.timeout(20)
def test_one_shot_wake_fires_before_the_next_interval_tick() -> None:
    recorder = Recorder(timedelta(milliseconds=200), wanted=3)
    scheduler = TickScheduler(recorder, clock=SystemClock(), tick=timedelta(hours=1),
                              leadership=AlwaysLeader())
    scheduler.start()
    try:
        assert recorder.done.wait(10)
    finally:
        scheduler.shutdown()
    assert len(recorder.calls) >= 3


@pytest.mark.timeout(20)
def test_a_follower_never_ticks() -> None:
    recorder = Recorder(None, wanted=1)
    scheduler = TickScheduler(recorder, clock=SystemClock(), tick=timedelta(milliseconds=50),
                              leadership=Follower())
    scheduler.start()
    try:
        assert not recorder.done.wait(0.5)
    finally:
        scheduler.shutdown()
    assert recorder.calls == []


def test_a_failing_tick_is_logged_and_not_counted(caplog: pytest.LogCaptureFixture) -> None:
    def broken(now: datetime) -> datetime | None:
        raise RuntimeError("boom")

    scheduler = TickScheduler(broken, clock=SystemClock(), tick=timedelta(hours=1),
                              leadership=AlwaysLeader())
    scheduler.run_tick()
    assert (scheduler.ticks, scheduler.last_success) == (0, None)
    assert "tick failed" in caplog.text


def test_a_successful_tick_is_counted() -> None:
    scheduler = TickScheduler(Recorder(None, wanted=1), clock=SystemClock(),
                              tick=timedelta(hours=1), leadership=AlwaysLeader())
    scheduler.run_tick()
    assert scheduler.ticks == 1
