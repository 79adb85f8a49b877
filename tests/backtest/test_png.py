"""`backtest --png` draws whatever the process imported before it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reclaimer.backtest.png import draw
from reclaimer.backtest.timeline import Timeline
from reclaimer.model import ServiceRef

pytestmark = [pytest.mark.timeout(60)]
TOTALS = {"coldStarts": 1, "gpuHoursReclaimed": 2.5, "oracleGpuHours": 3.0}
RESULT = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-02T06:00:00Z",
          "totals": TOTALS, "alternatives": [{"idleAfter": "15m", "totals": TOTALS}]}
MONDAY = 1793577600.0  # 2026-11-02T00:00:00Z


def test_the_timeline_draws_without_matplotlibs_datetime_converter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As after ``matplotlib.dates`` was first imported under freezegun, which keys
    the converter on its own datetime class (the xdist CI failure of 2026-12-06)."""
    from matplotlib import dates, units  # noqa: PLC0415, F401 - registers, then we unregister
    monkeypatch.delitem(units.registry, dt.datetime, raising=False)
    monkeypatch.delitem(units.registry, dt.date, raising=False)
    timeline = Timeline(ServiceRef("team-a", "llama"), [MONDAY + 60 * i for i in range(60)],
                        [float(i % 3) for i in range(60)], [(MONDAY + 600, MONDAY + 1200)])
    draw(RESULT, timeline, str(tmp_path / "backtest.png"))
    assert (tmp_path / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
