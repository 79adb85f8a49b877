"""The work behind `reclaimer stop/start`: checks, the executor, the wait.

Imported only when one of those verbs runs, so `reclaimer --help` does not load the
Kubernetes client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from reclaimer.errors import ArgumentInvalid
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, Outcome, OutcomeKind
from reclaimer.executor.strategy import Strategy, parse_strategy
from reclaimer.executor.wait import wait_verified
from reclaimer.kserve import KINDS
from reclaimer.kube.client import load_api_client
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import default_mode
from reclaimer.kube.isvc import gpus_of
from reclaimer.kube.kserve_version import controller_version
from reclaimer.kube.rest import POD, Rest
from reclaimer.kube.scope import Scope
from reclaimer.kube.trim import keep_pod
from reclaimer.ledger import Ledger, open_ledger
from reclaimer.ledger.records import WAIT_KEY
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger


class Progress(Protocol):
    def __call__(self, what: str, elapsed: timedelta, *, done: bool = False) -> None: ...


@dataclass(frozen=True)
class Request:
    ref: ServiceRef
    action: Action
    actor: str
    kubeconfig: str | None
    database: str
    strategy: str
    kserve_namespace: str
    timeout: timedelta
    wait: bool
    ignore_hold: bool


def carry_out(request: Request, *, now: Callable[[], datetime],
              progress: Progress | None) -> Outcome:
    """Plan, apply and (unless ``--no-wait``) verify one manual transition."""
    strategy = parse_strategy(request.strategy)
    rest = Rest(load_api_client(request.kubeconfig))
    # Verification LISTs only the service's namespace: inside the pod, with the chart's
    # watchNamespaces Roles, a cluster-wide LIST would be forbidden.
    cluster = KubeCluster(rest, events=EventRecorder(rest, instance=request.actor),
                          scope=Scope((request.ref.namespace,)))
    ledger = open_ledger(request.database)
    try:
        _refuse_held(ledger, request, at=now())
        obj = cluster.get_isvc(request.ref)
        executor = _executor(rest, cluster, ledger=ledger, request=request, strategy=strategy)
        started = now()
        transition = Transition(ref=request.ref, uid=str(obj["metadata"].get("uid", "")),
                                action=request.action, trigger=Trigger.MANUAL,
                                reason=Reason.MANUAL, policy=None, at=started,
                                gpus=gpus_freed(rest, request.ref, obj),
                                evidence=_evidence(request))
        outcome = executor.apply(transition, at=started)
        if outcome.kind is OutcomeKind.APPLIED and request.wait:
            outcome = _wait(executor, outcome, request, now=now, progress=progress)
    finally:
        ledger.close()
    return outcome


def _executor(rest: Rest, cluster: KubeCluster, *, ledger: Ledger, request: Request,
              strategy: Strategy) -> Executor:
    """An executor for this one transition, with the cluster's default deployment mode
    and KServe version read from KServe's namespace, as the service's inventory does."""
    options = ExecutorOptions(strategy=strategy, verify_timeout=request.timeout,
                              default_mode=default_mode(rest,
                                                        namespace=request.kserve_namespace))
    executor = Executor(cluster, ledger, actor=request.actor, options=options)
    # What KServe's stop covers depends on its version (strategy.native_kind).
    executor.detected_version = controller_version(rest,
                                                   namespace=request.kserve_namespace)
    return executor


def _evidence(request: Request) -> dict[str, Any]:
    """How long this process verifies the row itself: the service's recovery leaves
    it alone that long (and settles it after, should this process die)."""
    wait = int(request.timeout.total_seconds()) if request.wait else 0
    return {"via": "cli", WAIT_KEY: wait} if wait > 0 else {"via": "cli"}


def _refuse_held(ledger: Ledger, request: Request, *, at: datetime) -> None:
    hold = ledger.view(at).active_hold(request.ref, at)
    if hold is not None and not request.ignore_hold:
        raise ArgumentInvalid(
            f"{request.ref} is held until {hold.until.isoformat(timespec='seconds')} by "
            f"{hold.who} ({hold.reason}); `reclaimer release {request.ref}` first, or pass "
            "--ignore-hold")


def gpus_freed(rest: Rest, ref: ServiceRef, obj: dict[str, Any]) -> int | None:
    """GPUs its live pods request; the spec's count when no pod runs (a stopped ISVC).
    Pods are found by the kind's own labels (an LLMInferenceService's carry its name in
    ``app.kubernetes.io/name``; only its workload pods request GPUs)."""
    info = KINDS[ref.kind]
    selector = f"{info.pod_selector},{info.pod_owner}={ref.name}"
    running = 0
    for pod in rest.list_items(POD, namespace=ref.namespace, label_selector=selector):
        share = keep_pod(pod, ref.kind)
        if share is not None and share[0] == ref:
            running += share[1]
    return running or gpus_of(obj)


def _wait(executor: Executor, outcome: Outcome, request: Request, *,
          now: Callable[[], datetime], progress: Progress | None) -> Outcome:
    what = ("pods gone and Stopped=True" if request.action is Action.STOP
            else "Ready=True")
    began = time.monotonic()

    def tick(seconds: float) -> None:
        time.sleep(seconds)
        if progress is not None:
            progress(f"{request.action.value} {request.ref}: waiting for {what}",
                     timedelta(seconds=time.monotonic() - began))

    final = wait_verified(executor, outcome, now=now,
                          timeout=request.timeout.total_seconds(), sleep=tick)
    if progress is not None:
        progress(f"{request.action.value} {request.ref}: {final.kind.value}",
                 timedelta(seconds=time.monotonic() - began), done=True)
    return final
