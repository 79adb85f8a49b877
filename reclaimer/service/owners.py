"""What the owners' API does once a caller is known and allowed (issue 19).

- **snooze**: a hold in the ledger with the caller's name, ending at the asked instant
  cut by the governing policy's ``maxSnooze`` and next start edge
  (`reclaimer.policy.snooze`); an Event ``Snoozed`` on the ISVC; a metric per service.
- **start** / **stop**: a ``manual`` transition through an executor of its own (as the
  CLI's), with the caller as actor and ``{"via": "api"}`` in the evidence; the service's
  holds do not block it (an owner's explicit request is newer than any snooze).
- **status**: state, governing policy, hold, last transition.

The caller's identity comes only from the TokenReview (`reclaimer.kube.reviews`), never
from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter

from reclaimer.errors import LedgerError, NotFound
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.reviews import Caller
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import Action, Policy, Reason, Service, ServiceRef, Transition, Trigger
from reclaimer.policy.snooze import bounded_snooze

SNOOZED = "Snoozed"
VIA = "api"
MAX_REASON = 500  # characters of a snooze's reason kept in the ledger


class Services(Protocol):
    def snapshot(self) -> list[Service]: ...


@dataclass(frozen=True)
class OwnerParts:
    services: Services
    ledger: Ledger
    cluster: KubeCluster
    policy_for: Callable[[Service], Policy | None]
    options: ExecutorOptions
    now: Callable[[], datetime]


class OwnerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.snoozes = Counter(
            "reclaimer_snoozes", "Snoozes asked through the owners' API, per service "
            "(increase over 1d: snoozes per service per day).", ["namespace", "name"],
            registry=registry)
        self.requests = Counter(
            "reclaimer_api_requests", "Owners' API requests by action and HTTP code.",
            ["action", "code"], registry=registry)


class Owners:
    def __init__(self, parts: OwnerParts, metrics: OwnerMetrics) -> None:
        self.parts = parts
        self.metrics = metrics

    def service(self, ref: ServiceRef) -> Service:
        found = next((s for s in self.parts.services.snapshot() if s.ref == ref), None)
        if found is None:
            raise NotFound(f"InferenceService {ref} not found")
        return found

    def writable(self) -> None:
        """A process left on an older release by a rolling upgrade writes nothing into
        a ledger migrated past it (`schema_check.schema_refusal`); the caller gets a
        503 saying so, and the replica of the new release can do it."""
        refusal = self.parts.ledger.schema_refusal()
        if refusal is not None:
            raise LedgerError(f"nothing was changed: {refusal}")

    def snooze(self, ref: ServiceRef, *, until: datetime, reason: str,
               caller: Caller) -> dict[str, Any]:
        self.writable()
        service, now = self.service(ref), self.parts.now()
        bounded = bounded_snooze(until, policy=self.parts.policy_for(service), now=now)
        said = reason[:MAX_REASON] or "no reason given"
        hold = self.parts.ledger.hold(ref, until=bounded.until, who=caller.username,
                                      reason=f"snoozed via {VIA}: {said}", now=now)
        self.metrics.snoozes.labels(namespace=ref.namespace, name=ref.name).inc()
        cut = f" ({bounded.cut})" if bounded.cut else ""
        self.parts.cluster.emit_event(
            ref, service.uid, reason=SNOOZED, warning=False, at=now,
            message=f"snoozed until {hold.until.isoformat()} by {caller.username} via {VIA}{cut}")
        return {"namespace": ref.namespace, "name": ref.name, "until": hold.until.isoformat(),
                "who": hold.who, "reason": hold.reason, "cut": bounded.cut}

    def transition(self, ref: ServiceRef, action: Action, *, caller: Caller) -> dict[str, Any]:
        self.writable()
        service, now = self.service(ref), self.parts.now()
        executor = Executor(self.parts.cluster, self.parts.ledger, actor=caller.username,
                            options=self.parts.options)
        transition = Transition(ref=ref, uid=service.uid, action=action, trigger=Trigger.MANUAL,
                                reason=Reason.MANUAL, policy=None, at=now, gpus=service.gpus,
                                evidence={"via": VIA, "user": caller.username})
        outcome = executor.apply(transition, at=now)
        return {"namespace": ref.namespace, "name": ref.name, "action": action.value,
                "outcome": outcome.kind.value, "message": outcome.message,
                "by": caller.username, "via": VIA}

    def status(self, ref: ServiceRef) -> dict[str, Any]:
        service, now = self.service(ref), self.parts.now()
        view = self.parts.ledger.view(now)
        hold = view.active_hold(ref, now)
        last = view.last_transitions.get(ref)
        policy = self.parts.policy_for(service)
        return {
            "namespace": ref.namespace, "name": ref.name, "state": service.state.value,
            "policy": policy.key if policy else None,
            "hold": None if hold is None else {"until": hold.until.isoformat(),
                                               "who": hold.who, "reason": hold.reason},
            "lastTransition": None if last is None else {
                "action": last.action.value, "trigger": last.trigger.value,
                "at": last.at.isoformat()},
        }
