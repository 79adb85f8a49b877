"""Schedule edges as events: latest unapplied edge, missed, existed-at-edge, superseded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.model import (
    Action,
    DecideSettings,
    LastTransition,
    LedgerView,
    Policy,
    Reason,
    ServiceRef,
    ServiceState,
    Trigger,
    Window,
)
from reclaimer.policy.context import Tick
from reclaimer.policy.edges import DueEdges
from reclaimer.policy.schedule import edges_between
from tests.policy.decide_builders import key, office, only, run, svc, t

REF = ServiceRef("team-a", "llama")
RUNNING, STOPPED = ServiceState.RUNNING, ServiceState.STOPPED
# Reclaimer's own stop the Sunday before: a catch-up start may wake what it stopped.
STOPPED_BY_US = LedgerView(last_transitions={REF: LastTransition(
    ref=REF, action=Action.STOP, trigger=Trigger.SCHEDULE, at=t("01-11 18:00"),
    uid="uid-llama")})


@pytest.mark.parametrize(("now", "state", "action", "reason", "trigger", "edge_at"), [
    pytest.param("01-12 07:00", STOPPED, Action.START, Reason.SCHEDULE_START, Trigger.SCHEDULE,
                 "01-12 07:00", id="start-at-the-edge"),
    pytest.param("01-12 07:04", STOPPED, Action.START, Reason.SCHEDULE_START, Trigger.SCHEDULE,
                 "01-12 07:00", id="start-within-catch-up-after"),
    pytest.param("01-12 18:00", RUNNING, Action.STOP, Reason.SCHEDULE_STOP, Trigger.SCHEDULE,
                 "01-12 18:00", id="stop-at-the-edge"),
    pytest.param("01-12 07:06", STOPPED, Action.START, Reason.CAUGHT_UP, Trigger.CATCH_UP,
                 "01-12 07:00", id="late-start-is-a-catch-up"),
    pytest.param("01-13 02:00", RUNNING, Action.STOP, Reason.CAUGHT_UP, Trigger.CATCH_UP,
                 "01-12 18:00", id="stop-found-after-a-restart"),
    pytest.param("01-17 12:00", RUNNING, Action.STOP, Reason.CAUGHT_UP, Trigger.CATCH_UP,
                 "01-16 18:00", id="weekend-catches-up-friday-stop"),
])
def test_latest_due_edge_is_acted_on(now: str, state: ServiceState, action: Action,
                                     reason: Reason, trigger: Trigger, edge_at: str) -> None:
    service = svc(state=state)
    got = only(run(t(now), [office()], [service], ledger=STOPPED_BY_US))
    assert (got.action, got.reason, got.trigger, got.blocked) == (action, reason, trigger, None)
    assert got.edge_key == key(office(), service, t(edge_at), action)


def test_applied_edge_is_not_decided_again() -> None:
    service = svc(state=STOPPED)
    ledger = LedgerView(applied_edge_keys=frozenset({
        key(office(), service, t("01-12 07:00"), Action.START)}))
    assert run(t("01-12 07:30"), [office()], [service], ledger=ledger).transitions == ()


@pytest.mark.parametrize(("applied", "missed"), [
    pytest.param([], [], id="nothing-applied-is-new-to-reclaimer"),
    pytest.param(["01-12 07:00"], ["01-12 18:00"], id="only-after-the-latest-applied"),
    pytest.param(["01-12 18:00"], [], id="none-after-the-latest-applied"),
])
def test_older_unapplied_edges_are_missed(applied: list[str], missed: list[str]) -> None:
    service = svc(state=STOPPED, created=t("01-12 06:00"))
    actions = {"07:00": Action.START, "18:00": Action.STOP}
    ledger = LedgerView(applied_edge_keys=frozenset(
        key(office(), service, t(a), actions[a[-5:]]) for a in applied))
    plan = run(t("01-13 07:30"), [office()], [service], ledger=ledger)
    assert [(m.reason, m.evidence["edgeAt"], m.blocked is not None) for m in plan.missed] == [
        (Reason.MISSED, t(m).isoformat(), True) for m in missed]
    assert all(m.edge_key is not None for m in plan.missed)


def test_missed_edges_never_make_a_second_transition() -> None:
    service = svc(state=STOPPED)
    applied = frozenset({key(office(), service, t("01-12 07:00"), Action.START)})
    plan = run(t("01-14 07:30"), [office()], [service],
               ledger=LedgerView(applied_edge_keys=applied))
    assert len(plan.transitions) == 1
    assert len(plan.missed) > 1


@pytest.mark.parametrize(("created", "now", "state", "expected"), [
    pytest.param("01-12 06:59", "01-12 07:01", STOPPED, [Action.START],
                 id="created-before-the-edge"),
    pytest.param("01-12 07:00", "01-12 07:01", STOPPED, [Action.START], id="created-at-the-edge"),
    pytest.param("01-12 07:01", "01-12 07:02", STOPPED, [], id="created-after-the-edge"),
    pytest.param("01-12 10:00", "01-12 18:30", RUNNING, [Action.STOP], id="next-edge-applies"),
])
def test_edge_applies_only_to_services_that_existed(created: str, now: str, state: ServiceState,
                                                    expected: list[Action]) -> None:
    plan = run(t(now), [office()], [svc(state=state, created=t(created))])
    assert [tr.action for tr in plan.transitions] == expected


def _observed(action: Action, at: str) -> LedgerView:
    """Someone else's change, as the loop records it: dated when reclaimer observed it."""
    return LedgerView(last_transitions={REF: LastTransition(
        ref=REF, action=action, trigger=Trigger.EXTERNAL, at=t(at), uid="uid-llama")})


@pytest.mark.parametrize(("observed_at", "superseded"), [
    pytest.param("01-12 18:30", True, id="observed-after-the-edge"),
    pytest.param("01-12 17:00", False, id="observed-before-the-edge"),
    pytest.param("01-12 18:00", False, id="observed-at-the-edge"),
])
def test_observed_change_after_edge_supersedes_it(observed_at: str, superseded: bool) -> None:
    service = svc(state=RUNNING)
    got = only(run(t("01-12 18:45"), [office()], [service],
                   ledger=_observed(Action.START, observed_at)))
    assert (got.reason is Reason.SUPERSEDED) is superseded
    assert got.actionable is not superseded
    assert got.edge_key == key(office(), service, t("01-12 18:00"), Action.STOP)


def test_superseded_message_says_when_the_change_was_observed() -> None:
    got = only(run(t("01-12 18:45"), [office()], [svc()],
                   ledger=_observed(Action.START, "01-12 18:30")))
    assert got.blocked is not None and "observed at 2026-01-12T19:30:00+01:00" in got.blocked


@pytest.mark.parametrize("managed_time", [
    pytest.param("01-12 18:20", id="another-annotation-edited-after-the-edge"),
    pytest.param("01-12 18:44", id="edited-just-now"),
])
def test_case4_managed_fields_time_never_supersedes_an_edge(managed_time: str) -> None:
    """``kubectl annotate stop=false`` at 07:30 then ``owner=alice`` at 19:20 moves the
    manager's ``time`` to 19:20; the stop state never changed, so the 19:00 stop stands."""
    service = svc(state=RUNNING, stop_changed_at=t(managed_time), stop_changed_by="kubectl")
    got = only(run(t("01-12 18:45"), [office()], [service]))
    assert (got.action, got.reason, got.blocked) == (Action.STOP, Reason.CAUGHT_UP, None)


@pytest.mark.parametrize(("last_action", "last_at", "uid", "superseded"), [
    pytest.param(Action.START, "01-12 18:30", "uid-llama", True, id="opposite-action-after"),
    pytest.param(Action.START, "01-12 17:30", "uid-llama", False, id="opposite-action-before"),
    pytest.param(Action.STOP, "01-12 18:10", "uid-llama", False, id="same-action-after"),
    pytest.param(Action.START, "01-12 18:30", "uid-old", False, id="another-uid"),
    pytest.param(Action.START, "01-12 18:30", "", True, id="uid-not-recorded"),
])
def test_reclaimer_change_after_edge_supersedes_it(last_action: Action, last_at: str, uid: str,
                                                   superseded: bool) -> None:
    last = LastTransition(ref=REF, action=last_action, trigger=Trigger.MANUAL, at=t(last_at),
                          uid=uid)
    plan = run(t("01-12 18:45"), [office()], [svc()],
               ledger=LedgerView(last_transitions={REF: last}))
    assert (only(plan).reason is Reason.SUPERSEDED) is superseded


@pytest.mark.parametrize(("now", "state", "blocked"), [
    pytest.param("01-12 18:01", STOPPED, "already stopped", id="stop-when-stopped"),
    pytest.param("01-12 18:01", ServiceState.STOPPING, "already stopping", id="stop-when-stopping"),
    pytest.param("01-12 07:01", RUNNING, "already running", id="start-when-running"),
])
def test_satisfied_edge_is_recorded_not_acted(now: str, state: ServiceState, blocked: str) -> None:
    got = only(run(t(now), [office()], [svc(state=state)]))
    assert got.blocked == blocked
    assert got.edge_key is not None


@pytest.mark.parametrize(("now", "state"), [
    pytest.param("01-12 07:01", ServiceState.STOPPING, id="start-waits-for-stopping"),
    pytest.param("01-12 07:01", ServiceState.UNKNOWN, id="unknown-state-start"),
    pytest.param("01-12 18:01", ServiceState.UNKNOWN, id="unknown-state-stop"),
])
def test_edge_waits_while_state_is_unsettled(now: str, state: ServiceState) -> None:
    assert run(t(now), [office()], [svc(state=state)]).transitions == ()


def test_manual_start_is_respected_until_the_next_edge() -> None:
    service = svc(state=RUNNING, stop_changed_by="kubectl")
    applied = LedgerView(applied_edge_keys=frozenset({
        key(office(), service, t("01-12 18:00"), Action.STOP)}),
        last_transitions=_observed(Action.START, "01-12 21:00").last_transitions)
    assert run(t("01-12 23:00"), [office()], [service], ledger=applied).transitions == ()


@pytest.mark.parametrize(("lead", "now", "expected"), [
    pytest.param(timedelta(0), "01-12 06:55", [], id="no-lead-not-yet"),
    pytest.param(timedelta(minutes=10), "01-12 06:49", [], id="before-the-lead"),
    pytest.param(timedelta(minutes=10), "01-12 06:50", [Action.START], id="at-the-lead"),
    pytest.param(timedelta(minutes=10), "01-12 17:55", [], id="stops-never-lead"),
])
def test_start_lead_time(lead: timedelta, now: str, expected: list[Action]) -> None:
    state = RUNNING if now.endswith("17:55") else STOPPED
    service = svc(state=state, created=t("01-12 06:00"))
    started = key(office(), service, t("01-12 07:00"), Action.START)
    ledger = LedgerView(applied_edge_keys=frozenset({started} if state is RUNNING else set()))
    plan = run(t(now), [office()], [service], ledger=ledger,
               settings=DecideSettings(start_lead_time=lead))
    assert [tr.action for tr in plan.transitions] == expected


def test_lead_start_keeps_the_edge_instant_in_its_key() -> None:
    plan = run(t("01-12 06:50"), [office()], [svc(state=STOPPED)],
               settings=DecideSettings(start_lead_time=timedelta(minutes=10)))
    assert only(plan).edge_key == key(office(), svc(), t("01-12 07:00"), Action.START)
    assert only(plan).trigger is Trigger.SCHEDULE


def test_catch_up_horizon_limits_how_far_back_edges_are_found() -> None:
    settings = DecideSettings(catch_up_horizon=timedelta(hours=12))
    plan = run(t("01-17 12:00"), [office()], [svc()], settings=settings)
    assert plan.transitions == ()


NIGHTLY_BERLIN = office(schedule=(Window("30 2 * * *", "0 6 * * *"),))
NIGHTLY_NEW_YORK = office(time_zone="America/New_York",
                          schedule=(Window("30 1 * * *", "0 6 * * *"),))


@pytest.mark.parametrize(("policy", "now", "edge_at", "expected"), [
    pytest.param(NIGHTLY_BERLIN, "03-29 01:00", "03-29 01:00", [Action.START],
                 id="berlin-02:30-in-the-gap-fires-at-03:00-cest"),
    pytest.param(NIGHTLY_BERLIN, "03-29 00:59", None, [], id="berlin-not-before-the-gap-ends"),
    pytest.param(NIGHTLY_NEW_YORK, "11-01 05:30", "11-01 05:30", [Action.START],
                 id="new-york-01:30-fires-at-first-occurrence"),
    pytest.param(NIGHTLY_NEW_YORK, "11-01 06:30", None, [], id="new-york-not-again-an-hour-later"),
])
def test_dst_edges_apply_once_at_the_right_instant(policy: Policy, now: str, edge_at: str | None,
                                                   expected: list[Action]) -> None:
    service = svc(state=STOPPED, created=t(now) - timedelta(hours=10))
    applied = frozenset() if edge_at else frozenset(
        e.key_for(service.uid)
        for e in edges_between(policy, t(now) - timedelta(days=1), t(now) - timedelta(minutes=30)))
    plan = run(t(now), [policy], [service], ledger=LedgerView(applied_edge_keys=applied))
    assert [tr.action for tr in plan.transitions] == expected
    if edge_at:
        assert only(plan).edge_key == key(policy, service, t(edge_at), Action.START)


@pytest.mark.parametrize("uid", [pytest.param("uid-llama", id="plain"),
                                 pytest.param("", id="empty-uid")])
def test_due_edge_keys_are_the_ledger_keys(uid: str) -> None:
    now = t("01-14 12:00")
    edges = edges_between(office(), now - timedelta(days=3), now)
    tick = Tick(now=now, signals={}, ledger=LedgerView(), settings=DecideSettings())
    due = DueEdges.of(edges, tick)
    assert [due.key(i, uid) for i in range(len(edges))] == [e.key_for(uid) for e in edges]
