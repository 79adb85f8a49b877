"""`reclaimer backtest` at scale: N ISVCs x D days at 1-minute steps (issue 18 item 2).

The fleet is `benchmarks.traces.fleet` (seven shapes round-robin), one sample a minute
per series, backfilled with promtool into a real Prometheus 2.42 (blocks cached under
the temp directory, keyed by size). Measured: wall time of reading the history (the
range queries, chunked per day, their parsing and the local pod join; CPU seconds
here and in Prometheus, from its own ``process_cpu_seconds_total``) and of the replay,
separately,
with two policies (idle after 30m for even namespaces, office hours with an off-hours
idle rule for odd ones). Run: ``.venv/bin/python -m benchmarks.backtest_bench
--isvcs 1000 --days 7``; ``--compare 30m,auto``-style alternatives with ``--compare``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import requests

from benchmarks.traces import START, Trace, fleet, write_openmetrics
from reclaimer.backtest.options import Options
from reclaimer.backtest.run import AUTO, Alternative, Span, history_grid, result_of
from reclaimer.model import (
    DeploymentMode,
    IdleDuring,
    IdleRule,
    NamespaceSelector,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
    Window,
)
from reclaimer.signals.ranges.fetch import RangeReader, read_history
from reclaimer.signals.ranges.history import History
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import PROMTOOL, serving

CACHE = Path(tempfile.gettempdir()) / "reclaimer-backtest-tsdb"
BLOCK = 120  # minutes: promtool's block length


def policies(namespaces: int) -> list[Policy]:
    even = tuple(f"team-{i:02d}" for i in range(0, namespaces, 2))
    odd = tuple(f"team-{i:02d}" for i in range(1, namespaces, 2))
    return [
        Policy(name="idle-30m", namespace=None, source="bench",
               namespace_selector=NamespaceSelector(even),
               idle=IdleRule(after=timedelta(minutes=30))),
        Policy(name="office", namespace=None, source="bench",
               namespace_selector=NamespaceSelector(odd), time_zone="UTC",
               schedule=(Window(start="0 8 * * 1-5", stop="0 19 * * 1-5"),),
               idle=IdleRule(after=timedelta(minutes=30), during=IdleDuring.OFF_HOURS)),
    ]


def services(traces: list[Trace]) -> list[Service]:
    return [Service(ref=ServiceRef(t.namespace, t.name), uid=f"uid-{t.name}",
                    mode=DeploymentMode.KNATIVE, state=ServiceState.RUNNING,
                    created_at=START - timedelta(days=30), gpus=t.gpus) for t in traces]


def _backfill_window(traces: list[Trace], *, begin: datetime, minutes: range,
                     work: Path) -> int:
    """One 2-hour block: promtool reads its input once per block it spans, so a week in
    one file is read 84 times; one file per block is read once."""
    text = work / f"w{minutes.start}.om"
    with text.open("w") as out:
        samples = write_openmetrics(out, traces, start=begin, minutes=minutes)
    subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(text), str(work / f"out{minutes.start}")], check=True,
                   capture_output=True)
    text.unlink()
    return samples


def blocks(traces: list[Trace], *, key: str, begin: datetime) -> Path:
    where = CACHE / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (where / "done").exists():
        return where
    shutil.rmtree(where, ignore_errors=True)
    (where / "data").mkdir(parents=True)
    started = time.monotonic()
    size = traces[0].requests.size
    offset = int(begin.timestamp() // 60) % BLOCK
    windows = [range(max(0, m - offset), m - offset + BLOCK) for m in range(0, size + offset,
                                                                           BLOCK)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        samples = sum(pool.map(lambda w: _backfill_window(traces, begin=begin, minutes=w,
                                                          work=where), windows))
    for out in where.glob("out*"):
        for block in out.iterdir():
            block.rename(where / "data" / block.name)
        out.rmdir()
    print(f"backfilled {samples:,} samples in {time.monotonic() - started:.0f} s")
    (where / "done").write_text("ok\n")
    return where


def _cpu_seconds(url: str) -> float:
    """Prometheus's own ``process_cpu_seconds_total`` from its /metrics."""
    for line in requests.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("process_cpu_seconds_total "):
            return float(line.split()[1])
    return float("nan")


def save_history(history: History, path: Path) -> None:
    """Every array of every service, named ``namespace/name/field``, for ``cmp``-style
    comparison of two readings (NaN compares equal to NaN in `np.array_equal` with
    ``equal_nan``)."""
    arrays = {f"{ref.namespace}/{ref.name}/{name}": getattr(one, name)
              for ref, one in sorted(history.services.items())
              for name in ("requests_newest", "gpu_newest", "increments", "counted",
                           "in_flight", "gpu_max", "gpus", "gpu_missing",
                           "requests_missing")}
    with path.open("wb") as out:
        np.savez(out, **arrays)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--isvcs", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--compare", default="")
    parser.add_argument("--uncompressed", action="store_true",
                        help="answers asked uncompressed (`backtest --uncompressed`)")
    parser.add_argument("--json", type=Path, help="write the replay's JSON result here")
    parser.add_argument("--history", type=Path,
                        help="write every history array here (.npz), to compare runs")
    args = parser.parse_args()
    begin = START - timedelta(hours=2)
    traces = fleet(args.isvcs, start=begin, days=args.days + 1, namespaces=args.namespaces)
    where = blocks(traces, key=f"v1 {args.isvcs} {args.days} {args.namespaces}", begin=begin)
    span = Span(START, START + timedelta(days=args.days), timedelta(minutes=1))
    chosen = policies(args.namespaces)
    options = Options()
    with tempfile.TemporaryDirectory(prefix="reclaimer-bt-prom-") as tmp:
        shutil.copytree(where / "data", Path(tmp) / "data")
        with serving(Path(tmp) / "data", Path(tmp)) as url:
            settings = PrometheusSettings(url=url, concurrency=2)
            reader = RangeReader(settings, compressed=not args.uncompressed)
            load, prom_cpu = os.getloadavg()[0], _cpu_seconds(url)
            started, cpu = time.monotonic(), time.process_time()
            history = read_history(settings, history_grid(chosen, span, options), reader=reader)
            read, read_cpu = time.monotonic() - started, time.process_time() - cpu
            prom_cpu = _cpu_seconds(url) - prom_cpu
    compare: list[Alternative] = [AUTO if x == "auto" else timedelta(minutes=int(x.rstrip("m")))
                                  for x in args.compare.split(",") if x]
    started, cpu = time.monotonic(), time.process_time()
    result = result_of(chosen, services(traces), history, span=span, options=options,
                       compare=compare)
    replay, replay_cpu = time.monotonic() - started, time.process_time() - cpu
    print(f"{args.isvcs} ISVCs x {args.days} d at 1m (load average {load:.1f} at the start): "
          f"history {read:.1f} s wall, {read_cpu:.1f} CPU s here + {prom_cpu:.1f} CPU s in "
          f"Prometheus ({reader.queries} range queries); replay {replay:.1f} s wall, "
          f"{replay_cpu:.1f} CPU s; total {read + replay:.1f} s wall")
    if args.json is not None:
        args.json.write_text(json.dumps(result, sort_keys=True, indent=1) + "\n")
    if args.history is not None:
        save_history(history, args.history)
    print("totals", result["totals"])
    for alternative in result["alternatives"]:
        print(alternative["idleAfter"], alternative["totals"])


if __name__ == "__main__":
    main()
