"""The README's "Before you enable a policy" output, reproducible.

One ISVC of each trace shape (`benchmarks.traces`), labelled ``reclaim=idle``, a week
from Monday 2026-11-02 backfilled into a real Prometheus 2.42, then
``reclaimer backtest --policies policies/idle-30m.yaml ... --compare 15m,1h,auto``.
Run: ``.venv/bin/python -m benchmarks.backtest_example``; ``--office`` replays instead an
office-hours policy (weekdays 09:00-18:00 UTC) with an idle rule for off hours (30m),
``--compare LIST`` other ``idle.after`` values (issue 18's targets, benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import yaml

from benchmarks.traces import START, fleet, inventory, write_openmetrics
from reclaimer.cli import main
from tests.fixtures.prometheus import PROMTOOL, serving

OFFICE = """apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: office-hours}
spec:
  selector: {matchLabels: {reclaim: idle}}
  timeZone: UTC
  schedule:
    - {start: "0 9 * * 1-5", stop: "0 18 * * 1-5"}
  idle: {after: 30m, during: offHours, maxRequests: 0, gpuUtilizationBelow: 5, minUptime: 15m}
"""


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--office", action="store_true")
    parser.add_argument("--compare", default="15m,1h,auto")
    args = parser.parse_args()
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
        policy = "policies/idle-30m.yaml"
        if args.office:
            policy = str(work / "office-hours.yaml")
            Path(policy).write_text(OFFICE)
        with serving(work / "data", work) as url:
            print(f"$ reclaimer backtest --policies {Path(policy).name} --inventory "
                  "inventory.yaml \\\n    --prometheus $PROM --from 2026-11-02T00:00:00Z "
                  f"--to 2026-11-09T00:00:00Z --compare {args.compare}")
            main(["backtest", "--policies", policy, "--inventory",
                  str(work / "inventory.yaml"), "--prometheus", url,
                  "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-09T00:00:00Z",
                  "--compare", args.compare])


if __name__ == "__main__":
    run()
