"""Transient and permanent errors, and what the executor remembers of them, on the
in-memory cluster (tests/executor/fake_bench.py): the fake raises each HTTP status as
the real adapter does (tests/kube/test_cluster_contract.py).

The same behaviours against the sandbox over HTTP are in test_faults.py,
test_retry_decisions.py and test_permanent_errors.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reclaimer.executor.outcome import ErrorClass, OutcomeKind
from reclaimer.executor.recover import recover
from reclaimer.model import Action
from tests.executor.fake_bench import T0, bench

pytestmark = pytest.mark.timeout(5)
PATCH = ("patch", "inferenceservices")
NEXT_TICK = T0 + timedelta(seconds=30)


@pytest.mark.parametrize(("status", "retry_after", "sleeps"), [
    pytest.param(500, None, [0.5], id="500-backoff"),
    pytest.param(503, None, [0.5], id="503-backoff"),
    pytest.param(429, 2, [2.0], id="429-retry-after"),
])
def test_one_transient_answer_is_retried_inline(status: int, retry_after: int | None,
                                                sleeps: list[float]) -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=status, retry_after=retry_after)
    stopped = b.apply(Action.STOP)
    assert (stopped.kind, b.sleeps, b.cluster.calls[PATCH], b.states()) == (
        OutcomeKind.APPLIED, sleeps, 2, ["applied"])


def test_a_long_retry_after_waits_for_the_next_tick() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=429, retry_after=60)
    stopped = b.apply(Action.STOP)
    assert (stopped.kind, b.sleeps, b.states()) == (OutcomeKind.RETRY, [], ["planned"])


def test_5xx_past_the_inline_budget_keeps_the_row_for_the_next_tick() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=500, times=3)
    first = b.apply(Action.STOP)
    again = b.apply(Action.STOP, at=NEXT_TICK)
    assert (first.kind, first.error, b.sleeps) == (
        OutcomeKind.RETRY, ErrorClass.TRANSIENT, [0.5, 1.0])
    assert (again.kind, again.record_id, b.states()) == (
        OutcomeKind.APPLIED, first.record_id, ["applied"])


def test_a_conflict_is_not_retried_inline() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    first = b.apply(Action.STOP)
    assert (first.kind, b.sleeps, b.cluster.calls[PATCH]) == (OutcomeKind.RETRY, [], 1)


def test_a_conflict_is_retried_next_tick_from_a_fresh_read_on_the_same_row() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    first = b.apply(Action.STOP)
    gets = b.cluster.calls[("get", "inferenceservices")]
    again = b.apply(Action.STOP, at=NEXT_TICK)
    assert (again.kind, again.record_id, b.states()) == (
        OutcomeKind.APPLIED, first.record_id, ["applied"])
    assert b.cluster.calls[("get", "inferenceservices")] - gets == 1


def test_a_kept_edge_is_hidden_from_the_ledger_view_until_settled() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    t = b.transition(Action.STOP)
    b.executor.apply(t, at=T0)
    kept = b.executor.retried_edge_keys()
    b.executor.apply(t, at=NEXT_TICK)
    assert (kept, b.executor.retried_edge_keys()) == (frozenset({t.edge_key}), frozenset())


def test_a_kept_row_whose_decision_is_not_taken_again_is_abandoned() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    b.apply(Action.STOP, edge=False)
    (closed,) = b.executor.settle_retries([], at=NEXT_TICK)
    assert (closed.kind, b.states(), b.executor.retried_record_ids()) == (
        OutcomeKind.ABANDONED, ["abandoned"], frozenset())


def test_a_newer_idle_decision_gets_its_own_row() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    first = b.apply(Action.STOP, edge=False)
    later = b.apply(Action.STOP, at=NEXT_TICK, edge=False)
    assert (later.kind, later.record_id != first.record_id, b.states()) == (
        OutcomeKind.APPLIED, True, ["abandoned", "applied"])


@pytest.mark.parametrize("status", [
    pytest.param(403, id="403-forbidden"),
    pytest.param(422, id="422-invalid"),
    pytest.param(400, id="400-bad-request"),
])
def test_a_permanent_answer_fails_the_decision_once(status: int) -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=status)
    failed = b.apply(Action.STOP)
    assert (failed.kind, failed.error, b.sleeps, b.states()) == (
        OutcomeKind.FAILED, ErrorClass.PERMANENT, [], ["failed"])
    assert b.events() == [("ReclaimFailed", 1)]


def test_a_failed_edge_keeps_its_claim() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=403)
    b.apply(Action.STOP)
    again = b.apply(Action.STOP, at=NEXT_TICK)
    assert (again.kind, b.cluster.calls[PATCH], b.states()) == (
        OutcomeKind.SKIPPED, 1, ["failed"])


def test_a_failed_idle_stop_waits_without_rows_or_events() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=403, times=-1)
    outcomes = [b.apply(Action.STOP, at=T0 + timedelta(seconds=30 * i), edge=False)
                for i in range(10)]
    assert [o.kind for o in outcomes] == [OutcomeKind.FAILED] + [OutcomeKind.SKIPPED] * 9
    assert (b.cluster.calls[PATCH], b.states(), b.events()) == (
        1, ["failed"], [("ReclaimFailed", 1)])


def test_a_failed_idle_stop_is_tried_again_after_the_wait() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=403)
    b.apply(Action.STOP, edge=False)
    later = T0 + b.executor.options.retry_rejected_after
    again = b.apply(Action.STOP, at=later, edge=False)
    assert (again.kind, b.states()) == (OutcomeKind.APPLIED, ["failed", "applied"])


def test_a_refusal_is_lifted_when_its_cause_is_gone() -> None:
    b = bench("0.16", annotations={"serving.kserve.io/disable-auto-update": "true"})
    refused = b.apply(Action.STOP, edge=False)
    b.cluster.patch_isvc(b.transition(Action.STOP).ref, {"metadata": {"annotations": {
        "serving.kserve.io/disable-auto-update": None}}})
    again = b.apply(Action.STOP, at=NEXT_TICK, edge=False)
    assert (refused.kind, refused.error, again.kind) == (
        OutcomeKind.FAILED, ErrorClass.PERMANENT, OutcomeKind.APPLIED)


def test_a_new_term_forgets_what_was_kept_and_rejected() -> None:
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    b.apply(Action.STOP)
    b.executor.begin_term()
    assert (b.executor.retried_record_ids(), b.executor.retried_edge_keys()) == (
        frozenset(), frozenset())


def test_recovery_adopts_an_untouched_edge_row_for_its_next_decision() -> None:
    """A planned row left by a process that died before its PATCH: the next decision
    of the same edge reuses it instead of planning the edge again."""
    b = bench("0.16")
    b.cluster.fail(*PATCH, status=409)
    first = b.apply(Action.STOP)
    b.executor.begin_term()
    (recovered,) = recover(b.executor, at=NEXT_TICK)
    again = b.executor.apply(replace(b.transition(Action.STOP), at=NEXT_TICK), at=NEXT_TICK)
    assert (recovered.kind, again.kind, again.record_id, b.states()) == (
        OutcomeKind.RETRY, OutcomeKind.APPLIED, first.record_id, ["applied"])


def test_recovery_leaves_the_rows_this_process_awaits() -> None:
    b = bench("0.16")
    b.apply(Action.STOP)
    assert (recover(b.executor, at=NEXT_TICK), b.states()) == ([], ["applied"])
