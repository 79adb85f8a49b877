"""Tick cost at 100, 1,000 and 10,000 ISVCs: a table, the growth exponent, and a profile.

Run from the repository root: ``.venv/bin/python -m benchmarks.growth_bench``
(``--sizes 100,1000,10000``, ``--steady 3``, ``--top 12``). Each size runs in its own
process (``--one N``, printing JSON), so peak RSS is per size; the set-up is
``benchmarks/tickrun.py`` with 100 policies over ``max(100, N / 20)`` namespaces, so
only the fleet grows. The figures are medians of the steady ticks (idle stops only, at
most ``maxStopsPerTick`` of them). The last steady tick runs under cProfile: that
profiles the loop's own thread (observe, ``decide()``, bookkeeping, and its waits on
the Prometheus and executor pools), which is where a per-service cost would show.

Growth exponent k from t(N) ~ N^k between consecutive sizes: k ≤ 1 is linear or better.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import math
import pstats
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from benchmarks.fleet import Fleet
from benchmarks.tickrun import TickFigures, run_ticks
from reclaimer.service.loop import TickResult

FIELDS = ("wall", "decide_cpu", "signals_seconds", "api_total", "promql_queries", "stops")


def _profiled(top: int, out: list[str]) -> Callable[[Callable[[], TickResult]], TickResult]:
    def around(run: Callable[[], TickResult]) -> TickResult:
        profile = cProfile.Profile()
        result = profile.runcall(run)
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(top)
        out.append(text.getvalue())
        return result
    return around


def one(size: int, *, steady: int, top: int, mode: str = "raw") -> dict[str, Any]:
    fleet = Fleet(size, max(100, size // 20))
    profile: list[str] = []
    setup, rows = run_ticks(fleet, policies=100, steady=steady, mode=mode,
                            around={f"steady-{steady}": _profiled(top, profile)})
    measured = [r for r in rows if r.label.startswith("steady")][:-1] or rows[1:2]

    def median(name: str) -> float:
        return float(statistics.median(_value(r, name) for r in measured))

    return {"size": size, "mode": mode, **{k: median(k) for k in FIELDS},
            "rss_mib": max(r.rss_mib for r in rows), "first_wall": rows[0].wall,
            "edge_wall": rows[-1].wall, "setup": setup, "profile": profile[0]}


def _value(row: TickFigures, name: str) -> float:
    return float(getattr(row, name))


def _child(size: int, *, steady: int, top: int, mode: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.growth_bench", "--one", str(size),
               "--steady", str(steady), "--top", str(top), "--mode", mode]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _exponent(a: dict[str, Any], b: dict[str, Any], key: str) -> str:
    if a[key] <= 0 or b[key] <= 0:
        return "-"
    return f"{math.log(b[key] / a[key]) / math.log(b['size'] / a['size']):.2f}"


def report(results: list[dict[str, Any]]) -> None:
    print("| ISVCs | tick wall s | decide CPU s | signals s | rest of tick s | API calls "
          "| PromQL | stops | peak RSS MiB | µs of tick per ISVC |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        rest = r["wall"] - r["decide_cpu"] - r["signals_seconds"]
        print(f"| {r['size']} | {r['wall']:.2f} | {r['decide_cpu']:.3f} | "
              f"{r['signals_seconds']:.2f} | {rest:.2f} | {r['api_total']:.0f} | "
              f"{r['promql_queries']:.0f} | {r['stops']:.0f} | {r['rss_mib']:.0f} | "
              f"{r['wall'] / r['size'] * 1e6:.0f} |")
    for a, b in itertools.pairwise(results):
        print(f"growth {a['size']} -> {b['size']}: exponent of tick wall "
              f"{_exponent(a, b, 'wall')}, decide {_exponent(a, b, 'decide_cpu')}, "
              f"signals {_exponent(a, b, 'signals_seconds')}")
    last = results[-1]
    shares = {"signals (Prometheus evaluations)": last["signals_seconds"],
              "decide()": last["decide_cpu"],
              "the rest (observe, act, ledger, bookkeeping)":
                  last["wall"] - last["signals_seconds"] - last["decide_cpu"]}
    name, seconds = max(shares.items(), key=lambda kv: kv[1])
    print(f"dominant term at {last['size']} ISVCs: {name}, {seconds:.2f} s of "
          f"{last['wall']:.2f} s ({seconds / last['wall']:.0%})")
    print(f"\ncProfile of one steady tick at {last['size']} ISVCs (loop thread, by tottime):")
    print("\n".join(line for line in last["profile"].splitlines()[:40] if line.strip()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--steady", type=int, default=3)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--one", type=int, help="measure one size in this process (JSON)")
    parser.add_argument("--mode", choices=("raw", "recorded"), default="raw",
                        help="prometheus.signals.mode (recorded: backfill the rules too)")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, steady=args.steady, top=args.top, mode=args.mode)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    report([_child(size, steady=args.steady, top=args.top, mode=args.mode) for size in sizes])


if __name__ == "__main__":
    main()
