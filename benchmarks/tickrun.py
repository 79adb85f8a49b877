"""One fleet, one Prometheus, a run of reconcile ticks, and the figures of each tick.

Shared by ``tick_bench`` and ``growth_bench``. The fleet is spread over namespaces and
governed by policy files, one policy per ``namespaces / policies`` namespaces, four
kinds in turn: office hours deferring busy stops, office hours forcing them, office
hours with an off-hours idle rule, and idle only (30 m); time zones rotate over Berlin,
New York, Sydney and Kolkata. `EDGE` is Monday 2030-04-01 19:00 in Berlin: every
Berlin office-hours policy has a stop edge there, so the last tick is an edge storm
inside a normal tick, while the ticks before it carry only idle stops (at most
``maxStopsPerTick``). Instants lie in 2030 so the sandbox's objects existed before them.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.fleet import Fleet, sandbox
from benchmarks.promdata import prometheus, queries_served
from benchmarks.wiring import STOP_ASKED, DecideClock, Wired, settle, wire, write_policies
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.inventory import Inventory
from reclaimer.model import Action, Reason
from reclaimer.service.loop import TickResult
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings

EDGE = datetime(2030, 4, 1, 17, 0, tzinfo=UTC)
DATA_FROM = EDGE - timedelta(minutes=40)
# The recorded mode uses the rules once they cover the last-request horizon (1 h) and a
# step before the first tick; before that it asks the raw queries.
RECORDED_DATA_FROM = EDGE - timedelta(minutes=75)
RULES_FROM = EDGE - timedelta(minutes=70)
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
OFFICE = ('  timeZone: {zone}\n'
          '  schedule: [{{start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}}]\n')
IDLE = "  idle: {{after: 30m, minUptime: 15m, during: {during}}}\n"


def budget(isvcs: int) -> int:
    """Seconds allowed for an evaluation, and for the cache to catch up: 120 up to 12,000
    ISVCs, then 1 per 100 (50,000 on a loaded 2-core host: the figure is what it takes,
    not whether it fits the service's default timeout)."""
    return max(120, isvcs // 100)


def policy_documents(fleet: Fleet, count: int) -> list[str]:
    per = max(1, fleet.namespaces // count)
    out = []
    for i in range(count):
        names = ", ".join(fleet.namespace(n) for n in range(i * per, (i + 1) * per))
        body = f"  namespaceSelector: {{matchNames: [{names}]}}\n"
        kind, zone = i % 4, ZONES[(i // 4) % len(ZONES)]
        if kind < 3:
            body += OFFICE.format(zone=zone)
            body += "  busyAtStop: defer\n  maxDefer: 1h\n" if kind == 0 else ""
        if kind >= 2:
            body += IDLE.format(during="offHours" if kind == 2 else "always")
        out.append("apiVersion: reclaimer.io/v1alpha1\nkind: ReclaimPolicy\n"
                   f"metadata: {{name: p{i:03d}}}\nspec:\n{body}")
    return out


@dataclass(frozen=True)
class TickFigures:
    label: str
    at: datetime
    stops: int
    starts: int
    blocked: int
    deferred: int
    api_calls: dict[str, int]
    watches_opened: int
    promql_queries: int
    evaluations: int
    unknown_signals: int
    signals_seconds: float
    decide_cpu: float
    wall: float
    rss_mib: float

    @property
    def api_total(self) -> int:
        return sum(self.api_calls.values())


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _applied(result: TickResult, action: Action) -> int:
    return sum(1 for o in result.outcomes
               if o.action is action and o.kind is OutcomeKind.APPLIED)


def _annotated(inventory: Inventory) -> int:
    """Services asked to stop (the annotation is "true"): STOPPING until KServe is done."""
    return sum(1 for s in inventory.snapshot() if s.state in STOP_ASKED)


@dataclass
class Session:
    wired: Wired
    prom_url: str
    clock: DecideClock

    def tick(self, label: str, at: datetime, *,
             around: Callable[[Callable[[], TickResult]], TickResult] | None = None,
             ) -> tuple[TickFigures, TickResult]:
        rest, signals = self.wired.rest, self.wired.signals
        calls, queries = dict(rest.calls), queries_served(self.prom_url)
        fetches, decides = len(signals.seconds), len(self.clock.cpu)
        began = time.perf_counter()
        def run() -> TickResult:
            return self.wired.reconciler.reconcile_once(at)

        result = around(run) if around else run()
        wall = time.perf_counter() - began
        delta = Counter(rest.calls)
        delta.subtract(calls)
        watches = delta.pop("WATCH", 0)
        figures = TickFigures(
            label=label, at=at, stops=_applied(result, Action.STOP),
            starts=_applied(result, Action.START),
            blocked=sum(1 for t in result.plan.transitions if not t.actionable),
            deferred=sum(1 for t in result.plan.transitions
                         if t.reason is Reason.DEFERRED_BUSY),
            api_calls={k: v for k, v in sorted(delta.items()) if v},
            watches_opened=watches, promql_queries=queries_served(self.prom_url) - queries,
            evaluations=len(signals.seconds) - fetches,
            unknown_signals=result.observation.signals.unknown,
            signals_seconds=sum(signals.seconds[fetches:]),
            decide_cpu=sum(self.clock.cpu[decides:]), wall=wall,
            rss_mib=_rss_mib())
        settle(self.wired.inventory, self.stopped_expected(), count=_annotated,
               timeout=budget(len(self.wired.inventory.isvcs.items())))
        return figures, result

    def stopped_expected(self) -> int:
        rest = self.wired.rest
        return len(rest.stop_writes) - len(rest.start_writes) + self.initially_stopped

    initially_stopped: int = 0


def instants(steady: int) -> list[tuple[str, datetime]]:
    """A first tick (catch-up), ``steady`` ticks 30 s apart, then the edge tick."""
    first = EDGE - timedelta(seconds=30 * (steady + 1))
    out = [("first", first)]
    out += [(f"steady-{n}", first + timedelta(seconds=30 * n)) for n in range(1, steady + 1)]
    return [*out, ("edge", EDGE)]


def run_ticks(fleet: Fleet, *, policies: int, steady: int = 3, workers: int = 8,
              around: dict[str, Callable[[Callable[[], TickResult]], TickResult]] | None = None,
              mode: str = "raw") -> tuple[dict[str, Any], list[TickFigures]]:
    """Set everything up, run `instants(steady)`, return set-up facts and per-tick figures.

    ``mode`` is ``prometheus.signals.mode``; ``recorded`` backfills the shipped rules too
    and fails the run if any evaluation fell back to the raw queries.
    """
    setup: dict[str, Any] = {}
    began = time.perf_counter()
    recorded = mode == "recorded"
    fallbacks: list[None] = []
    with tempfile.TemporaryDirectory(prefix="reclaimer-bench-") as tmp, \
            sandbox(fleet) as box, \
            prometheus(fleet, start=RECORDED_DATA_FROM if recorded else DATA_FROM, end=EDGE,
                       rules_from=RULES_FROM if recorded else None) as prom_url:
        setup["setup_seconds"] = time.perf_counter() - began
        setup["sandbox_preload_seconds"] = box.preload_seconds
        write_policies(Path(tmp), policy_documents(fleet, policies))
        settings = PrometheusSettings.from_mapping(
            {"url": prom_url, "timeout": f"{budget(fleet.isvcs)}s", "signals": {"mode": mode}})
        source = PrometheusSignals(settings, on_fallback=lambda: fallbacks.append(None))
        wired = wire(box.url, Path(tmp), signals=source, workers=workers)
        try:
            settle(wired.inventory, fleet.isvcs, timeout=budget(fleet.isvcs))
            setup["inventory_start_calls"] = wired.rest.total_calls
            setup["rss_after_start_mib"] = _rss_mib()
            with DecideClock().installed() as clock:
                session = Session(wired=wired, prom_url=prom_url, clock=clock)
                figures = [session.tick(label, at, around=(around or {}).get(label))[0]
                           for label, at in instants(steady)]
        finally:
            wired.close()
    if fallbacks:
        raise RuntimeError(f"{len(fallbacks)} evaluations fell back to the raw queries")
    return setup, figures


def table(rows: Sequence[TickFigures]) -> str:
    head = ("tick", "stops", "starts", "blocked", "deferred", "API calls", "by verb", "PromQL",
            "evals", "unknown", "signals s", "decide CPU s", "wall s", "RSS MiB")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for f in rows:
        verbs = " ".join(f"{k} {v}" for k, v in f.api_calls.items())
        lines.append(" | ".join(str(x) for x in (
            f.label, f.stops, f.starts, f.blocked, f.deferred, f.api_total, verbs,
            f.promql_queries, f.evaluations, f.unknown_signals, f"{f.signals_seconds:.2f}",
            f"{f.decide_cpu:.3f}", f"{f.wall:.2f}", f"{f.rss_mib:.0f}")))
    return "\n".join(f"| {line} |" for line in lines)
