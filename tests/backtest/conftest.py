"""One real Prometheus 2.42 for the backtest tests, backfilled with hand-made traces.

Every trace is per minute from `BEGIN` (two hours before `MONDAY`, so the first
step's windows are full) over 26 hours; `traces()` names them, the tests pick theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmarks.traces import Trace, inventory, write_openmetrics
from tests.fixtures.prometheus import PROMETHEUS, PROMTOOL, serving

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
BEGIN = MONDAY - timedelta(hours=2)
MINUTES = 26 * 60
NS = "team-a"
QUIET = "team-q"


def at(hh: int, mm: int = 0) -> int:
    """Minute index of Monday ``hh:mm`` in a trace."""
    return 120 + hh * 60 + mm


def _trace(name: str, requests: dict[int, int] | range, *, gpus: int = 1,
           gap: range | None = None, gpu: range | None = None, namespace: str = NS) -> Trace:
    counts = np.zeros(MINUTES, dtype=np.int64)
    if isinstance(requests, range):
        counts[list(requests)] = 1
    else:
        for minute, n in requests.items():
            counts[minute] = n
    unscraped = None
    if gap is not None:
        unscraped = np.zeros(MINUTES, dtype=bool)
        unscraped[list(gap)] = True
    utilisation = np.zeros(MINUTES)
    if gpu is not None:
        utilisation[list(gpu)] = 40.0 + np.arange(len(gpu)) % 7
    return Trace(namespace, name, "hand", counts, utilisation, gpus=gpus, unscraped=unscraped)


def traces() -> list[Trace]:
    return [
        _trace("sparse", {at(1): 1, at(3): 1}),
        _trace("office", range(at(9, 30), at(17) + 1), gpus=2),
        _trace("late", range(at(9, 30), at(18, 20) + 1)),
        _trace("gappy", range(at(0), at(0, 30) + 1), gap=range(at(0, 40), at(1, 20))),
        _trace("batch", {}, gpus=2, gpu=range(at(2), at(2, 45))),
        # Never used; ``stale`` is not scraped 04:00-04:59 (the breaker's test).
        *(_trace(f"quiet-{i}", {}, namespace=QUIET) for i in range(3)),
        _trace("stale", {}, gap=range(at(4), at(5)), namespace=QUIET),
    ]


@pytest.fixture(scope="session")
def backtest_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PROMETHEUS.exists() or not PROMTOOL.exists():
        pytest.skip("REAL PROMETHEUS MISSING: /usr/bin/prometheus or /usr/bin/promtool absent")
    import subprocess  # noqa: PLC0415

    workdir = tmp_path_factory.mktemp("backtest-prometheus")
    text = workdir / "traces.om"
    with text.open("w") as out:
        write_openmetrics(out, traces(), start=BEGIN)
    subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(text), str(workdir / "data")], check=True, capture_output=True)
    with serving(workdir / "data", workdir) as url:
        yield url


@pytest.fixture(scope="session")
def inventory_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inventory") / "isvcs.yaml"
    path.write_text(yaml.safe_dump(inventory(traces(), created=MONDAY - timedelta(days=30))))
    return path
