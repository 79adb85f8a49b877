"""API faults injected by the sandbox: 409, 429, 5xx, 404, and an API server that is gone."""

from __future__ import annotations

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import MakeHarness, isvc_entry

pytestmark = pytest.mark.integration


def test_conflict_keeps_the_planned_row_and_the_next_tick_reuses_it(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=409)
    first = h.apply(Action.STOP)
    assert (first.kind, h.states()) == (OutcomeKind.RETRY, ["planned"])
    second = h.apply(Action.STOP)
    assert (second.kind, second.record_id) == (OutcomeKind.APPLIED, first.record_id)
    assert h.states() == ["applied"]


def test_conflict_on_a_scheduled_edge_records_the_edge_once(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=409, times=2)
    t = h.transition(Action.STOP, edge_key="team-a/office-hours|uid|19:00|stop")
    kinds = [h.executor.apply(t, at=t.at).kind for _ in range(3)]
    assert kinds == [OutcomeKind.RETRY, OutcomeKind.RETRY, OutcomeKind.APPLIED]
    assert len(h.ledger.history()) == 1


def test_too_many_requests_waits_the_servers_retry_after(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=429, retry_after=3)
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, h.sleeps) == (OutcomeKind.APPLIED, [3.0])
    assert h.handle.request_log.count(verb="patch", resource="inferenceservices") == 2


def test_a_retry_after_beyond_the_budget_is_left_for_a_later_tick(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=429, retry_after=120)
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, h.sleeps, h.states()) == (OutcomeKind.RETRY, [], ["planned"])


def test_server_errors_are_retried_with_exponential_backoff(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=500, times=2)
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, h.sleeps) == (OutcomeKind.APPLIED, [0.5, 1.0])
    assert h.states() == ["applied"]


def test_persistent_server_errors_leave_the_row_planned(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=503, times=3)
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, h.states()) == (OutcomeKind.RETRY, ["planned"])


def test_api_server_down_records_nothing_as_applied(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    t = h.transition(Action.STOP)
    h.handle.world.server.stop()
    outcome = h.executor.apply(t, at=t.at)
    assert outcome.kind is OutcomeKind.RETRY
    assert "unreachable" in outcome.message
    assert h.states() == []


def test_api_server_gone_mid_stop_leaves_only_a_planned_row(make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    h.handle.faults.add("patch", "deployments", status=503, times=3)
    outcome = h.apply(Action.STOP)
    assert (outcome.kind, h.states()) == (OutcomeKind.RETRY, ["planned"])
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    assert h.states() == ["applied"]


def test_a_deleted_isvc_is_skipped_without_a_row(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    t = h.transition(Action.STOP)
    h.rest.request("DELETE", "/apis/serving.kserve.io/v1beta1/namespaces/team-a/"
                   "inferenceservices/llama")
    assert h.executor.apply(t, at=t.at).kind is OutcomeKind.SKIPPED
    assert h.states() == []


def test_verification_waits_a_tick_when_the_list_fails(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.apply(Action.STOP)
    h.settle()
    h.handle.faults.add("list", "inferenceservices", status=500, times=3)
    assert (h.follow_up(), h.states()) == ([], ["applied"])
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_an_edge_claimed_by_another_replica_is_skipped_without_a_write(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    t = h.transition(Action.STOP, edge_key="team-a/office-hours|uid|19:00|stop")
    other = h.ledger.record_planned(t, strategy="native", actor="other-replica", at=t.at)
    h.ledger.mark_applied(other.id, at=t.at)
    h.handle.request_log.clear()
    assert h.executor.apply(t, at=t.at).kind is OutcomeKind.SKIPPED
    assert h.handle.request_log.count(verb="patch") == 0
