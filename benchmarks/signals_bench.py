"""Signals at scale: evaluations against a real Prometheus 2.42; prints figures.

Run from the repository root: ``.venv/bin/python -m benchmarks.signals_bench``
(``--services 5,50,500,2000``, ``--repeat 5``, ``--concurrency 1,4``). Each size gets
a fresh Prometheus with 45 minutes of backfilled 30 s scrapes per ISVC
(kube-state-metrics, a Knative request counter, dcgm-exporter); half the ISVCs serve a
request every 20 s. Printed per size and concurrency: HTTP queries per evaluation,
answer rows and bytes, median and worst evaluation time.

``--fleet 10000`` measures a tick's evaluation instead: the fleet of the tick benchmark
(``benchmarks/promdata.py``, 500 namespaces) with 6 h 15 min of request-counter history
(what a long-running Prometheus holds, so the last-request look-back reads real data),
both windows of a tick (the 30 m idle window and the 5 m busy-at-stop lookback, asked
together). Printed: each query alone, one after another (median wall time and the
Prometheus process's CPU seconds, which the other jobs on a shared host disturb far
less), then whole evaluations per concurrency with the queries Prometheus counted.
``--modes raw,recorded`` asks the growth benchmark's fleet in both signal modes, the
shipped recording rules backfilled (issue 20); the peak RSS printed is this process's,
which does nothing but evaluate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

from benchmarks.fleet import Fleet
from benchmarks.promdata import prometheus, queries_served
from benchmarks.tickrun import EDGE, RECORDED_DATA_FROM, RULES_FROM, budget
from reclaimer.model import SignalState
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import running_prometheus
from tests.signals.proxy import counting_proxy
from tests.signals.scenarios import AT, WINDOW
from tests.signals.test_scale import _world

TICK_WINDOWS = (timedelta(minutes=30), timedelta(minutes=5))
LOOKBACK = timedelta(minutes=5)


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


def _prometheus_cpu() -> float:
    """CPU seconds of this process's Prometheus child (the only one it starts)."""
    for pid in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if "(prometheus)" in stat and int(fields[1]) == os.getpid():
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    raise RuntimeError("no prometheus child process")


def _ask(url: str, query: str) -> tuple[float, float, int]:
    """Wall and Prometheus CPU seconds of one query, and the rows it returned."""
    params = urllib.parse.urlencode({"query": query, "time": EDGE.timestamp(), "timeout": "120s"})
    cpu, began = _prometheus_cpu(), time.perf_counter()
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=130) as answer:
        body = answer.read()
    wall, used = time.perf_counter() - began, _prometheus_cpu() - cpu
    return wall, used, len(json.loads(body)["data"]["result"])


def per_query(url: str, repeat: int, mode: str = "raw") -> dict[str, dict[str, float]]:
    """Each query of a tick's evaluation alone: median wall and Prometheus CPU seconds,
    rows returned."""
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": url, "signals": {"mode": mode}}))
    out = {}
    for query, text in source.queries_for(TICK_WINDOWS, recent=LOOKBACK).items():
        runs = [_ask(url, text) for _ in range(repeat)]
        out[query.value] = {"wall_s": round(statistics.median(r[0] for r in runs), 3),
                            "cpu_s": round(statistics.median(r[1] for r in runs), 2),
                            "rows": runs[0][2]}
    return out


def evaluations(url: str, repeat: int, concurrency: int, mode: str = "raw", *,
                timeout: int = 120) -> dict[str, object]:
    fallbacks: list[None] = []
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": url, "concurrency": concurrency, "timeout": f"{timeout}s",
         "signals": {"mode": mode}}),
        on_fallback=lambda: fallbacks.append(None))
    times, before = [], queries_served(url)
    for _ in range(repeat):
        began = time.perf_counter()
        known = source.fetch_windows(at=EDGE, windows=TICK_WINDOWS, recent=LOOKBACK)
        times.append(time.perf_counter() - began)
    source.close()
    return {"concurrency": concurrency, "queries_per_evaluation": (queries_served(url) - before)
            // repeat, "known": {str(w): sum(s.state is SignalState.KNOWN for s in k.values())
                                 for w, k in known.items()},
            "median_s": round(statistics.median(times), 2), "max_s": round(max(times), 2),
            "fallbacks": len(fallbacks), "mode": mode,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def at_scale(isvcs: int, repeat: int, concurrency: list[int], modes: list[str]) -> None:
    """With ``recorded`` among ``modes``: the growth benchmark's fleet and blocks (the
    shipped rules backfilled over the last 70 minutes), asked in every mode."""
    if "recorded" in modes:
        fleet = Fleet(isvcs, max(100, isvcs // 20))
        blocks = prometheus(fleet, start=RECORDED_DATA_FROM, end=EDGE, rules_from=RULES_FROM)
    else:
        blocks = prometheus(Fleet(isvcs, 500), start=EDGE - timedelta(minutes=45), end=EDGE,
                            counter_from=EDGE - timedelta(hours=6, minutes=15))
    with blocks as url:
        for mode in modes:
            print(json.dumps({"isvcs": isvcs, "mode": mode, "load": os.getloadavg(),
                              "per_query": per_query(url, repeat, mode)}), flush=True)
            for workers in concurrency:
                print(json.dumps({"isvcs": isvcs, "load": os.getloadavg(), **evaluations(
                    url, repeat, workers, mode, timeout=budget(isvcs))}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", default="5,50,500,2000")
    parser.add_argument("--fleet", type=int, default=0, help="ISVCs of a tick's evaluation")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--modes", default="raw", help="raw,recorded: signals modes (--fleet)")
    args = parser.parse_args()
    workers = [int(c) for c in args.concurrency.split(",")]
    if args.fleet:
        at_scale(args.fleet, args.repeat, workers, args.modes.split(","))
        return
    for size in (int(s) for s in args.services.split(",")):
        for concurrency in workers:
            print(json.dumps(measure(size, args.repeat, concurrency)))


if __name__ == "__main__":
    main()
