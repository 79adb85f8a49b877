"""Holds, dry run, maxStopsPerTick, the mass-idle breaker and staggered starts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from reclaimer.model import (
    Action,
    DecideSettings,
    Hold,
    LedgerView,
    Policy,
    PolicyMode,
    Reason,
    Service,
    ServiceState,
    Signals,
    Trigger,
)
from tests.policy.decide_builders import idle_only, key, office, only, quiet, run, svc, t

NOW = t("01-12 22:00")
STOPPED = ServiceState.STOPPED


def hold(name: str = "llama", until: str = "01-13 00:00") -> LedgerView:
    ref = svc(name).ref
    return LedgerView(holds={ref: Hold(ref=ref, until=t(until), reason="debugging", who="ana")})


@pytest.mark.parametrize(("now", "policy", "state", "signals"), [
    pytest.param("01-12 07:01", office(), STOPPED, False, id="schedule-start"),
    pytest.param("01-12 18:01", office(), ServiceState.RUNNING, False, id="schedule-stop"),
    pytest.param("01-12 22:00", idle_only(), ServiceState.RUNNING, True, id="idle-stop"),
])
def test_active_hold_blocks_action_but_not_the_decision(now: str, policy: Policy,
                                                        state: ServiceState, signals: bool) -> None:
    service = svc(state=state)
    plan = run(t(now), [policy], [service], ledger=hold(until="01-13 00:00"),
               signals=[quiet(service, t(now))] if signals else [])
    got = only(plan)
    assert (got.reason, got.actionable) == (Reason.HELD, False)
    assert got.blocked is not None and "ana" in got.blocked and "debugging" in got.blocked


def test_held_edge_is_claimed() -> None:
    service = svc(state=STOPPED)
    got = only(run(t("01-12 07:01"), [office()], [service], ledger=hold()))
    assert got.edge_key == key(office(), service, t("01-12 07:00"), Action.START)
    assert got.evidence["rule"] == Reason.SCHEDULE_START.value


def test_expired_hold_does_not_block() -> None:
    got = only(run(t("01-12 07:01"), [office()], [svc(state=STOPPED)],
                   ledger=hold(until="01-12 07:01")))
    assert got.actionable


def test_hold_on_another_service_does_not_block() -> None:
    got = only(run(t("01-12 07:01"), [office()], [svc(state=STOPPED)], ledger=hold("other")))
    assert got.actionable


def test_hold_expiry_is_a_wake_instant() -> None:
    plan = run(t("01-12 07:01"), [office()], [svc(state=STOPPED)], ledger=hold(until="01-12 09:00"))
    assert plan.next_wake == t("01-12 09:00")


@pytest.mark.parametrize(("now", "policy", "signals"), [
    pytest.param("01-12 18:01", office(mode=PolicyMode.DRY_RUN), False, id="schedule-stop"),
    pytest.param("01-12 22:00", idle_only(mode=PolicyMode.DRY_RUN), True, id="idle-stop"),
])
def test_dry_run_decides_and_records_without_acting(now: str, policy: Policy,
                                                    signals: bool) -> None:
    service = svc()
    got = only(run(t(now), [policy], [service],
                   signals=[quiet(service, t(now))] if signals else []))
    assert (got.reason, got.action, got.actionable) == (Reason.DRY_RUN, Action.STOP, False)
    assert got.blocked is not None and got.blocked.startswith("dry run")


def fleet(n: int, *, since: list[float] | None = None) -> tuple[list[Service], list[Signals]]:
    services = [svc(f"m{i:02d}") for i in range(n)]
    seconds = since or [3600.0 + i for i in range(n)]
    return services, [quiet(s, NOW, since=sec) for s, sec in zip(services, seconds, strict=True)]


@pytest.mark.parametrize(("limit", "made"), [
    pytest.param(5, 4, id="under-the-cap"),
    pytest.param(3, 3, id="at-the-cap"),
    pytest.param(0, 0, id="zero-cap"),
])
def test_max_stops_per_tick(limit: int, made: int) -> None:
    services, signals = fleet(4)
    settings = DecideSettings(max_stops_per_tick=limit, mass_idle_minimum=100)
    plan = run(NOW, [idle_only()], services, signals=signals, settings=settings)
    assert len(plan.actionable) == made
    blocked = {tr.reason for tr in plan.transitions if not tr.actionable}
    assert blocked <= {Reason.MAX_STOPS_PER_TICK}


def test_max_stops_prefers_the_longest_idle() -> None:
    services, signals = fleet(3, since=[4000.0, 9000.0, 5000.0])
    settings = DecideSettings(max_stops_per_tick=1, mass_idle_minimum=100)
    plan = run(NOW, [idle_only()], services, signals=signals, settings=settings)
    assert [tr.ref.name for tr in plan.actionable] == ["m01"]


@pytest.mark.parametrize(("idle", "busy", "fraction", "minimum", "open_"), [
    pytest.param(6, 4, 0.5, 5, True, id="more-than-half-and-minimum"),
    pytest.param(5, 5, 0.5, 5, False, id="exactly-half-is-allowed"),
    pytest.param(4, 0, 0.5, 5, False, id="below-minimum"),
    pytest.param(5, 0, 0.5, 5, True, id="all-idle-at-minimum"),
    pytest.param(3, 7, 0.2, 3, True, id="stricter-fraction"),
])
def test_mass_idle_breaker(idle: int, busy: int, fraction: float, minimum: int,
                           open_: bool) -> None:
    services, signals = fleet(idle + busy)
    settings = DecideSettings(mass_idle_fraction=fraction, mass_idle_minimum=minimum)
    plan = run(NOW, [idle_only()], services, signals=signals[:idle], settings=settings)
    assert plan.breaker_open is open_
    assert len(plan.actionable) == (0 if open_ else idle)
    assert len(plan.alerts) == int(open_)


def test_breaker_blocks_with_its_reason_and_alert() -> None:
    services, signals = fleet(6)
    plan = run(NOW, [idle_only()], services, signals=signals)
    assert {tr.reason for tr in plan.transitions} == {Reason.MASS_IDLE_BREAKER}
    assert "metrics pipeline" in plan.alerts[0]


def test_breaker_leaves_schedule_stops_alone() -> None:
    services = [svc(f"m{i:02d}") for i in range(6)]
    plan = run(t("01-12 18:01"), [office()], services)
    assert not plan.breaker_open
    assert len(plan.actionable) == 6


@pytest.mark.parametrize(("limit", "actionable"), [
    pytest.param(20, 3, id="all-fit"),
    pytest.param(2, 2, id="staggered"),
])
def test_starts_are_staggered(limit: int, actionable: int) -> None:
    services = [svc(f"m{i}", state=STOPPED) for i in range(3)]
    plan = run(t("01-12 07:01"), [office()], services,
               settings=DecideSettings(max_concurrent_starts=limit))
    assert len(plan.actionable) == actionable
    assert all(tr.action is Action.START for tr in plan.transitions)


def test_staggered_start_is_retried_next_tick() -> None:
    services = [svc(f"m{i}", state=STOPPED) for i in range(3)]
    plan = run(t("01-12 07:01"), [office()], services,
               settings=DecideSettings(max_concurrent_starts=2))
    late = [tr for tr in plan.transitions if not tr.actionable]
    assert [(tr.ref.name, tr.reason, tr.edge_key) for tr in late] == [
        ("m2", Reason.STAGGERED, None)]
    assert late[0].evidence["edgeKey"] == key(office(), services[2], t("01-12 07:00"), Action.START)


@pytest.mark.parametrize(("limit", "wake"), [
    pytest.param(2, t("01-12 07:01") + timedelta(seconds=5), id="staggered-wakes-soon"),
    pytest.param(0, t("01-12 07:01") + timedelta(seconds=5), id="no-room-wakes-soon"),
    pytest.param(20, t("01-12 18:00"), id="all-started-wakes-at-next-edge"),
])
def test_staggered_starts_bring_the_next_wake_forward(limit: int, wake: datetime) -> None:
    services = [svc(f"m{i}", state=STOPPED) for i in range(3)]
    plan = run(t("01-12 07:01"), [office()], services,
               settings=DecideSettings(max_concurrent_starts=limit))
    assert plan.next_wake == wake


def test_held_starts_do_not_use_start_slots() -> None:
    services = [svc(f"m{i}", state=STOPPED) for i in range(3)]
    plan = run(t("01-12 07:01"), [office()], services, ledger=hold("m0"),
               settings=DecideSettings(max_concurrent_starts=2))
    assert [tr.ref.name for tr in plan.actionable] == ["m1", "m2"]


def test_never_two_transitions_for_one_service() -> None:
    service = svc(created=t("01-12 06:00"))
    plan = run(t("01-12 18:01"), [office(idle=idle_only().idle)], [service],
               signals=[quiet(service, t("01-12 18:01"))])
    assert [tr.trigger for tr in plan.transitions] == [Trigger.SCHEDULE]


def test_next_wake_is_the_next_edge() -> None:
    plan = run(t("01-12 12:00"), [office()], [svc()], ledger=LedgerView(applied_edge_keys=frozenset(
        {key(office(), svc(), t("01-12 07:00"), Action.START)})))
    assert plan.next_wake == t("01-12 18:00")


def test_next_wake_leads_a_start() -> None:
    plan = run(t("01-12 22:00"), [office()], [svc(state=STOPPED)],
               settings=DecideSettings(start_lead_time=timedelta(minutes=10)))
    assert plan.next_wake == t("01-13 06:50")


def test_next_wake_is_none_with_nothing_ahead() -> None:
    assert run(NOW, [idle_only()], [svc(state=STOPPED)]).next_wake is None
