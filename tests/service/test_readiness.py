"""/readyz detail (issue 20 item 4): slow evaluations are said, readiness unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.service.app import readiness_of
from reclaimer.service.http import Readiness

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TICK = timedelta(seconds=30)
SLOW = "Prometheus evaluations are slow: ..."


@pytest.mark.parametrize(("last", "slow", "expected"), [
    pytest.param(NOW - TICK, None, Readiness(True, "leader", 30.0, ""), id="fresh-fast"),
    pytest.param(NOW - TICK, SLOW, Readiness(True, "leader", 30.0, SLOW), id="fresh-slow"),
    pytest.param(NOW - 6 * TICK, SLOW, Readiness(False, "leader", 180.0,
                                                 f"loop stalled; {SLOW}"), id="stalled-slow"),
    pytest.param(None, SLOW, Readiness(False, "leader", None, f"no tick yet; {SLOW}"),
                 id="no-tick-slow"),
])
def test_readyz_detail_says_when_evaluations_are_slow(
        last: datetime | None, slow: str | None, expected: Readiness) -> None:
    assert readiness_of("leader", last, now=NOW, tick=TICK, slow=slow) == expected
