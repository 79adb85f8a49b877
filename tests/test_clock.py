from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.clock import ManualClock, ShiftedClock, SystemClock, clock_from_env

T0 = datetime(2026, 3, 27, 17, 59, 58, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == T0 + timedelta(minutes=5)


def test_manual_clock_rejects_naive_instants() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


@pytest.mark.parametrize(("speed", "elapsed", "expected"), [
    pytest.param(1.0, 2.0, T0 + timedelta(seconds=2), id="real-speed"),
    pytest.param(60.0, 2.0, T0 + timedelta(minutes=2), id="sixty-times"),
])
def test_shifted_clock_runs_from_its_start(speed: float, elapsed: float,
                                          expected: datetime) -> None:
    tick = FakeMonotonic()
    clock = ShiftedClock(T0, speed=speed, monotonic=tick)
    tick.value += elapsed
    assert clock.now() == expected


def test_shifted_clock_maps_future_instants_to_real_delays() -> None:
    tick = FakeMonotonic()
    clock = ShiftedClock(T0, speed=60.0, monotonic=tick)
    wall = clock.wall_time_of(T0 + timedelta(minutes=60))
    real = SystemClock().now()
    assert timedelta(seconds=55) < wall - real <= timedelta(seconds=60)


def test_env_hook_selects_a_shifted_clock() -> None:
    clock = clock_from_env({"RECLAIMER_TEST_CLOCK_START": "2026-03-27T18:59:58+01:00"})
    assert abs(clock.now() - T0) < timedelta(seconds=5)


def test_without_the_hook_the_system_clock_is_used() -> None:
    assert isinstance(clock_from_env({}), SystemClock)


def test_shifted_clock_with_an_origin_shares_the_timeline_of_that_instant() -> None:
    """Two processes given the same start and origin agree, whatever their start-up time."""
    origin = datetime.now(UTC) - timedelta(seconds=10)
    clock = ShiftedClock(T0, speed=60.0, origin=origin)
    assert abs((clock.now() - (T0 + timedelta(minutes=10))).total_seconds()) < 60


def test_clock_from_env_reads_the_origin() -> None:
    origin = datetime.now(UTC) - timedelta(seconds=10)
    clock = clock_from_env({"RECLAIMER_TEST_CLOCK_START": T0.isoformat(),
                            "RECLAIMER_TEST_CLOCK_ORIGIN": origin.isoformat()})
    assert abs((clock.now() - (T0 + timedelta(seconds=10))).total_seconds()) < 1


def test_a_future_origin_holds_the_clock_at_its_start() -> None:
    tick = FakeMonotonic()
    clock = ShiftedClock(T0, speed=60.0, monotonic=tick,
                         origin=SystemClock().now() + timedelta(seconds=30))
    tick.value += 10
    assert clock.now() == T0


def test_wall_time_of_counts_the_hold_before_a_future_origin() -> None:
    clock = ShiftedClock(T0, speed=60.0, origin=SystemClock().now() + timedelta(seconds=30))
    wall = clock.wall_time_of(T0 + timedelta(minutes=1))
    assert timedelta(seconds=30) < wall - SystemClock().now() <= timedelta(seconds=31)
