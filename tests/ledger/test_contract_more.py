"""The ledger contract, continued: history filters, holds, restore info, the report."""

from __future__ import annotations

from datetime import datetime

import pytest

from reclaimer.errors import ArgumentInvalid, LedgerError
from reclaimer.ledger import Ledger
from reclaimer.model import Action, Hold, Reason, ServiceRef, Trigger
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition


def _seed(ledger: Ledger) -> None:
    ledger.record_planned(transition(LLAMA, hours=0), strategy="native", actor="r", at=at(0))
    idle = transition(MISTRAL, hours=1, trigger=Trigger.IDLE, reason=Reason.IDLE_TIMEOUT,
                      edge=False)
    ledger.record_planned(idle, strategy="native", actor="r", at=at(1))
    ledger.record_planned(transition(BERT, hours=2), strategy="native", actor="r", at=at(2))
    ledger.record_planned(transition(LLAMA, action=Action.START, hours=3), strategy="native",
                          actor="r", at=at(3))


@pytest.mark.parametrize(("filters", "expected"), [
    pytest.param({}, [("llama", 3), ("bert", 2), ("mistral", 1), ("llama", 0)], id="all"),
    pytest.param({"namespace": "team-a"}, [("llama", 3), ("mistral", 1), ("llama", 0)],
                 id="namespace"),
    pytest.param({"namespace": "team-a", "name": "llama"}, [("llama", 3), ("llama", 0)],
                 id="one-service"),
    pytest.param({"since": at(1)}, [("llama", 3), ("bert", 2), ("mistral", 1)], id="since"),
    pytest.param({"trigger": Trigger.IDLE}, [("mistral", 1)], id="trigger"),
    pytest.param({"limit": 2}, [("llama", 3), ("bert", 2)], id="limit"),
    pytest.param({"namespace": "nobody"}, [], id="no-match"),
])
def test_history_filters_newest_first(ledger: Ledger, filters: dict[str, object],
                                      expected: list[tuple[str, float]]) -> None:
    _seed(ledger)
    found = ledger.history(**filters)  # type: ignore[arg-type]
    assert [(r.transition.ref.name, r.transition.at) for r in found] == [
        (n, at(h)) for n, h in expected]


def test_history_refuses_a_limit_below_one(ledger: Ledger) -> None:
    with pytest.raises(ArgumentInvalid, match="--limit"):
        ledger.history(limit=0)


def test_an_active_hold_is_in_the_view(ledger: Ledger) -> None:
    hold = ledger.hold(LLAMA, until=at(5), reason="demo", who="alice", now=at(0))
    assert hold == Hold(ref=LLAMA, until=at(5), reason="demo", who="alice")
    assert ledger.view(at(1)).holds == {LLAMA: hold}


def test_an_expired_hold_is_not_in_the_view(ledger: Ledger) -> None:
    ledger.hold(LLAMA, until=at(5), reason="demo", who="alice", now=at(0))
    assert ledger.view(at(5)).holds == {}


def test_holding_again_replaces_the_hold(ledger: Ledger) -> None:
    ledger.hold(LLAMA, until=at(5), reason="demo", who="alice", now=at(0))
    ledger.hold(LLAMA, until=at(9), reason="longer", who="bob", now=at(1))
    assert ledger.view(at(6)).holds[LLAMA].who == "bob"


@pytest.mark.parametrize(("until", "reason", "message"), [
    pytest.param(at(-1), "demo", "--until: .* is not after now", id="past"),
    pytest.param(at(0), "demo", "--until: .* is not after now", id="now"),
    pytest.param(at(1), "  ", "--reason: a hold on team-a/llama needs a reason", id="no-reason"),
])
def test_a_bad_hold_is_refused_and_not_written(ledger: Ledger, until: datetime, reason: str,
                                               message: str) -> None:
    with pytest.raises(ArgumentInvalid, match=message):
        ledger.hold(LLAMA, until=until, reason=reason, who="alice", now=at(0))
    assert ledger.view(at(-2)).holds == {}


@pytest.mark.parametrize(("held", "released"), [
    pytest.param(True, True, id="held"),
    pytest.param(False, False, id="not-held"),
])
def test_release_says_whether_there_was_a_hold(ledger: Ledger, held: bool,
                                               released: bool) -> None:
    if held:
        ledger.hold(LLAMA, until=at(5), reason="demo", who="alice", now=at(0))
    assert ledger.release(LLAMA) is released
    assert ledger.view(at(1)).holds == {}


def test_restore_info_round_trips_with_a_version(ledger: Ledger) -> None:
    info = {"deployments": {"llama-predictor": 2}, "autoscalerClass": "hpa"}
    ledger.save_restore_info(LLAMA, "uid-1", info, at=at(0))
    assert ledger.load_restore_info(LLAMA, "uid-1") == {**info, "version": 1}


def test_restore_info_is_per_uid(ledger: Ledger) -> None:
    ledger.save_restore_info(LLAMA, "uid-1", {"replicas": 2}, at=at(0))
    assert ledger.load_restore_info(LLAMA, "uid-2") is None


def test_saving_restore_info_again_replaces_it(ledger: Ledger) -> None:
    ledger.save_restore_info(LLAMA, "uid-1", {"replicas": 2}, at=at(0))
    ledger.save_restore_info(LLAMA, "uid-1", {"replicas": 3}, at=at(1))
    assert ledger.load_restore_info(LLAMA, "uid-1") == {"replicas": 3, "version": 1}


def test_restore_info_must_be_plain_json(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="not plain JSON"):
        ledger.save_restore_info(LLAMA, "uid-1", {"bad": object()}, at=at(0))
    assert ledger.load_restore_info(LLAMA, "uid-1") is None


def _apply(ledger: Ledger, ref: ServiceRef, action: Action, hours: float, *,
           gpus: int | None = 1, policy: str | None = "team-a/office-hours") -> None:
    record = ledger.record_planned(transition(ref, action=action, hours=hours, gpus=gpus,
                                              policy=policy, edge=False),
                                   strategy="native", actor="r", at=at(hours))
    ledger.mark_applied(record.id, at=at(hours))


@pytest.mark.parametrize(("steps", "since", "now", "hours"), [
    pytest.param([("stop", 0, 2), ("start", 3, 2)], 0, 10, {"team-a": 6.0}, id="stop-to-start"),
    pytest.param([("stop", 1, 2)], 0, 4, {"team-a": 6.0}, id="still-stopped-until-now"),
    pytest.param([("stop", -5, 1), ("start", 2, 1)], 0, 4, {"team-a": 2.0},
                 id="stopped-before-since"),
    pytest.param([("stop", 0, None), ("start", 2, None)], 0, 4, {"team-a": 0.0},
                 id="unknown-gpus-count-zero"),
    pytest.param([("stop", 0, 1), ("stop", 1, 1), ("start", 2, 1)], 0, 4, {"team-a": 2.0},
                 id="second-stop-while-stopped"),
    pytest.param([("start", 0, 1)], 0, 4, {}, id="only-a-start"),
])
def test_report_counts_stopped_hours_times_gpus(
        ledger: Ledger, steps: list[tuple[str, float, int | None]], since: float, now: float,
        hours: dict[str, float]) -> None:
    for action, when, gpus in steps:
        _apply(ledger, LLAMA, Action(action), when, gpus=gpus)
    report = ledger.report(since=at(since), now=at(now))
    assert {row.key: row.gpu_hours for row in report.by_namespace} == pytest.approx(hours)


def test_report_groups_by_namespace_and_policy(ledger: Ledger) -> None:
    _apply(ledger, LLAMA, Action.STOP, 0, gpus=1)
    _apply(ledger, MISTRAL, Action.STOP, 0, gpus=2, policy=None)
    _apply(ledger, BERT, Action.STOP, 0, gpus=4, policy="team-b/nights")
    report = ledger.report(since=at(0), now=at(1))
    assert {r.key: r.gpu_hours for r in report.by_namespace} == {"team-a": 3.0, "team-b": 4.0}
    assert {r.key: r.gpu_hours for r in report.by_policy} == {
        "(manual)": 2.0, "team-a/office-hours": 1.0, "team-b/nights": 4.0}
    assert report.total_gpu_hours == 7.0


def test_report_ignores_rows_that_never_took_effect(ledger: Ledger) -> None:
    failed = ledger.record_planned(transition(edge=False), strategy="native", actor="r",
                                   at=at(0))
    ledger.mark_failed(failed.id, at=at(0), error="refused")
    ledger.record_blocked(transition(reason=Reason.HELD, blocked="held", edge=False),
                          actor="r", at=at(0))
    assert ledger.report(since=at(0), now=at(5)).by_namespace == ()
