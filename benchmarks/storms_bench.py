"""Edge storm and wake storm: 1,000 ISVCs on one edge, through the real reconcile loop.

Run from the repository root: ``.venv/bin/python -m benchmarks.storms_bench``
(``--isvcs 1000``, ``--runs 3``, ``--workers 1,8,32``, ``--ledgers sqlite,memory``,
``--tick 30``).

- Edge storm: one office-hours policy (Berlin, ``busyAtStop: force``) governs every ISVC,
  so they all share the stop edge of Monday 2030-04-01 19:00. After a warm-up tick
  30 s earlier (the restart catch-up), the tick at the edge instant is timed: from the
  moment ``reconcile_once(edge)`` is called (what the scheduler's one-shot job does at
  the edge) to the first and the last stop-annotation PATCH answered by the API
  server. Targets (issue 9): first ≤ 1 s, last ≤ 5 s. Median over ``--runs`` fresh
  fleets per thread-pool size (``LoopSettings.workers``) and ledger: SQLite (the
  default database) or `MemoryLedger`, which tells the ledger's share of the time.
- Wake storm: the same fleet starts out stopped and the policy's 08:00 start edge comes
  due; ``maxConcurrentStarts: 20`` lets 20 starts through per tick and blocks the rest
  as ``staggered`` until the next tick. Ticks run back to back in wall time with
  service time advancing by ``--tick`` seconds each, and every start-annotation
  removal is placed on the service's timeline (tick instant + its offset inside the
  tick), then counted per second and drawn as an ASCII chart.

The sandbox runs in a child process (``benchmarks/fleet.py``), the ledger is SQLite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.fleet import Fleet, conditions, sandbox
from benchmarks.wiring import STOP_ASKED, Wired, settle, wire, write_policies
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.signals.scripted import ScriptedSignals

STOP_EDGE = datetime(2030, 4, 1, 17, 0, tzinfo=UTC)  # Monday 19:00 CEST
START_EDGE = datetime(2030, 4, 1, 6, 0, tzinfo=UTC)  # Monday 08:00 CEST
POLICY = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: office-hours}
spec:
  namespaceSelector: {matchNames: [%s]}
  timeZone: Europe/Berlin
  schedule: [{start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}]
  busyAtStop: force
"""


def _annotated(inventory: Inventory) -> int:
    """Services asked to stop (the annotation is "true"): STOPPING until KServe is done."""
    return sum(1 for s in inventory.snapshot() if s.state in STOP_ASKED)


def _wired(fleet: Fleet, url: str, workdir: Path, *, workers: int,
           ledger: str = "sqlite") -> Wired:
    names = ", ".join(sorted({fleet.namespace(i) for i in range(fleet.namespaces)}))
    write_policies(workdir, [POLICY % names])
    # No idle rule and busy stops forced: no signals are asked for (observe.py).
    wired = wire(url, workdir, signals=ScriptedSignals({}), workers=workers, ledger_kind=ledger)
    settle(wired.inventory, fleet.isvcs)
    return wired


def edge_storm(fleet: Fleet, *, workers: int, ledger: str = "sqlite") -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="reclaimer-storm-") as tmp, sandbox(fleet) as box:
        wired = _wired(fleet, box.url, Path(tmp), workers=workers, ledger=ledger)
        try:
            wired.reconciler.reconcile_once(STOP_EDGE - timedelta(seconds=30))
            calls = wired.rest.total_calls
            began = time.perf_counter()
            result = wired.reconciler.reconcile_once(STOP_EDGE)
            ended = time.perf_counter()
            writes = sorted(wired.rest.stop_writes)
            settle(wired.inventory, len(writes), count=_annotated)
        finally:
            wired.close()
    return {"stops": len(writes), "planned": len(result.plan.actionable),
            "first": writes[0] - began, "last": writes[-1] - began, "tick": ended - began,
            "api_calls": wired.rest.total_calls - calls}


READY_AFTER = 60.0  # service seconds from a start until KServe reports Ready


class KServeReady:
    """Plays KServe for the wake storm: a started ISVC turns Ready ``READY_AFTER`` later.

    The benchmark's sandbox has no simulator, and a start counts against
    ``maxConcurrentStarts`` until it is verified Ready, so something must say Ready.
    """

    def __init__(self, url: str) -> None:
        self.rest = Rest(api_client_for_host(url))
        self.due: list[tuple[float, str, str]] = []

    def started(self, refs: list[tuple[str, str]], *, at: float) -> None:
        self.due += [(at + READY_AFTER, ns, name) for ns, name in refs]

    def advance(self, now: float) -> None:
        ready = [d for d in self.due if d[0] <= now]
        self.due = [d for d in self.due if d[0] > now]
        for _, ns, name in ready:
            self.rest.merge_patch(ISVC, ns, name, {"status": {"conditions": conditions(False)}},
                                  subresource="status")


def wake_storm(fleet: Fleet, *, tick: float, workers: int) -> tuple[list[float], list[str]]:
    """Service-time seconds after the start edge at which each start was written.

    The loop is stepped as the scheduler steps it: to the plan's next wake (5 s while
    starts are staggered), at most ``tick`` later.
    """
    stopped = Fleet(fleet.isvcs, fleet.namespaces, stopped=True)
    rows: list[str] = []
    placed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="reclaimer-storm-") as tmp, \
            sandbox(stopped) as box:
        wired = _wired(stopped, box.url, Path(tmp), workers=workers)
        kserve = KServeReady(box.url)
        try:
            wired.reconciler.reconcile_once(START_EDGE - timedelta(seconds=tick))
            now, n = 0.0, 0
            while len(wired.rest.start_writes) < fleet.isvcs and n < 4 * fleet.isvcs:
                before, began = len(wired.rest.start_writes), time.perf_counter()
                result = wired.reconciler.reconcile_once(START_EDGE + timedelta(seconds=now))
                wall = time.perf_counter() - began
                new = wired.rest.start_writes[before:]
                kserve.started(wired.rest.started[before:], at=now)
                placed += [now + (w - began) for w in new]
                rows.append(f"{now:7.0f} s | {len(new):3d} | {len(placed):5d} | {wall:.2f} s")
                now += _step(result.next_wake, now, tick=tick)
                kserve.advance(now)
                settle(wired.inventory, fleet.isvcs - len(placed), count=_annotated)
                n += 1
        finally:
            wired.close()
    return placed, rows


def _step(next_wake: datetime | None, now: float, *, tick: float) -> float:
    if next_wake is None:
        return tick
    ahead = (next_wake - START_EDGE).total_seconds() - now
    return min(max(ahead, 1.0), tick)


def chart(placed: list[float], *, tick: float, rows: int = 8) -> str:
    """Starts per second of service time: the first ``rows`` ticks, one line per second
    that had any starts, plus the average rate over the whole storm."""
    per_second = Counter(int(t) for t in placed)
    shown = [s for s in sorted(per_second) if s < tick * rows]
    lines = [f"  t={s:5d} s {per_second[s]:3d}/s {'#' * per_second[s]}" for s in shown]
    span = max(placed) if placed else 0.0
    lines.append(f"  ... {len(placed)} starts in {span:.0f} s of service time: "
                 f"{len(placed) / span if span else 0:.2f} starts/s on average; "
                 f"{len(per_second)} seconds with any start")
    return "\n".join(lines)


def _row(ledger: str, workers: int, runs: list[dict[str, float]]) -> str:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return (f"| {ledger} | {workers} | {med['stops']:.0f} | {med['first']:.3f} "
            f"(max {max(r['first'] for r in runs):.3f}) | {med['last']:.2f} "
            f"(max {max(r['last'] for r in runs):.2f}) | {med['tick']:.2f} | "
            f"{med['api_calls']:.0f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--isvcs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,8,32")
    parser.add_argument("--ledgers", default="sqlite,memory")
    parser.add_argument("--tick", type=float, default=30.0)
    args = parser.parse_args(argv)
    fleet = Fleet(args.isvcs, 10)
    print(f"Edge storm: {args.isvcs} ISVCs share one stop edge; median of {args.runs} runs")
    print("| ledger | workers | stops | first annotation s | last annotation s | tick s "
          "| API calls |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for ledger in args.ledgers.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            runs = [edge_storm(fleet, workers=workers, ledger=ledger) for _ in range(args.runs)]
            print(_row(ledger, workers, runs))
    placed, rows = wake_storm(fleet, tick=args.tick, workers=8)
    print(f"\nWake storm: {args.isvcs} starts, maxConcurrentStarts 20, tick {args.tick:g} s")
    print("service time | starts | cumulative | tick wall")
    print("\n".join([*rows[:4], "...", *rows[-2:]]))
    print(chart(placed, tick=args.tick))


if __name__ == "__main__":
    main()
