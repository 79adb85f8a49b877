"""Signals at scale: one evaluation against a real Prometheus 2.42; prints figures.

Run from the repository root: ``.venv/bin/python -m benchmarks.signals_bench``
(``--services 5,50,500,2000``, ``--repeat 5``, ``--concurrency 1,4``). Each size gets
a fresh Prometheus with 45 minutes of backfilled 30 s scrapes per ISVC
(kube-state-metrics, a Knative request counter, dcgm-exporter); half the ISVCs serve a
request every 20 s. Printed per size and concurrency: HTTP queries per evaluation,
answer rows and bytes, median and worst evaluation time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import running_prometheus
from tests.signals.proxy import counting_proxy
from tests.signals.scenarios import AT, WINDOW
from tests.signals.test_scale import _world


def measure(services: int, repeat: int, concurrency: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, \
            running_prometheus(_world(services, every=timedelta(seconds=30)), Path(tmp)) as url:
        source = PrometheusSignals(PrometheusSettings.from_mapping(
            {"url": url, "concurrency": concurrency, "timeout": "60s"}))
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            known = source.fetch(at=AT, window=WINDOW)
            times.append(time.perf_counter() - started)
        with counting_proxy(url) as (proxy, traffic):
            PrometheusSignals(PrometheusSettings.from_mapping({"url": proxy})).fetch(
                at=AT, window=WINDOW)
    return {"services": services, "concurrency": concurrency, "returned": len(known),
            "queries": traffic.queries(),
            "rows": sum(traffic.rows()), "bytes": sum(len(b) for b in traffic.bodies),
            "median_ms": round(statistics.median(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", default="5,50,500,2000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", default="1,4")
    args = parser.parse_args()
    for size in (int(s) for s in args.services.split(",")):
        for workers in (int(c) for c in args.concurrency.split(",")):
            print(json.dumps(measure(size, args.repeat, workers)))


if __name__ == "__main__":
    main()
