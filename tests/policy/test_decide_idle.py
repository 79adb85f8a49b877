"""Idle stops in decide(): running, idle for the whole window, up for minUptime, off hours."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.model import (
    Action,
    DecideSettings,
    IdleDuring,
    IdleRule,
    LastTransition,
    LedgerView,
    Reason,
    Service,
    ServiceState,
    Signals,
    Trigger,
)
from reclaimer.policy.decide import decide
from tests.policy.decide_builders import busy, idle_only, key, office, only, quiet, run, svc, t

NOW = t("01-12 22:00")
SERVICE = svc()
RULE = IdleRule(after=timedelta(minutes=30), min_uptime=timedelta(minutes=15))
OFF_HOURS = office(idle=IdleRule(after=timedelta(minutes=30), during=IdleDuring.OFF_HOURS))


def test_idle_service_is_stopped_with_evidence() -> None:
    got = only(run(NOW, [idle_only()], [SERVICE], signals=[quiet(SERVICE, NOW)]))
    assert (got.action, got.trigger, got.reason, got.blocked, got.edge_key) == (
        Action.STOP, Trigger.IDLE, Reason.IDLE_TIMEOUT, None, None)
    assert got.evidence["requests"] == 0.0
    assert got.evidence["uptimeSeconds"] > 900


@pytest.mark.parametrize("signals", [
    pytest.param([], id="no-signals"),
    pytest.param([Signals.unknown(SERVICE.ref, at=NOW, window=timedelta(minutes=30),
                                  reason="down")], id="unknown"),
    pytest.param([quiet(SERVICE, NOW, coverage_seconds=900.0)], id="partial"),
    pytest.param([quiet(SERVICE, NOW - timedelta(minutes=10))], id="stale"),
    pytest.param([busy(SERVICE, NOW)], id="busy"),
])
def test_no_idle_stop_without_idle_evidence(signals: list[Signals]) -> None:
    assert run(NOW, [idle_only()], [SERVICE], signals=signals).transitions == ()


@pytest.mark.parametrize("state", [
    pytest.param(ServiceState.STOPPED, id="stopped"),
    pytest.param(ServiceState.STOPPING, id="stopping"),
    pytest.param(ServiceState.UNKNOWN, id="unknown"),
])
def test_only_running_services_are_idle_stopped(state: ServiceState) -> None:
    service = svc(state=state)
    assert run(NOW, [idle_only()], [service], signals=[quiet(service, NOW)]).transitions == ()


def test_policy_without_idle_rule_never_idle_stops() -> None:
    policy = idle_only(idle=None)
    assert run(NOW, [policy], [SERVICE], signals=[quiet(SERVICE, NOW)]).transitions == ()


@pytest.mark.parametrize(("service", "ledger", "stopped"), [
    pytest.param(svc(created=t("01-12 21:50")), LedgerView(), False, id="created-10m-ago"),
    pytest.param(svc(created=t("01-12 21:45")), LedgerView(), False,
                 id="created-15m-ago-idle-window-reaches-before-it"),
    pytest.param(svc(created=t("01-12 21:30")), LedgerView(), True, id="created-30m-ago"),
    pytest.param(SERVICE, LedgerView(last_transitions={SERVICE.ref: LastTransition(
        ref=SERVICE.ref, action=Action.START, trigger=Trigger.EXTERNAL, at=t("01-12 21:50"))}),
        False, id="started-by-someone-observed-10m-ago"),
    pytest.param(svc(stop_changed_at=t("01-12 21:50")), LedgerView(), True,
                 id="case4-managed-fields-time-is-not-a-start"),
    pytest.param(SERVICE, LedgerView(last_transitions={SERVICE.ref: LastTransition(
        ref=SERVICE.ref, action=Action.START, trigger=Trigger.SCHEDULE, at=t("01-12 21:55"))}),
        False, id="reclaimer-started-5m-ago"),
    pytest.param(SERVICE, LedgerView(last_transitions={SERVICE.ref: LastTransition(
        ref=SERVICE.ref, action=Action.START, trigger=Trigger.SCHEDULE, at=t("01-12 21:55"),
        uid="uid-other")}), True, id="start-of-another-uid-ignored"),
])
def test_min_uptime(service: Service, ledger: LedgerView, stopped: bool) -> None:
    plan = run(NOW, [idle_only()], [service], signals=[quiet(service, NOW)], ledger=ledger)
    assert len(plan.transitions) == int(stopped)


def test_min_uptime_end_is_a_wake_instant() -> None:
    service = svc(created=t("01-12 21:50"))
    plan = run(NOW, [idle_only()], [service], signals=[quiet(service, NOW)])
    assert plan.next_wake == t("01-12 22:05")


def test_busy_service_wakes_when_it_could_first_be_idle() -> None:
    plan = run(NOW, [idle_only()], [SERVICE], signals=[busy(SERVICE, NOW, since=600.0)])
    assert plan.next_wake == t("01-12 22:20")


@pytest.mark.parametrize(("now", "stopped"), [
    pytest.param("01-12 12:00", False, id="inside-the-window"),
    pytest.param("01-12 22:00", True, id="outside-the-window"),
    pytest.param("01-17 12:00", True, id="weekend"),
])
def test_off_hours_idle_only_outside_windows(now: str, stopped: bool) -> None:
    service = svc(stop_changed_at=t("01-12 07:00"))
    applied = {key(OFF_HOURS, service, t(edge), action) for edge, action in [
        ("01-12 07:00", Action.START), ("01-12 18:00", Action.STOP), ("01-16 18:00", Action.STOP)]}
    plan = run(t(now), [OFF_HOURS], [service], signals=[quiet(service, t(now))],
               ledger=LedgerView(applied_edge_keys=frozenset(applied)))
    assert [tr.trigger for tr in plan.transitions] == ([Trigger.IDLE] if stopped else [])


def test_off_hours_without_schedule_is_always_off_hours() -> None:
    policy = idle_only(idle=IdleRule(after=timedelta(minutes=30), during=IdleDuring.OFF_HOURS))
    plan = run(NOW, [policy], [SERVICE], signals=[quiet(SERVICE, NOW)])
    assert only(plan).trigger is Trigger.IDLE


def test_pending_edge_wins_over_idle_stop() -> None:
    service = svc(created=t("01-12 06:00"))
    plan = run(t("01-12 18:01"), [office(idle=RULE)], [service],
               signals=[quiet(service, t("01-12 18:01"))])
    assert only(plan).trigger is Trigger.SCHEDULE


@pytest.mark.parametrize(("windows", "stopped"), [
    pytest.param(None, False, id="computed-open-at-10:00"),
    pytest.param({"team-a/office": True}, False, id="given-open"),
    pytest.param({"team-a/office": False}, True, id="given-closed-is-believed"),
    pytest.param({"other/policy": False}, False, id="another-policy-given-this-one-computed"),
])
def test_window_state_given_by_the_caller(windows: dict[str, bool | None] | None,
                                          stopped: bool) -> None:
    """The backtest passes each offHours policy's window, which it keeps between edges."""
    service = svc(stop_changed_at=t("01-12 07:00"))
    applied = {key(OFF_HOURS, service, t("01-12 07:00"), Action.START)}
    plan = decide(t("01-12 10:00"), [OFF_HOURS], [service],
                  signals={service.ref: quiet(service, t("01-12 10:00"))},
                  ledger=LedgerView(applied_edge_keys=frozenset(applied)),
                  settings=DecideSettings(), windows=windows)
    assert [tr.trigger for tr in plan.transitions] == ([Trigger.IDLE] if stopped else [])
