"""The README's "Before you enable a policy" output, reproducible.

One ISVC of each trace shape (`benchmarks.traces`), labelled ``reclaim=idle``, a week
from Monday 2026-11-02 backfilled into a real Prometheus 2.42, then
``reclaimer backtest --policies policies/idle-30m.yaml ... --compare 15m,1h,auto``.
Run: ``.venv/bin/python -m benchmarks.backtest_example``.
"""

from __future__ import annotations

import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import yaml

from benchmarks.traces import START, fleet, inventory, write_openmetrics
from reclaimer.cli import main
from tests.fixtures.prometheus import PROMTOOL, serving


def run() -> None:
    begin = START - timedelta(hours=2)
    traces = fleet(7, start=begin, days=8, namespaces=1)
    with tempfile.TemporaryDirectory(prefix="reclaimer-bt-example-") as tmp:
        work = Path(tmp)
        with (work / "t.om").open("w") as out:
            write_openmetrics(out, traces, start=begin)
        subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "-q",
                        str(work / "t.om"), str(work / "data")], check=True)
        (work / "inventory.yaml").write_text(yaml.safe_dump(inventory(
            traces, created=START - timedelta(days=30), labels={"reclaim": "idle"})))
        with serving(work / "data", work) as url:
            print("$ reclaimer backtest --policies policies/idle-30m.yaml --inventory "
                  "inventory.yaml \\\n    --prometheus $PROM --from 2026-11-02T00:00:00Z "
                  "--to 2026-11-09T00:00:00Z --compare 15m,1h,auto")
            main(["backtest", "--policies", "policies/idle-30m.yaml", "--inventory",
                  str(work / "inventory.yaml"), "--prometheus", url,
                  "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-09T00:00:00Z",
                  "--compare", "15m,1h,auto"])


if __name__ == "__main__":
    run()
