"""The loop's books: metrics, one JSON log line per decision, and CR status figures."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from reclaimer.executor.outcome import Outcome, OutcomeKind
from reclaimer.model import Action, Plan, ServiceRef, ServiceState, Transition, Trigger
from reclaimer.policy.schedule import next_edge
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.observation import Observation

log = logging.getLogger("reclaimer.decisions")
EDGE_TRIGGERS = (Trigger.SCHEDULE, Trigger.CATCH_UP)


def update_metrics(metrics: ServiceMetrics, observation: Observation, plan: Plan,
                   outcomes: Sequence[Outcome], *, elapsed: timedelta) -> None:
    states = Counter(s.state.value for s in observation.services)
    for state in ServiceState:
        metrics.services.labels(state=state.value).set(states.get(state.value, 0))
    metrics.signals_unknown.set(observation.signals.unknown)
    metrics.breaker_open.set(1 if plan.breaker_open else 0)
    metrics.invalid_policies.set(len(observation.invalid))
    reclaimed = _gpus_reclaimed(observation)
    metrics.gpus_reclaimed.set(reclaimed)
    metrics.gpu_hours.inc(reclaimed * elapsed.total_seconds() / 3600)
    decided = decided_triggers(plan)
    for outcome in outcomes:
        trigger = trigger_of(outcome, decided, observation)
        metrics.transitions.labels(action=outcome.action.value, trigger=trigger.value,
                                   outcome=outcome.kind.value).inc()
        if outcome.error is not None:
            metrics.transition_errors.labels(action=outcome.action.value,
                                             **{"class": outcome.error.value}).inc()


def decided_triggers(plan: Plan) -> dict[tuple[ServiceRef, Action], Trigger]:
    """The trigger of the plan's first transition per service and action: one lookup
    per outcome, where a pass over the plan for each was quadratic (an edge tick of
    5,600 stops at 50,000 ISVCs compared about 16 million pairs)."""
    found: dict[tuple[ServiceRef, Action], Trigger] = {}
    for t in plan.transitions:
        found.setdefault((t.ref, t.action), t.trigger)
    return found


def trigger_of(outcome: Outcome, decided: Mapping[tuple[ServiceRef, Action], Trigger],
               observation: Observation) -> Trigger:
    """This tick's decision (``decided``: `decided_triggers` of the plan), else (a
    follow-up of an earlier row: verified, failed) the trigger the ledger recorded for
    the service's latest transition of that action; a leftover `stop --no-wait` is a
    manual stop whoever verifies it."""
    trigger = decided.get((outcome.ref, outcome.action))
    if trigger is not None:
        return trigger
    last = observation.view.last_transitions.get(outcome.ref)
    if last is not None and last.action is outcome.action:
        return last.trigger
    return Trigger.SCHEDULE


def _gpus_reclaimed(observation: Observation) -> int:
    """GPUs of stopped services whose last recorded transition is a stop of ours."""
    last = observation.view.last_transitions
    total = 0
    for service in observation.services:
        record = last.get(service.ref)
        if (service.state is ServiceState.STOPPED and record is not None
                and record.action is Action.STOP and record.trigger is not Trigger.EXTERNAL):
            total += service.gpus or 0
    return total


def observe_lateness(metrics: ServiceMetrics, transition: Transition, outcome: Outcome, *,
                     now: datetime) -> None:
    if transition.trigger in EDGE_TRIGGERS and outcome.kind is OutcomeKind.APPLIED:
        metrics.edge_lateness.observe(max((now - transition.at).total_seconds(), 0.0))


def log_decisions(plan: Plan, outcomes: Sequence[Outcome],
                  recorded: Sequence[Transition]) -> None:
    by_ref = {(o.ref, o.action): o for o in outcomes}
    fresh = {(t.ref, t.action, t.reason) for t in recorded}
    for t in plan.transitions:
        outcome = by_ref.get((t.ref, t.action))
        if outcome is None and (t.ref, t.action, t.reason) not in fresh:
            continue
        log.info("decision", extra={"fields": _fields(t, outcome)})
    for t in plan.missed:
        log.info("decision", extra={"fields": _fields(t, None)})
    for alert in plan.alerts:
        log.warning(alert, extra={"fields": {"alert": True}})


def _fields(t: Transition, outcome: Outcome | None) -> dict[str, Any]:
    return {"service": str(t.ref), "action": t.action.value, "trigger": t.trigger.value,
            "reason": t.reason.value, "policy": t.policy, "at": t.at.isoformat(),
            "blocked": t.blocked, "outcome": outcome.kind.value if outcome else None,
            "detail": outcome.message if outcome else None, "evidence": dict(t.evidence)}


def policy_status(observation: Observation, *, now: datetime
                  ) -> tuple[dict[str, int], dict[str, datetime | None]]:
    matched = Counter(m.policy.key for m in observation.matches)
    next_edges: dict[str, datetime | None] = {}
    for policy in observation.policies:
        edge = next_edge(policy, now)
        next_edges[policy.key] = edge.at if edge is not None else None
    return dict(matched), next_edges
