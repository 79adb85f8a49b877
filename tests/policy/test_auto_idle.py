"""`choose_timeout`: the ``idle.after: auto`` rule, one case per branch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.policy.auto_idle import AutoIdle, choose_timeout

RULE = AutoIdle()
MIN = 60.0


@pytest.mark.timeout(5)
@pytest.mark.parametrize(("gaps", "after", "reason"), [
    pytest.param([5 * MIN] * 9, timedelta(minutes=30), "fallback", id="too-few-gaps"),
    pytest.param([5 * 3600.0] * 30, timedelta(minutes=10), "isolated use",
                 id="all-gaps-beyond-autoMax-stop-soon"),
    pytest.param([float(m) * MIN for m in range(1, 121)], timedelta(minutes=30),
                 "not patterned", id="spread-out-gaps-fallback"),
    pytest.param([2 * MIN] * 200 + [20 * MIN] * 3 + [10 * 3600.0] * 5,
                 timedelta(minutes=22), "p99", id="sessions-p99-plus-margin"),
    pytest.param([1 * MIN] * 200, timedelta(minutes=10), "p99", id="clamped-to-autoMin"),
    pytest.param([115 * MIN] * 200, timedelta(hours=2), "p99", id="clamped-to-autoMax"),
])
def test_choose_timeout(gaps: list[float], after: timedelta, reason: str) -> None:
    choice = choose_timeout(gaps, RULE)
    assert choice.after == after
    assert reason in choice.reason
