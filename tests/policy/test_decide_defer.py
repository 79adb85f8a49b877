"""busyAtStop: defer while requests flow (or traffic is unknown), force after maxDefer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.model import (
    Action,
    BusyAtStop,
    LastTransition,
    LedgerView,
    Reason,
    Signals,
    SignalState,
    Trigger,
)
from tests.policy.decide_builders import busy, key, office, only, quiet, run, svc, t

DEFER = office(busy_at_stop=BusyAtStop.DEFER, max_defer=timedelta(hours=2))
SERVICE = svc()
EDGE_KEY = key(DEFER, SERVICE, t("01-12 18:00"), Action.STOP)
# The first tick deferred the stop at its edge: the deferral clock runs from there.
DEFERRED_AT_EDGE = LedgerView(deferred_since={EDGE_KEY: t("01-12 18:00")})


@pytest.mark.parametrize(("now", "signals"), [
    pytest.param("01-12 18:00", busy(SERVICE, t("01-12 18:00")), id="requests-flowing"),
    pytest.param("01-12 18:00", None, id="no-signals-is-unknown-traffic"),
    pytest.param("01-12 18:00", quiet(SERVICE, t("01-12 18:00"), state=SignalState.UNKNOWN),
                 id="unknown-signals"),
    pytest.param("01-12 18:00", quiet(SERVICE, t("01-12 17:50")), id="stale-signals"),
    pytest.param("01-12 18:00", quiet(SERVICE, t("01-12 18:00"), since=None, requests=None),
                 id="last-request-unknown"),
    pytest.param("01-12 19:59", busy(SERVICE, t("01-12 19:59")), id="just-before-max-defer"),
])
def test_busy_or_unknown_traffic_defers(now: str, signals: Signals | None) -> None:
    got = only(run(t(now), [DEFER], [SERVICE], signals=[signals] if signals else []))
    assert (got.reason, got.action, got.edge_key) == (Reason.DEFERRED_BUSY, Action.STOP, None)
    assert got.blocked is not None and got.blocked.startswith("deferred: ")
    assert got.evidence["edgeKey"] == EDGE_KEY


@pytest.mark.parametrize(("now", "signals", "reason", "trigger"), [
    pytest.param("01-12 18:00", quiet(SERVICE, t("01-12 18:00")), Reason.SCHEDULE_STOP,
                 Trigger.SCHEDULE, id="quiet-at-the-edge"),
    pytest.param("01-12 18:40", quiet(SERVICE, t("01-12 18:40")), Reason.SCHEDULE_STOP,
                 Trigger.SCHEDULE, id="quiet-after-deferring-is-still-schedule"),
    pytest.param("01-12 18:00", quiet(SERVICE, t("01-12 18:00"), since=None),
                 Reason.SCHEDULE_STOP, Trigger.SCHEDULE, id="no-requests-in-the-window"),
    pytest.param("01-12 20:00", busy(SERVICE, t("01-12 20:00")), Reason.FORCED_AFTER_MAX_DEFER,
                 Trigger.SCHEDULE, id="forced-at-max-defer"),
    pytest.param("01-12 20:04", None, Reason.FORCED_AFTER_MAX_DEFER, Trigger.SCHEDULE,
                 id="forced-unknown-after-max-defer"),
    pytest.param("01-12 21:00", None, Reason.FORCED_AFTER_MAX_DEFER, Trigger.CATCH_UP,
                 id="forced-long-after-max-defer-is-a-catch-up"),
])
def test_defer_ends_in_a_stop(now: str, signals: Signals | None, reason: Reason,
                              trigger: Trigger) -> None:
    got = only(run(t(now), [DEFER], [SERVICE], signals=[signals] if signals else [],
                   ledger=DEFERRED_AT_EDGE))
    assert (got.reason, got.trigger, got.blocked, got.edge_key) == (reason, trigger, None,
                                                                    EDGE_KEY)


def test_forced_stop_keeps_the_traffic_evidence() -> None:
    got = only(run(t("01-12 20:00"), [DEFER], [SERVICE], signals=[busy(SERVICE, t("01-12 20:00"))],
                   ledger=DEFERRED_AT_EDGE))
    assert got.evidence["traffic"] == "busy"
    assert got.evidence["traffic.requests"] == 12.0


def test_force_policy_stops_while_busy() -> None:
    got = only(run(t("01-12 18:00"), [office()], [SERVICE],
                   signals=[busy(SERVICE, t("01-12 18:00"))]))
    assert (got.reason, got.blocked) == (Reason.SCHEDULE_STOP, None)


def test_deferred_stop_wakes_at_max_defer() -> None:
    plan = run(t("01-12 18:00"), [DEFER], [SERVICE], signals=[busy(SERVICE, t("01-12 18:00"))])
    assert plan.next_wake == t("01-12 20:00")


def test_deferred_entry_does_not_supersede_its_own_edge() -> None:
    last = LastTransition(ref=SERVICE.ref, action=Action.STOP, trigger=Trigger.SCHEDULE,
                          at=t("01-12 18:00"), uid=SERVICE.uid)
    got = only(run(t("01-12 18:30"), [DEFER], [SERVICE], signals=[quiet(SERVICE, t("01-12 18:30"))],
                   ledger=LedgerView(last_transitions={SERVICE.ref: last},
                                     deferred_since=DEFERRED_AT_EDGE.deferred_since)))
    assert (got.reason, got.blocked) == (Reason.SCHEDULE_STOP, None)
