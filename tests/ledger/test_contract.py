"""The ledger contract, run over the in-memory store, SQLite on a file and PostgreSQL 15."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from reclaimer.errors import EdgeAlreadyClaimed, LedgerError
from reclaimer.ledger import Ledger, RecordState
from reclaimer.model import Action, Reason, Trigger
from tests.ledger.builders import BERT, LLAMA, at, transition


def test_planned_row_round_trips_every_field(ledger: Ledger) -> None:
    planned = transition(evidence={"requests": 0, "window": timedelta(minutes=30),
                                   "until": at(1)}, gpus=2)
    record = ledger.record_planned(planned, strategy="native", actor="replica-1", at=at(0.01))
    (stored,) = ledger.history()
    assert stored == record
    assert (stored.state, stored.strategy, stored.actor, stored.transition.gpus) == (
        RecordState.PLANNED, "native", "replica-1", 2)
    assert stored.transition.evidence == {"requests": 0, "window": 1800.0,
                                          "until": at(1).isoformat()}
    assert (stored.transition.at, stored.recorded_at, stored.transition.edge_key) == (
        planned.at, at(0.01), planned.edge_key)


def test_instants_come_back_as_the_same_utc_instant(ledger: Ledger) -> None:
    berlin = at(0).astimezone(timezone(timedelta(hours=1)))
    ledger.record_planned(transition(), strategy="native", actor="r", at=berlin)
    (stored,) = ledger.history()
    assert stored.recorded_at == at(0)
    assert stored.recorded_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("finish", "pending"), [
    pytest.param(None, True, id="planned"),
    pytest.param("applied", True, id="applied-not-verified"),
    pytest.param("verified", False, id="verified"),
    pytest.param("failed", False, id="failed"),
    pytest.param("abandoned", False, id="abandoned"),
])
def test_pending_lists_rows_a_crash_may_have_interrupted(ledger: Ledger, finish: str | None,
                                                         pending: bool) -> None:
    record = ledger.record_planned(transition(), strategy="native", actor="r", at=at(0))
    if finish in ("applied", "verified"):
        ledger.mark_applied(record.id, at=at(0.1))
    if finish == "verified":
        ledger.mark_verified(record.id, at=at(0.2))
    if finish in ("failed", "abandoned"):
        (ledger.mark_failed if finish == "failed" else ledger.mark_abandoned)(
            record.id, at=at(0.1), error="x")
    ledger.record_blocked(transition(hours=1, reason=Reason.HELD, blocked="held"), actor="r",
                          at=at(1))
    assert [r.id for r in ledger.pending()] == ([record.id] if pending else [])


def test_second_claim_of_an_edge_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    ledger.record_planned(transition(), strategy="native", actor="replica-1", at=at(0))
    with pytest.raises(EdgeAlreadyClaimed):
        ledger.record_planned(transition(), strategy="native", actor="replica-2", at=at(0))
    assert [r.actor for r in ledger.history()] == ["replica-1"]


def test_transitions_without_edge_never_conflict(ledger: Ledger) -> None:
    idle = transition(trigger=Trigger.IDLE, reason=Reason.IDLE_TIMEOUT, edge=False)
    ledger.record_planned(idle, strategy="native", actor="r", at=at(0))
    ledger.record_planned(idle, strategy="native", actor="r", at=at(0))
    assert len(ledger.history()) == 2


@pytest.mark.parametrize("give_up", [
    pytest.param("failed", id="failed"),
    pytest.param("abandoned", id="abandoned"),
])
def test_a_failed_or_abandoned_attempt_gives_its_edge_back(ledger: Ledger, give_up: str) -> None:
    first = ledger.record_planned(transition(), strategy="native", actor="r", at=at(0))
    mark = ledger.mark_failed if give_up == "failed" else ledger.mark_abandoned
    mark(first.id, at=at(0.1), error="409 conflict")
    assert transition().edge_key not in ledger.view(at(0.2)).applied_edge_keys
    again = ledger.record_planned(transition(), strategy="native", actor="r", at=at(0.2))
    old = next(r for r in ledger.history() if r.id == first.id)
    assert (old.state.value, old.error, old.ended_at, again.state) == (
        give_up, "409 conflict", at(0.1), RecordState.PLANNED)


def test_applied_then_verified_keeps_both_stamps(ledger: Ledger) -> None:
    record = ledger.record_planned(transition(), strategy="native", actor="r", at=at(0))
    ledger.mark_applied(record.id, at=at(0.1))
    ledger.mark_verified(record.id, at=at(0.2))
    (stored,) = ledger.history()
    assert (stored.state, stored.applied_at, stored.verified_at) == (
        RecordState.VERIFIED, at(0.1), at(0.2))


@pytest.mark.parametrize(("first", "then"), [
    pytest.param("failed", "verified", id="verify-a-failed-one"),
    pytest.param("verified", "applied", id="apply-a-verified-one"),
    pytest.param("abandoned", "failed", id="fail-an-abandoned-one"),
])
def test_moves_out_of_order_are_refused(ledger: Ledger, first: str, then: str) -> None:
    record = ledger.record_planned(transition(), strategy="native", actor="r", at=at(0))
    moves = {"applied": lambda: ledger.mark_applied(record.id, at=at(1)),
             "verified": lambda: ledger.mark_verified(record.id, at=at(1)),
             "failed": lambda: ledger.mark_failed(record.id, at=at(1), error="x"),
             "abandoned": lambda: ledger.mark_abandoned(record.id, at=at(1), error="x")}
    moves[first]()
    with pytest.raises(LedgerError, match=f"cannot become {then}"):
        moves[then]()


def test_moving_an_unknown_row_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="no transition 4242"):
        ledger.mark_applied(4242, at=at(0))


def test_view_has_claimed_edges_within_the_horizon_only(ledger: Ledger) -> None:
    old = transition(hours=0)
    new = transition(hours=24 * 9)
    ledger.record_planned(old, strategy="native", actor="r", at=old.at)
    ledger.record_planned(new, strategy="native", actor="r", at=new.at)
    assert ledger.view(at(24 * 9)).applied_edge_keys == {new.edge_key}


def test_view_has_the_latest_applied_transition_per_service(ledger: Ledger) -> None:
    for ref, action, hours in [(LLAMA, Action.STOP, 0), (LLAMA, Action.START, 2),
                               (BERT, Action.STOP, 1)]:
        record = ledger.record_planned(transition(ref, action=action, hours=hours),
                                       strategy="native", actor="r", at=at(hours))
        ledger.mark_applied(record.id, at=at(hours))
    ledger.record_planned(transition(LLAMA, hours=3), strategy="native", actor="r", at=at(3))
    last = ledger.view(at(4)).last_transitions
    assert {ref: (t.action, t.at) for ref, t in last.items()} == {
        LLAMA: (Action.START, at(2)), BERT: (Action.STOP, at(1))}


def test_a_late_older_transition_does_not_replace_a_newer_fact(ledger: Ledger) -> None:
    older = ledger.record_planned(transition(hours=0), strategy="native", actor="r", at=at(0))
    newer = ledger.record_planned(transition(action=Action.START, hours=1),
                                  strategy="native", actor="r", at=at(1))
    ledger.mark_applied(newer.id, at=at(1))
    ledger.mark_applied(older.id, at=at(1.5))
    assert ledger.view(at(2)).last_transitions[LLAMA].action is Action.START


def test_an_external_change_is_a_fact_for_decide(ledger: Ledger) -> None:
    flip = transition(action=Action.START, trigger=Trigger.EXTERNAL,
                      reason=Reason.EXTERNAL_CHANGE, policy=None, edge=False, hours=1)
    record = ledger.record_external(flip, field_manager="kubectl-annotate", at=at(1.1),
                                    key="llama/start")
    last = ledger.view(at(2)).last_transitions[LLAMA]
    assert (record.state, record.actor, last.trigger, last.at) == (
        RecordState.OBSERVED, "kubectl-annotate", Trigger.EXTERNAL, at(1))


@pytest.mark.parametrize(("reason", "keeps_key"), [
    pytest.param(Reason.MISSED, True, id="missed-claims"),
    pytest.param(Reason.SUPERSEDED, True, id="superseded-claims"),
    pytest.param(Reason.HELD, True, id="held-claims"),
    pytest.param(Reason.DRY_RUN, True, id="dry-run-claims"),
    pytest.param(Reason.DEFERRED_BUSY, False, id="deferred-stays-open"),
    pytest.param(Reason.STAGGERED, False, id="staggered-stays-open"),
])
def test_blocked_entries_are_recorded_and_claim_only_with_an_edge_key(
        ledger: Ledger, reason: Reason, keeps_key: bool) -> None:
    blocked = transition(reason=reason, blocked=reason.value)
    if not keeps_key:
        blocked = replace(blocked, edge_key=None, evidence={"edgeKey": blocked.edge_key})
    record = ledger.record_blocked(blocked, actor="r", at=at(0))
    assert (record.state, record.transition.blocked) == (RecordState.SKIPPED, reason.value)
    claimed = ledger.view(at(0)).applied_edge_keys
    assert claimed == ({blocked.edge_key} if keeps_key else set())
    assert ledger.pending() == []
    assert ledger.view(at(0)).last_transitions == {}


def test_a_blocked_entry_for_a_claimed_edge_is_refused(ledger: Ledger) -> None:
    ledger.record_planned(transition(), strategy="native", actor="r", at=at(0))
    with pytest.raises(EdgeAlreadyClaimed):
        ledger.record_blocked(transition(reason=Reason.MISSED, blocked="missed"),
                              actor="r", at=at(0))


@pytest.mark.parametrize("field", [
    pytest.param("at", id="recorded-at"),
    pytest.param("transition", id="transition-at"),
])
def test_naive_instants_are_refused(ledger: Ledger, field: str) -> None:
    naive = at(0).replace(tzinfo=None)
    planned = replace(transition(), at=naive) if field == "transition" else transition()
    with pytest.raises(LedgerError, match="naive datetime"):
        ledger.record_planned(planned, strategy="native", actor="r",
                              at=naive if field == "at" else at(0))
    assert ledger.history() == []
