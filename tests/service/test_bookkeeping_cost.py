"""A tick's metrics find each outcome's trigger by one lookup, not a pass over the plan:
counted, not timed (an edge tick at 50,000 ISVCs has thousands of stops)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.executor.outcome import Outcome, OutcomeKind
from reclaimer.model import Action, LedgerView, Plan, Reason, ServiceRef, Transition, Trigger
from reclaimer.service import bookkeeping
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.observation import Observation
from reclaimer.service.observe import GatheredSignals
from tests.fixtures.counting import count_calls

NOW = datetime(2030, 4, 1, 17, 0, tzinfo=UTC)
STOPS = 200


def _stop(i: int) -> Transition:
    trigger = Trigger.SCHEDULE if i % 2 else Trigger.IDLE
    reason = Reason.SCHEDULE_STOP if i % 2 else Reason.IDLE_TIMEOUT
    return Transition(ref=ServiceRef("team", f"m{i:04d}"), uid=f"u{i}", action=Action.STOP,
                      trigger=trigger, reason=reason, policy="p", at=NOW)


def _applied(t: Transition) -> Outcome:
    """Its own equal ref, as an outcome read back from the ledger would have."""
    return Outcome(ref=ServiceRef(t.ref.namespace, t.ref.name), action=t.action,
                   kind=OutcomeKind.APPLIED, record_id=1, message="applied")


def test_each_outcome_costs_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """200 stops applied: at most one ref comparison each (about 20,000 before)."""
    plan = Plan(transitions=tuple(_stop(i) for i in range(STOPS)))
    outcomes = [_applied(t) for t in reversed(plan.transitions)]
    observation = Observation(services=[], policies=[], invalid=[], cluster_read=None,
                              view=LedgerView(), signals=GatheredSignals({}, 0, 1))
    metrics = ServiceMetrics()
    compared = count_calls(monkeypatch, ServiceRef, "__eq__")
    bookkeeping.update_metrics(metrics, observation, plan, outcomes, elapsed=timedelta(0))
    monkeypatch.undo()
    assert len(compared) <= STOPS
    counted = {trigger: metrics.registry.get_sample_value(
        "reclaimer_transitions_total",
        {"action": "stop", "trigger": trigger, "outcome": "applied"})
        for trigger in ("schedule", "idle")}
    assert counted == {"schedule": STOPS / 2, "idle": STOPS / 2}


def test_the_first_transition_of_a_service_and_action_names_the_trigger() -> None:
    first, second = _stop(1), _stop(2)
    again = Transition(ref=first.ref, uid="u1", action=Action.STOP, trigger=Trigger.IDLE,
                       reason=Reason.IDLE_TIMEOUT, policy="p", at=NOW)
    decided = bookkeeping.decided_triggers(Plan(transitions=(first, second, again)))
    assert decided == {(first.ref, Action.STOP): Trigger.SCHEDULE,
                       (second.ref, Action.STOP): Trigger.IDLE}
