"""The executor at scale against the sandbox: N stops in one tick; prints figures.

Run from the repository root: ``.venv/bin/python -m benchmarks.executor_bench [--count N]``.
Measures, over the official client and HTTP:

- one tick applying N native stops as the service does (in chunks, PATCH from the
  inventory's watch-cache copy, then an Event each): wall time, API calls;
- the follow-up that verifies all N: API calls (target: 2, whatever N) and wall time;
- the inventory: start-up calls, and snapshot() time for N services (no API calls).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from kubesandbox.world import World
from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import Rest
from reclaimer.ledger import MemoryLedger
from reclaimer.model import Action, Reason, Transition, Trigger

AT = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def _world(count: int) -> World:
    return World.start(scenario={
        "kserve": "0.16", "podTerminationSeconds": 0, "namespaces": ["team-a"],
        "inferenceServices": [{"namespace": "team-a", "name": f"m{i:04d}", "mode": "Standard",
                               "gpus": 1} for i in range(count)]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    count = parser.parse_args().count
    started = time.perf_counter()
    world = _world(count)
    print(f"sandbox with {count} ISVCs ready in {time.perf_counter() - started:.1f} s")
    rest = Rest(api_client_for_host(world.url))
    inventory = Inventory(rest)
    try:
        inventory.start()
        t0 = time.perf_counter()
        services = inventory.snapshot()
        watches = rest.calls.get("WATCH", 0)
        print(f"inventory: {rest.total_calls - watches} calls at start (+{watches} watches); "
              f"snapshot of "
              f"{len(services)} services in {(time.perf_counter() - t0) * 1000:.1f} ms")
        executor = Executor(KubeCluster(rest), MemoryLedger(), actor="bench", cached=inventory)
        transitions = [Transition(ref=s.ref, uid=s.uid, action=Action.STOP,
                                  trigger=Trigger.SCHEDULE, reason=Reason.SCHEDULE_STOP,
                                  policy="team-a/p", at=AT) for s in services]
        _tick(rest, executor, transitions, world)
    finally:
        inventory.stop()
        world.stop()

def _tick(rest: Rest, executor: Executor, transitions: list[Transition], world: World) -> None:
    calls, t0 = rest.total_calls, time.perf_counter()
    outcomes = executor.apply_many(transitions, at=AT)
    took = time.perf_counter() - t0
    applied = sum(o.kind.value == "applied" for o in outcomes)
    print(f"apply: {applied}/{len(transitions)} stops in {took:.2f} s "
          f"({took / len(transitions) * 1000:.1f} ms each, "
          f"{(rest.total_calls - calls) / len(transitions):.1f} API calls each)")
    world.wait_idle(60, terminations=True)
    calls, t0 = rest.total_calls, time.perf_counter()
    verified = executor.followup.run(at=AT)
    print(f"follow-up: {len(verified)} verified with {rest.total_calls - calls} API calls "
          f"in {(time.perf_counter() - t0) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
