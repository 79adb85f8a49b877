"""decide() alone on the fleet of ``tick_bench``: 10,000 ISVCs, 500 namespaces, 100 policies.

Run from the repository root: ``.venv/bin/python -m benchmarks.decide_scale``
(``--isvcs``, ``--namespaces``, ``--policies``, ``--repeat``, ``--profile N``).

The policies are the very documents `benchmarks.tickrun` writes, parsed as the service
parses them; services are what the inventory makes of `benchmarks.fleet` (running,
``tier: dev``, created 2026-01-01); signals are what Prometheus says of that fleet (odd
ISVCs busy, even ones idle). Three ledger views, each timed at tick_bench's first instant:

- ``empty``: a fresh database, the first tick of tick_bench;
- ``restart``: every edge up to a day before applied, so the last day's edges are
  caught up (the latest decided, the older reported missed);
- ``steady``: every edge the ``empty`` plan claimed is applied (the next tick).

``empty`` and ``restart`` start from an empty edge memo (a restarted process); ``CPU s``
is decide() matching services itself (the CLI's ``plan``), ``loop CPU s`` is decide()
given the matches the loop already made for the signals (what tick_bench measures).
``--distinct-schedules`` gives each policy its own hours, so no policy shares the memo.

No server is started: CPU time of the pure call (``time.thread_time``), median of
``--repeat`` calls, so the figure is comparable to tick_bench's ``decide()`` CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from benchmarks.fleet import CREATED, Fleet
from benchmarks.tickrun import instants, policy_documents
from reclaimer.model import (
    DecideSettings,
    DeploymentMode,
    LedgerView,
    Plan,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
    SignalState,
    Window,
)
from reclaimer.policy import schedule
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import Match, governed
from reclaimer.policy.schedule import edges_between
from reclaimer.policy.schema import parse_documents

SETTINGS = DecideSettings()


@dataclass(frozen=True)
class Inputs:
    now: datetime
    policies: list[Policy]
    services: list[Service]
    signals: dict[ServiceRef, Signals]
    matches: list[Match]


def inputs(fleet: Fleet, policy_count: int, *, distinct: bool = False) -> Inputs:
    text = "---\n".join(policy_documents(fleet, policy_count))
    policies, errors = parse_documents(text, source="bench.yaml")
    assert not errors, errors
    if distinct:
        policies = [_own_hours(p, i) for i, p in enumerate(policies)]
    now = instants(0)[0][1]
    created = datetime.fromisoformat(CREATED.replace("Z", "+00:00"))
    services = [Service(ref=ServiceRef(ns, name), uid=f"uid-{i}", mode=DeploymentMode.STANDARD,
                        state=ServiceState.RUNNING, created_at=created, labels={"tier": "dev"},
                        gpus=1) for i, ns, name in fleet.refs()]
    return Inputs(now=now, policies=policies, services=services,
                  signals={s.ref: _signals(s.ref, i % 2 == 1, now)
                           for i, s in enumerate(services)},
                  matches=governed(policies, services))


def _own_hours(policy: Policy, index: int) -> Policy:
    """The worst case for the edge memo: no two policies share a schedule."""
    if not policy.schedule:
        return policy
    minute = index % 60
    return replace(policy, schedule=(Window(f"{minute} 8 * * mon-fri",
                                            f"{minute} 19 * * mon-fri"),))


def _signals(ref: ServiceRef, busy: bool, now: datetime) -> Signals:
    return Signals(ref=ref, at=now, window=timedelta(minutes=30), state=SignalState.KNOWN,
                   requests=180.0 if busy else 0.0,
                   seconds_since_last_request=30.0 if busy else 21600.0,
                   gpu_utilization_max=40.0 if busy else 0.0,
                   gpu_utilization_mean=40.0 if busy else 0.0, gpus=1, coverage_seconds=1800.0)


def restart_view(data: Inputs) -> LedgerView:
    """Every edge of each governed service applied, up to a day before ``now``."""
    start, end = data.now - SETTINGS.catch_up_horizon, data.now - timedelta(days=1)
    keys = set()
    for match in data.matches:
        for edge in edges_between(match.policy, start, end):
            keys.add(edge.key_for(match.service.uid))
    return LedgerView(applied_edge_keys=frozenset(keys))


def steady_view(plan: Plan) -> LedgerView:
    claimed = {t.edge_key for t in (*plan.transitions, *plan.missed) if t.edge_key}
    return LedgerView(applied_edge_keys=frozenset(claimed))


def run(data: Inputs, view: LedgerView, *, given: bool = False) -> Plan:
    """``given``: with the matches the loop made in observe, as the service calls it."""
    return decide(data.now, data.policies, data.services, signals=data.signals, ledger=view,
                  settings=SETTINGS, matches=data.matches if given else None)


def timed(data: Inputs, view: LedgerView, repeat: int, *, cold: bool, given: bool
          ) -> tuple[float, Plan]:
    """``cold``: the per-day edge cache emptied before each call, as after a restart."""
    times, plan = [], run(data, view, given=given)
    for _ in range(repeat):
        if cold:
            schedule.clear()
        began = time.thread_time()
        plan = run(data, view, given=given)
        times.append(time.thread_time() - began)
    return statistics.median(times), plan


def profile(data: Inputs, view: LedgerView, top: int, *, cold: bool) -> None:
    if cold:
        schedule.clear()
    profiler = cProfile.Profile()
    profiler.runcall(run, data, view)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--isvcs", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=500)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, help="print the top N of cProfile")
    parser.add_argument("--distinct-schedules", action="store_true",
                        help="give every policy its own hours (no shared edge memo)")
    args = parser.parse_args()
    data = inputs(Fleet(args.isvcs, args.namespaces), args.policies,
                  distinct=args.distinct_schedules)
    first = run(data, LedgerView())
    views = {"empty": (LedgerView(), True), "restart": (restart_view(data), True),
             "steady": (steady_view(first), False)}
    print(f"decide() at {data.now:%Y-%m-%d %H:%M:%S} UTC: {args.isvcs} ISVCs, "
          f"{args.namespaces} namespaces, {args.policies} policies; CPU s, median of "
          f"{args.repeat}")
    print(f"{'view':>8} {'CPU s':>7} {'loop CPU s':>11} {'transitions':>12} {'actionable':>11} "
          f"{'missed':>7}")
    for name, (view, cold) in views.items():
        cpu, plan = timed(data, view, args.repeat, cold=cold, given=False)
        loop_cpu, _ = timed(data, view, args.repeat, cold=cold, given=True)
        print(f"{name:>8} {cpu:>7.3f} {loop_cpu:>11.3f} {len(plan.transitions):>12} "
              f"{len(plan.actionable):>11} {len(plan.missed):>7}")
        if args.profile:
            profile(data, view, args.profile, cold=cold)


if __name__ == "__main__":
    main()
