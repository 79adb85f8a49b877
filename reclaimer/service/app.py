"""`reclaimer run`: build every part from the settings, then tick until SIGTERM.

Start-up refuses early and clearly (a bad config, an unreachable or outdated database,
an API server that does not answer) so that a crash-looping pod says why in one line.
On SIGTERM no new chunk of writes starts, the scheduler waits for the tick in flight so
the chunk that started is finished and recorded, and only *then* is the Lease released:
a standby never settles or repeats writes of a leader that is still writing.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from reclaimer.clock import Clock
from reclaimer.config import Settings
from reclaimer.errors import NotFound
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions
from reclaimer.kube.client import load_api_client
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.lease import LeaderElector, lease_settings
from reclaimer.kube.policies import PolicySource
from reclaimer.kube.rest import Rest
from reclaimer.kube.reviews import Reviewer
from reclaimer.kube.scope import Scope
from reclaimer.ledger import open_ledger
from reclaimer.model import DecideSettings
from reclaimer.service.api import ApiServer, OwnersApi
from reclaimer.service.auto_timeouts import AutoTimeouts, PrometheusBusy
from reclaimer.service.http import ProbeServer, Readiness, readiness_of
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.notify import Announcer, Notifier, NotifyMetrics
from reclaimer.service.notify_config import NotifySettings, parse_notify
from reclaimer.service.owners import OwnerMetrics, OwnerParts, Owners
from reclaimer.service.scheduler import AlwaysLeader, Leadership, TickFunction, TickScheduler
from reclaimer.service.term import TermKeeper, WriteGuard
from reclaimer.signals.pace import SlowNotice, slow_evaluations
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings

log = logging.getLogger("reclaimer.service")
# Moved to `http`, beside the /readyz it answers; still read from here.
__all__ = ["readiness_of"]


def identity(settings: Settings) -> str:
    """The pod name in a cluster (downward API), else the host name."""
    return (settings.leader_election.identity or settings.actor or os.environ.get("POD_NAME")
            or socket.gethostname())


def decide_settings(settings: Settings) -> DecideSettings:
    safety = settings.safety
    return DecideSettings(
        max_stops_per_tick=safety.max_stops_per_tick,
        mass_idle_fraction=safety.mass_idle_fraction,
        mass_idle_minimum=safety.mass_idle_minimum,
        max_concurrent_starts=settings.executor.max_concurrent_starts,
        start_lead_time=safety.start_lead_time,
    )


@dataclass
class Service:
    """Everything `reclaimer run` starts, so it can be stopped in reverse order."""

    settings: Settings
    clock: Clock
    metrics: ServiceMetrics
    reconciler: Reconciler
    inventory: Inventory
    policies: PolicySource | None
    leadership: Leadership
    elector: LeaderElector | None
    probes: ProbeServer | None = None
    scheduler: TickScheduler | None = None
    prometheus: PrometheusSignals | None = None
    notifier: Notifier | None = None
    api: ApiServer | None = None
    slow_notice: SlowNotice = field(default_factory=SlowNotice)
    guard: WriteGuard | None = None

    def slow_warning(self) -> str | None:
        """Set while the last evaluations took more than half ``prometheus.timeout``."""
        if self.prometheus is None:
            return None
        return slow_evaluations(self.prometheus.durations,
                                timeout=self.prometheus.settings.timeout)

    def readiness(self) -> Readiness:
        leader = self.leadership.is_leader()
        self.metrics.leader.set(1 if leader else 0)
        last = self.scheduler.last_success if self.scheduler else None
        refusal = self.guard.schema_refusal if self.guard is not None and leader else None
        return readiness_of("leader" if leader else "follower", last, now=self.clock.now(),
                            tick=self.settings.tick, slow=self.slow_warning(),
                            refusal=refusal)


def build(settings: Settings, *, clock: Clock) -> Service:
    prometheus = PrometheusSettings.from_mapping(settings.prometheus)
    notify = parse_notify(settings.notify)
    ledger = open_ledger(settings.database)
    rest = Rest(load_api_client(settings.kubeconfig))
    actor = identity(settings)
    scope = Scope(settings.watch_namespaces)
    inventory = Inventory(rest, kserve_namespace=settings.kserve_namespace, scope=scope)
    inventory.start()
    options = ExecutorOptions.from_settings(settings.executor, default_mode=inventory.mode)
    cluster = KubeCluster(rest, events=EventRecorder(rest, instance=actor), scope=scope)
    executor = Executor(cluster, ledger, actor=actor, options=options, cached=inventory)
    policies = _cluster_policies(rest, scope=scope)
    metrics, signals, notifier = _observers(prometheus, notify)
    parts = LoopParts(inventory=inventory, signals=signals, ledger=ledger,
                      executor=executor, cluster_policies=policies,
                      auto=AutoTimeouts(PrometheusBusy(prometheus), background=True),
                      announcer=Announcer(ledger, cluster, notifier,
                                          api_url=settings.api.external_url))
    elector = _elector(settings, rest, clock=clock, actor=actor)
    service = Service(settings=settings, clock=clock, metrics=metrics,
                      reconciler=_reconciler(settings, parts, actor=actor, metrics=metrics),
                      inventory=inventory, policies=policies,
                      leadership=elector or AlwaysLeader(), elector=elector,
                      prometheus=signals, notifier=notifier)
    return _serve(service, settings, metrics=metrics, rest=rest, cluster=cluster, options=options)


def _observers(prometheus: PrometheusSettings, notify: NotifySettings,
               ) -> tuple[ServiceMetrics, PrometheusSignals, Notifier]:
    """The metrics first: the signals adapter and the notifier count into their registry."""
    metrics = ServiceMetrics()
    signals = PrometheusSignals(prometheus, on_partial=metrics.count_partial_answer,
                                on_fallback=metrics.count_recorded_fallback)
    notifier = Notifier(notify, NotifyMetrics(metrics.registry))
    return metrics, signals, notifier


def _reconciler(settings: Settings, parts: LoopParts, *, actor: str,
                metrics: ServiceMetrics) -> Reconciler:
    """The loop over the parts, with the policy files and limits the settings give it."""
    loop_settings = LoopSettings(policy_paths=tuple(Path(p) for p in settings.policies),
                                 decide=decide_settings(settings), actor=actor)
    return Reconciler(parts, settings=loop_settings, metrics=metrics)


def _serve(service: Service, settings: Settings, *, metrics: ServiceMetrics, rest: Rest,
           cluster: KubeCluster, options: ExecutorOptions) -> Service:
    """Its servers, started by `run`: the probes always, the owners' API when enabled."""
    service.probes = ProbeServer(metrics.registry, service.readiness,
                                 host=settings.http.host, port=settings.http.port)
    if settings.api.enabled:
        service.api = _owners_api(service, rest=rest, cluster=cluster, options=options)
    return service


def _owners_api(service: Service, *, rest: Rest, cluster: KubeCluster,
                options: ExecutorOptions) -> ApiServer:
    """The owners' API (issue 19) on ``api.port``; the caller's rights are Kubernetes'."""
    reconciler = service.reconciler
    owners = Owners(OwnerParts(services=service.inventory, ledger=reconciler.parts.ledger,
                               cluster=cluster, policy_for=reconciler.policy_for,
                               options=options, now=service.clock.now),
                    OwnerMetrics(service.metrics.registry))
    api = service.settings.api
    return ApiServer(OwnersApi(owners, Reviewer(rest)), host=api.host, port=api.port)


def _cluster_policies(rest: Rest, *, scope: Scope) -> PolicySource | None:
    """ReclaimPolicy CRs; without the CRD installed, file policies still work."""
    source = PolicySource(rest, scope=scope)
    try:
        source.start()
    except NotFound:
        log.warning("the ReclaimPolicy CRD is not installed: only policy files are used")
        return None
    return source


def _elector(settings: Settings, rest: Rest, *, clock: Clock, actor: str
             ) -> LeaderElector | None:
    election = settings.leader_election
    if not election.enabled:
        return None
    return LeaderElector(rest, lease_settings(election, pod_name=actor), now=clock.now)


def run(service: Service, *, stop: threading.Event | None = None) -> int:
    """Tick until SIGTERM/SIGINT (or ``stop``); returns the exit code."""
    stop = stop or threading.Event()
    _on_signals(stop)
    if service.probes is not None:
        service.probes.start()
    if service.notifier is not None:
        service.notifier.start()
    if service.api is not None:
        service.api.start()
    renewing = threading.Event()
    threads = _start_election(service, renewing)
    service.scheduler = TickScheduler(_tick_function(service, stopping=stop),
                                      clock=service.clock, tick=service.settings.tick,
                                      leadership=service.leadership)
    service.scheduler.start()
    log.info("reclaimer running", extra={"fields": {"identity": identity(service.settings)}})
    stop.wait()
    log.info("stopping: finishing the chunk in flight")
    service.scheduler.shutdown()
    renewing.set()
    for thread in threads:
        thread.join(timeout=5)
    if service.elector is not None:
        service.elector.release()
    _close(service)
    return 0


def _tick_function(service: Service, *, stopping: threading.Event) -> TickFunction:
    """Each tick: a new term recovers pending rows first (docs/design.md §7), and the executor
    asks the guard before each chunk of writes."""
    guard = WriteGuard(service.leadership, stopping=stopping, budget=_budget(service),
                       metrics=service.metrics,
                       schema=service.reconciler.parts.ledger.schema_refusal)
    service.reconciler.parts.executor.guard = guard
    service.guard = guard
    terms = TermKeeper(service.reconciler, service.leadership,
                       in_flight=_in_flight(service), metrics=service.metrics)

    def tick(now: datetime) -> datetime | None:
        guard.begin_tick()
        terms.before_tick(now)
        try:
            return service.reconciler.reconcile_once(now).next_wake
        finally:
            _say_when_slow(service)
    return tick


def _budget(service: Service) -> float:
    """A tick may start writes for ``leaseDuration − retryPeriod`` seconds, below the
    lease duration: decisions older than that are left for the next tick to make again."""
    if service.elector is None:
        return math.inf
    lease = service.elector.settings
    return lease.lease_duration - lease.retry_period


def _in_flight(service: Service) -> timedelta:
    """How long another process's fresh row may still be in flight: a lease duration."""
    return service.settings.leader_election.lease_duration


def _say_when_slow(service: Service) -> None:
    """Warn from the first tick on when evaluations near the timeout; once per change."""
    said = service.slow_notice.update(service.slow_warning())
    if said is not None:
        log.log(*said)


def _start_election(service: Service, stop: threading.Event) -> list[threading.Thread]:
    if service.elector is None:
        return []
    thread = threading.Thread(target=service.elector.run, args=(stop,), daemon=True,
                              name="reclaimer-lease")
    thread.start()
    return [thread]


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _close(service: Service) -> None:
    service.reconciler.close()
    if service.notifier is not None:
        service.notifier.stop()
    if service.api is not None:
        service.api.stop()
    if service.probes is not None:
        service.probes.stop()
    service.inventory.stop()
    if service.policies is not None:
        service.policies.stop()
    service.reconciler.parts.ledger.close()
