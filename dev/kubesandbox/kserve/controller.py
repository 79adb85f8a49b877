"""The simulator: one thread that turns store events into reconciles, like a manager
running the KServe, Knative and kube controllers side by side.

Events become keys ``(kind, namespace, name)`` in a de-duplicating queue; a child's
event also queues its controlling owner (KServe ``Owns`` its children, so a deleted
child is back after the owner's next reconcile unless the ISVC is stopped).
``wait_idle`` is the test barrier: it returns once every event up to now, and every
event those reconciles caused, has been handled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from kubesandbox.kserve import events, status
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.gpus import GpuPools
from kubesandbox.kserve.graph_controller import GraphController
from kubesandbox.kserve.knative_controller import (
    SCALE_TO_ZERO_GRACE,
    STABLE_WINDOW,
    KnativeController,
)
from kubesandbox.kserve.kserve_controller import KServeController
from kubesandbox.kserve.llm_controller import LlmController
from kubesandbox.kserve.runtime_controller import RuntimeController
from kubesandbox.kserve.settings import SimulatorSettings
from kubesandbox.kserve.webhook import IsvcWebhook
from kubesandbox.kserve.workloads import WorkloadController
from kubesandbox.store import ApiError, Store, Subscription, WatchEvent

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Key = tuple[str, str, str]

MAX_CONFLICT_RETRIES = 20
IDLE = "idle"
"""Timer action: the KPA's scale to zero of a Ready revision with min-scale 0."""


class SimulatorIdleTimeout(TimeoutError):
    """``wait_idle`` gave up: the simulator kept working (or is stuck) past the timeout."""


class Simulator:
    def __init__(self, store: Store, settings: SimulatorSettings) -> None:
        self.store = store
        self.settings = settings
        self.api = SimApi(store)
        self.kserve = KServeController(self.api, settings)
        self.webhook = IsvcWebhook(settings)
        self.graphs = GraphController(self.api, settings)
        self.runtimes = RuntimeController(self.api, settings)
        self.llm = LlmController(self.api) if settings.llm else None
        self.knative = KnativeController(
            self.api, idle=self._schedule_idle,
            idle_seconds=(0.0 if settings.pod_termination_seconds is not None else
                          (STABLE_WINDOW + SCALE_TO_ZERO_GRACE) * settings.time_scale))
        self.workloads = WorkloadController(
            self.api, start_seconds=settings.pod_start_seconds,
            termination_seconds=settings.pod_termination_seconds,
            keda_load={(ns, name): load for ns, name, load in settings.keda_load},
            time_scale=settings.time_scale,
            start_by_isvc={(ns, name): sec for ns, name, sec in settings.start_seconds},
            gpus=GpuPools(dict(settings.gpu_capacity),
                          {(ns, name): pool for ns, name, pool in settings.node_pools}))
        self.errors: list[str] = []
        self.reconciles = 0
        self._pending: OrderedDict[Key, int] = OrderedDict()
        self._cond = threading.Condition()
        self._busy = False
        self._seen_rv = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sub: Subscription | None = None

    def start(self) -> None:
        self._sub = self.store.subscribe()
        self.store.admission.append(self.webhook)
        self._prime()
        self._thread = threading.Thread(target=self._run, name="kserve-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Closing the subscription first wakes the thread at once."""
        self._stopping.set()
        if self.webhook in self.store.admission:
            self.store.admission.remove(self.webhook)
        if self._sub is not None:
            self._sub.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _schedule_idle(self, namespace: str, deployment: str, delay: float) -> None:
        self.workloads.timers.schedule(IDLE, namespace, deployment, delay)

    def _prime(self) -> None:
        for pod in self.api.list("pod", None):
            self.workloads.observe_pod(pod, deleted=False)
        for kind in ("isvc", "ig", "llmisvc", "ksvc", "deployment", "servingruntime"):
            for obj in self.api.list(kind, None):
                self._enqueue((kind, obj["metadata"]["namespace"], obj["metadata"]["name"]))

    def _enqueue(self, key: Key, attempt: int = 0) -> None:
        with self._cond:
            self._pending.setdefault(key, attempt)

    def _run(self) -> None:
        sub = self._sub
        assert sub is not None
        status.CLOCK.set(self.store.clock)
        while not self._stopping.is_set():
            self._drain(sub, timeout=self._idle_wait())
            with self._cond:
                due = self.workloads.timers.pop_due()
                item = self._pending.popitem(last=False) if self._pending else None
                self._busy = bool(due) or item is not None
            for action, namespace, name in due:
                self._guarded((f"pod:{action}", namespace, name), 0)
            if item is not None:
                self._guarded(*item)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _idle_wait(self) -> float:
        if self._pending:
            return 0.0
        due = self.workloads.timers.seconds_to_next()
        return 0.05 if due is None else min(0.05, due)

    def _drain(self, sub: Subscription, *, timeout: float) -> None:
        event = sub.get_shared(timeout)
        for _ in range(10_000):
            if event is None:
                return
            self._handle_event(event)
            event = sub.get_shared(0)

    def _handle_event(self, event: WatchEvent) -> None:
        kind = events.kind_of(self.api, event.rtype)
        for key in events.keys_for(kind, event.type, event.object, workloads=self.workloads):
            self._enqueue(key)
        with self._cond:
            self._seen_rv = max(self._seen_rv, _rv(event.resource_version))

    def _guarded(self, key: Key, attempt: int) -> None:
        try:
            self._reconcile(key)
        except ApiError as exc:
            if exc.code == 409 and attempt < MAX_CONFLICT_RETRIES:
                self._enqueue(key, attempt + 1)
            elif exc.code != 404:
                self._record(key, exc)
        except Exception as exc:  # a bug must not kill the simulated cluster
            self._record(key, exc)

    def _record(self, key: Key, exc: BaseException) -> None:
        log.exception("simulator reconcile of %s failed", key)
        self.errors.append(f"{key}: {type(exc).__name__}: {exc}")

    def _reconcile(self, key: Key) -> None:
        kind, namespace, name = key
        self.reconciles += 1
        if kind == "isvc":
            self.kserve.reconcile(namespace, name)
            self.runtimes.for_isvc(namespace, name)
        elif kind == "servingruntime":
            self.runtimes.reconcile(namespace, name)
        elif kind == "ksvc":
            self.knative.reconcile(namespace, name)
        elif kind == "ig":
            self.graphs.reconcile(namespace, name)
        elif kind == "llmisvc" and self.llm is not None:
            self.llm.reconcile(namespace, name)
        elif kind == "deployment":
            self.workloads.reconcile(namespace, name)
        elif kind == f"pod:{IDLE}":
            self.knative.scale_to_zero(namespace, name)
        elif kind.startswith("pod:"):
            self.workloads.fire(kind.removeprefix("pod:"), namespace, name)

    def wait_idle(self, timeout: float = 10.0, *, terminations: bool = False) -> None:
        """Block until all events so far and their consequences are handled.

        With ``terminations``, also until every pod timer has fired: Terminating pods
        gone (``podTerminationSeconds``), starting pods Ready (``podStartSeconds``).
        Raises SimulatorIdleTimeout.
        """
        deadline = time.monotonic() + timeout
        target = self.store_revision()
        while True:
            with self._cond:
                while not self._settled(target, terminations=terminations):
                    if time.monotonic() > deadline:
                        raise SimulatorIdleTimeout(self._busy_report(timeout, target))
                    self._cond.wait(0.02)
            latest = self.store_revision()
            if latest == target:
                return
            target = latest

    def _settled(self, target: int, *, terminations: bool) -> bool:
        return (self._seen_rv >= target and not self._pending and not self._busy
                and not (terminations and len(self.workloads.timers)))

    def _busy_report(self, timeout: float, target: int) -> str:
        return (f"simulator busy after {timeout}s: {len(self._pending)} queued, "
                f"{len(self.workloads.timers)} pods starting or terminating, events seen up to "
                f"{self._seen_rv} of {target}; recent errors: {self.errors[-3:]}")

    def store_revision(self) -> int:
        """The store's newest resourceVersion: every event up to it is queued for us."""
        return self.store.resource_version


def _rv(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
