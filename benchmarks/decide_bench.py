"""decide() at fleet scale: wall time per call and schedule calls per call; prints figures.

Run from the repository root: ``.venv/bin/python -m benchmarks.decide_bench``
(``--services 1000,5000,20000``, ``--policies 6``, ``--repeat 5``). Each fleet is spread
over 50 namespaces and governed by a mix of office-hours policies (Berlin, New York,
Sydney, Kolkata; one with ``idle.during: offHours``) and idle-only policies, with fresh
signals (one in three busy, one in ten unknown), a ledger holding the last day's edges
as applied, and some holds.

The point is the shape: schedule work is per policy, not per service, so the count of
``edges_between``/``window_open`` calls stays flat while the fleet grows. The fleet of
``tick_bench`` (10,000 ISVCs, 500 namespaces, 100 policies), with the first tick after a
restart from an empty memo, is ``benchmarks/decide_scale.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from reclaimer.model import (
    DecideSettings,
    DeploymentMode,
    Hold,
    IdleDuring,
    IdleRule,
    LedgerView,
    NamespaceSelector,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
    SignalState,
    Window,
)
from reclaimer.policy import decide as decide_module
from reclaimer.policy import edges as edges_module
from reclaimer.policy import idle as idle_module
from reclaimer.policy import schedule as schedule_module

NOW = datetime(2026, 3, 30, 17, 5, tzinfo=UTC)  # Monday 19:05 in Berlin
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]


def policies(count: int) -> list[Policy]:
    out = []
    for i in range(count):
        names = tuple(f"ns{n:02d}" for n in range(i, 50, count))
        idle = IdleRule(after=timedelta(minutes=30),
                        during=IdleDuring.OFF_HOURS if i % 3 == 1 else IdleDuring.ALWAYS)
        scheduled = i % 3 != 2
        out.append(Policy(name=f"p{i}", namespace=None, source="bench",
                          namespace_selector=NamespaceSelector(names),
                          time_zone=ZONES[i % len(ZONES)] if scheduled else None,
                          schedule=(Window("0 8 * * mon-fri", "0 19 * * mon-fri"),)
                          if scheduled else (), idle=idle))
    return out


def fleet(count: int) -> list[Service]:
    states = [ServiceState.RUNNING] * 6 + [ServiceState.STOPPED] * 3 + [ServiceState.STOPPING]
    return [Service(ref=ServiceRef(f"ns{i % 50:02d}", f"m{i:06d}"), uid=f"uid-{i}",
                    mode=DeploymentMode.KNATIVE, state=states[i % len(states)],
                    created_at=NOW - timedelta(days=30), gpus=1) for i in range(count)]


def signals(services: list[Service]) -> dict[ServiceRef, Signals]:
    out = {}
    for i, s in enumerate(services):
        if i % 10 == 0:
            out[s.ref] = Signals.unknown(s.ref, at=NOW, window=timedelta(minutes=30),
                                         reason="bench")
            continue
        busy = i % 3 == 0
        out[s.ref] = Signals(ref=s.ref, at=NOW, window=timedelta(minutes=30),
                             state=SignalState.KNOWN, requests=40.0 if busy else 0.0,
                             seconds_since_last_request=12.0 if busy else 5400.0,
                             gpu_utilization_max=70.0 if busy else 0.0, gpus=1,
                             coverage_seconds=1800.0)
    return out


def ledger(pols: list[Policy], services: list[Service]) -> LedgerView:
    by_key = {p.key: p for p in pols}
    keys = set()
    for s in services:
        policy = next(p for p in by_key.values() if p.governs(s))
        for edge in schedule_module.edges_between(policy, NOW - timedelta(days=1), NOW):
            keys.add(edge.key_for(s.uid))
    holds = {s.ref: Hold(s.ref, until=NOW + timedelta(hours=1), reason="bench", who="bench")
             for s in services[::97]}
    return LedgerView(applied_edge_keys=frozenset(keys), holds=holds)


class Counter:
    """Counts calls into the schedule module, wherever decide's modules imported them."""

    def __init__(self) -> None:
        self.calls = 0
        self._undo: list[tuple[Any, str, Callable[..., Any]]] = []

    def wrap(self, module: Any, name: str) -> None:
        original = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        self._undo.append((module, name, original))
        setattr(module, name, counted)

    def restore(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)


def measure(size: int, policy_count: int, repeat: int) -> dict[str, float]:
    pols, services = policies(policy_count), fleet(size)
    sigs, view = signals(services), ledger(pols, services)
    counter = Counter()
    for module, name in [(decide_module, "cached_edges_between"), (decide_module, "window_open"),
                         (idle_module, "window_open"),
                         (decide_module, "next_edge")]:
        counter.wrap(module, name)
    times = []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            plan = decide_module.decide(NOW, pols, services, signals=sigs, ledger=view,
                                        settings=DecideSettings(max_stops_per_tick=10**6,
                                                                mass_idle_fraction=1.0))
            times.append(time.perf_counter() - start)
    finally:
        counter.restore()
    assert edges_module is not None
    return {"services": size, "ms_median": statistics.median(times) * 1000,
            "ms_max": max(times) * 1000, "schedule_calls": counter.calls / repeat,
            "transitions": len(plan.transitions), "actionable": len(plan.actionable)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", default="1000,5000,20000")
    parser.add_argument("--policies", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'services':>9} {'median ms':>10} {'max ms':>8} {'schedule calls':>15} "
          f"{'transitions':>12} {'actionable':>11}")
    for size in (int(s) for s in args.services.split(",")):
        row = measure(size, args.policies, args.repeat)
        print(f"{row['services']:>9} {row['ms_median']:>10.1f} {row['ms_max']:>8.1f} "
              f"{row['schedule_calls']:>15.0f} {row['transitions']:>12} {row['actionable']:>11}")


if __name__ == "__main__":
    main()
