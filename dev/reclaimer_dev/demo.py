"""`reclaimer demo`: the real loop on a sandbox cluster, replaying the last full week.

The week is in the past (Monday to Monday, Berlin), so the ledger it leaves is history:
`reclaimer report` with the printed `--since`/`--until` reads the same total back.

Everything is the production code path — inventory over HTTP, `decide()`, the executor,
the SQLite ledger — except two stand-ins: the cluster is the sandbox (KServe 0.16
simulator) and traffic comes from `ScriptedSignals`, which implements the same port as
Prometheus. The clock is a `ManualClock` stepped from one instant worth waking for to
the next (and at least every ``STEP``), so a week takes a minute or two, not a week.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from kubesandbox.world import World
from reclaimer.cli import ledger_args
from reclaimer.clock import ManualClock, clock_from_env
from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.ledger.store import SqlLedger
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler, TickResult
from reclaimer.signals.scripted import ScriptedSignals
from reclaimer_dev import demo_args, demo_world
from reclaimer_dev.demo_print import Printer
from reclaimer_dev.demo_report import print_reproduce, print_summary, write_picture

STEP = timedelta(minutes=15)
MAX_DAYS = 92
POLICIES = Path(__file__).resolve().parents[2] / "policies"
ScriptedEvent = Callable[["Demo", datetime], None]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="run the whole loop on a sandbox cluster "
                                   "over the last full week and print what happens")
    parser.add_argument("--out", type=Path, default=Path("demo-out"),
                        help="where the ledger and the report picture go")
    parser.add_argument("--policies", type=Path, default=POLICIES,
                        help="policy files or a directory (default: the bundled examples)")
    parser.add_argument("--days", default="7", help=f"how long to simulate, 1 to {MAX_DAYS} "
                        "(ending on the last Monday, so the ledger is history)")
    parser.add_argument("--tz", metavar="ZONE", help="show every time in this IANA zone "
                        "(default: each service's policy zone)")
    parser.set_defaults(handler=_run)


@dataclass
class Demo:
    world: World
    inventory: Inventory
    reconciler: Reconciler
    ledger: SqlLedger
    clock: ManualClock
    rest: Rest
    out: TextIO
    printer: Printer


def _run(args: argparse.Namespace) -> int:
    days = demo_args.days(args.days, maximum=MAX_DAYS)
    demo_args.check_policies(args.policies)
    demo_args.make_out_dir(args.out)
    start = demo_world.week_start(clock_from_env(os.environ).now(), days=days)
    end = start + timedelta(days=days)
    demo = _build(args.out, args.policies, start, zone=ledger_args.zone(args.tz))
    try:
        _header(demo, args.policies, start=start, end=end)
        _simulate(demo, start=start, end=end)
        report = demo.ledger.report(since=start, now=end)
        print_summary(report, out=demo.out)
        write_picture(report, args.out / "reclaimed.png", out=demo.out)
        print_reproduce(args.out / "demo.db", since=start, until=end, out=demo.out)
    finally:
        demo.reconciler.close()
        demo.inventory.stop()
        demo.ledger.close()
        demo.world.stop()
    return 0


def _build(out_dir: Path, policies: Path, start: datetime, *, zone: ZoneInfo | None) -> Demo:
    database = f"sqlite:///{out_dir.resolve() / 'demo.db'}"
    (out_dir / "demo.db").unlink(missing_ok=True)
    upgrade(parse_url(database))
    ledger = open_ledger(database)
    clock = ManualClock(start)
    world = World.start(port=0, scenario=demo_world.scenario(), clock=clock.now)
    rest = Rest(api_client_for_host(world.url))
    inventory = Inventory(rest)
    inventory.start()
    executor = Executor(KubeCluster(rest, events=EventRecorder(rest, instance="demo")), ledger,
                        actor="reclaimer-demo")
    signals = ScriptedSignals(demo_world.traffic(start))
    parts = LoopParts(inventory=inventory, signals=signals, ledger=ledger, executor=executor)
    reconciler = Reconciler(parts, settings=LoopSettings(policy_paths=(policies,),
                                                         actor="reclaimer-demo"))
    return Demo(world=world, inventory=inventory, reconciler=reconciler, ledger=ledger,
                clock=clock, rest=rest, out=sys.stdout, printer=Printer(sys.stdout, fixed=zone))


def _header(demo: Demo, policies: Path, *, start: datetime, end: datetime) -> None:
    print(f"reclaimer demo: sandbox cluster at {demo.world.url} (KServe 0.16 simulator),\n"
          f"policies from {policies}, replaying {start:%a %Y-%m-%d %H:%M} to "
          f"{end:%a %Y-%m-%d %H:%M %Z} (Berlin) on a fast clock.\n", file=demo.out)


def _simulate(demo: Demo, *, start: datetime, end: datetime) -> None:
    now = start
    events = _scripted_events(start)
    while now < end:
        due = [e for e in events if e[0] <= now]
        for event in due:
            events.remove(event)
            event[1](demo, now)
        if due:
            # What a scripted person did is in the tick at their instant, not left to
            # whether the inventory's watch delivered it before the tick read it.
            _settle(demo)
        result = demo.reconciler.reconcile_once(now)
        demo.printer.tick(result)
        _settle(demo)
        now = _next(now, result, events=[e[0] for e in events])
        demo.clock.set(now)


def _settle(demo: Demo) -> None:
    """The simulator done with every write so far, the inventory re-listed after it."""
    demo.world.wait_idle(terminations=True)
    demo.inventory.resync()


def _next(now: datetime, result: TickResult, *, events: list[datetime]) -> datetime:
    candidates = [now + STEP, *(e for e in events if e > now)]
    if result.next_wake is not None and result.next_wake > now:
        candidates.append(result.next_wake)
    return min(candidates)


def _scripted_events(start: datetime) -> list[tuple[datetime, ScriptedEvent]]:
    ref, since, until, reason = demo_world.HOLD
    whisper, manual_at = demo_world.MANUAL_START

    def hold(demo: Demo, now: datetime) -> None:
        demo.ledger.hold(ref, until=start + until, reason=reason, who="alice@ops", now=now)
        demo.printer.line(now, ref, f"HOLD    {ref!s:<18} until "
                          f"{demo.printer.when(start + until, ref)}: {reason}")

    def manual_start(demo: Demo, now: datetime) -> None:
        person = Rest(demo.rest.api_client, field_manager="kubectl-annotate")
        patch = {"metadata": {"annotations": {"serving.kserve.io/stop": "false"}}}
        person.merge_patch(ISVC, whisper.namespace, whisper.name, patch)
        demo.printer.line(now, whisper, f"PERSON  {whisper!s:<18} started by hand: kubectl "
                          "annotate serving.kserve.io/stop=false --overwrite")

    return [(start + since, hold), (start + manual_at, manual_start)]
