"""When a StopPlanned notice is due (`reclaimer.policy.notices`): pure, literal instants.

Office hours in Europe/Berlin: the stop edge is 18:00Z on weekdays (19:00 local).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from reclaimer.model import (
    DecideSettings,
    Hold,
    IdleRule,
    LedgerView,
    Notify,
    Policy,
    PolicyMode,
    Service,
    ServiceState,
    Signals,
    Trigger,
)
from reclaimer.policy.context import Tick
from reclaimer.policy.matching import Match
from reclaimer.policy.notices import Announced, PlannedStop, planned_stops
from tests.policy.decide_builders import busy, idle_only, office, quiet, svc, t

pytestmark = pytest.mark.timeout(10)

FIFTEEN = Notify(before=timedelta(minutes=15), sinks=("team-a",))
OFFICE = office(notify=FIFTEEN)
IDLE = idle_only(notify=FIFTEEN)
SERVICE = svc()
STOP_EDGE = t("01-12 18:00")
NO_LEDGER = LedgerView()


def notices(now: datetime, policy: Policy, *, service: Service = SERVICE,
            signals: Sequence[Signals] = (), ledger: LedgerView = NO_LEDGER,
            announced: Announced | None = None) -> list[PlannedStop]:
    tick = Tick(now=now, signals={s.ref: s for s in signals}, ledger=ledger,
                settings=DecideSettings())
    return planned_stops([Match(service=service, policy=policy)], tick,
                         announced=announced or {})


@pytest.mark.parametrize(("now", "expected"), [
    pytest.param(t("01-12 17:44"), [], id="16-minutes-before-nothing"),
    pytest.param(t("01-12 17:45"), [STOP_EDGE], id="exactly-before"),
    pytest.param(t("01-12 17:50"), [STOP_EDGE], id="ten-minutes-before"),
    pytest.param(t("01-12 18:00"), [], id="at-the-edge-too-late"),
    pytest.param(t("01-12 12:00"), [], id="mid-day"),
])
def test_schedule_notice_window(now: datetime, expected: list[datetime]) -> None:
    assert [n.at for n in notices(now, OFFICE)] == expected


def test_schedule_notice_says_what_and_where_to() -> None:
    (got,) = notices(t("01-12 17:50"), OFFICE)
    assert (got.ref, got.uid, got.policy, got.trigger, got.sinks) == (
        SERVICE.ref, SERVICE.uid, "team-a/office", Trigger.SCHEDULE, ("team-a",))
    assert got.key == f"team-a/office|uid-llama|schedule|{STOP_EDGE.isoformat()}"


@pytest.mark.parametrize(("policy", "service", "ledger"), [
    pytest.param(office(), SERVICE, LedgerView(), id="no-notify-block"),
    pytest.param(replace(OFFICE, mode=PolicyMode.DRY_RUN), SERVICE, LedgerView(), id="dry-run"),
    pytest.param(OFFICE, svc(state=ServiceState.STOPPED), LedgerView(), id="already-stopped"),
    pytest.param(OFFICE, svc(state=ServiceState.UNKNOWN), LedgerView(), id="state-unknown"),
    pytest.param(OFFICE, SERVICE, LedgerView(holds={SERVICE.ref: Hold(
        SERVICE.ref, until=t("01-12 21:00"), reason="eval", who="alice")}),
        id="snoozed-past-the-edge"),
])
def test_no_schedule_notice(policy: Policy, service: Service, ledger: LedgerView) -> None:
    assert notices(t("01-12 17:50"), policy, service=service, ledger=ledger) == []


def test_hold_ending_before_the_edge_still_notifies() -> None:
    hold = Hold(SERVICE.ref, until=t("01-12 17:55"), reason="eval", who="alice")
    assert len(notices(t("01-12 17:50"), OFFICE,
                       ledger=LedgerView(holds={SERVICE.ref: hold}))) == 1


@pytest.mark.parametrize(("announced", "count"), [
    pytest.param({(SERVICE.ref, Trigger.SCHEDULE): STOP_EDGE}, 0, id="same-edge-once"),
    pytest.param({(SERVICE.ref, Trigger.SCHEDULE): t("01-09 18:00")}, 1, id="last-friday"),
])
def test_schedule_notice_once_per_edge(announced: Announced, count: int) -> None:
    assert len(notices(t("01-12 17:58"), OFFICE, announced=announced)) == count


NIGHT = t("01-12 22:00")


@pytest.mark.parametrize(("since", "expected"), [
    pytest.param(840.0, None, id="quiet-14m-of-30-too-early"),
    pytest.param(900.0, NIGHT + timedelta(minutes=15), id="quiet-15m-exactly-before"),
    pytest.param(1020.0, NIGHT + timedelta(minutes=13), id="quiet-17m-due-in-13"),
    pytest.param(1500.0, NIGHT + timedelta(minutes=5), id="quiet-25m-due-in-5"),
    pytest.param(None, None, id="no-request-in-window-due-now"),
])
def test_idle_notice_from_last_request(since: float | None, expected: datetime | None) -> None:
    got = notices(NIGHT, IDLE, signals=[quiet(SERVICE, NIGHT, since=since)])
    assert [n.at for n in got] == ([] if expected is None else [expected])
    assert all(n.trigger is Trigger.IDLE for n in got)


def test_idle_notice_waits_for_min_uptime() -> None:
    started = svc(created=NIGHT - timedelta(minutes=20))
    rule = IdleRule(after=timedelta(minutes=30), min_uptime=timedelta(minutes=30))
    got = notices(NIGHT, idle_only(notify=FIFTEEN, idle=rule), service=started,
                  signals=[quiet(started, NIGHT, since=None)])
    assert [n.at for n in got] == [NIGHT + timedelta(minutes=10)]


@pytest.mark.parametrize("signals", [
    pytest.param([], id="no-signals"),
    pytest.param([Signals.unknown(SERVICE.ref, at=NIGHT, window=timedelta(minutes=30),
                                  reason="down")], id="unknown"),
    pytest.param([quiet(SERVICE, NIGHT - timedelta(minutes=10), since=1500.0)], id="stale"),
    pytest.param([busy(SERVICE, NIGHT, since=1500.0)], id="gpu-busy"),
])
def test_no_idle_notice_without_quiet_known_data(signals: list[Signals]) -> None:
    assert notices(NIGHT, IDLE, signals=signals) == []


@pytest.mark.parametrize(("last", "since", "count"), [
    pytest.param(NIGHT + timedelta(minutes=4), 1500.0, 0, id="jitter-of-a-step-once"),
    pytest.param(NIGHT - timedelta(minutes=20), 1500.0, 1, id="used-again-since"),
])
def test_idle_notice_repeats_only_when_moved(last: datetime, since: float, count: int) -> None:
    got = notices(NIGHT, IDLE, signals=[quiet(SERVICE, NIGHT, since=since)],
                  announced={(SERVICE.ref, Trigger.IDLE): last})
    assert len(got) == count

