"""Issue 13 case 3 (pure rules): catch-up and new governance.

The deferral clock starts at the first tick that could act on the edge for the service
(its first deferral in the ledger, else this tick), never at the edge instant; a
catch-up start wakes only a service whose current stop reclaimer made.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.model import Action, BusyAtStop, LastTransition, LedgerView, Reason, Trigger
from tests.policy.decide_builders import busy, key, office, only, run, svc, t

DEFER = office(busy_at_stop=BusyAtStop.DEFER, max_defer=timedelta(hours=2))
SERVICE = svc()
STOP_KEY = key(DEFER, SERVICE, t("01-12 18:00"), Action.STOP)


@pytest.mark.parametrize(("now", "first_deferral", "reason"), [
    pytest.param("01-12 21:00", None, Reason.DEFERRED_BUSY, id="first-tick-after-downtime"),
    pytest.param("01-12 22:59", "01-12 21:00", Reason.DEFERRED_BUSY, id="within-max-defer"),
    pytest.param("01-12 23:00", "01-12 21:00", Reason.FORCED_AFTER_MAX_DEFER,
                 id="max-defer-after-the-first-tick"),
    pytest.param("01-12 20:00", "01-12 18:00", Reason.FORCED_AFTER_MAX_DEFER,
                 id="on-time-edge-unchanged"),
])
def test_case3_deferral_clock_starts_at_the_first_tick_that_could_act(
        now: str, first_deferral: str | None, reason: Reason) -> None:
    ledger = LedgerView(deferred_since={STOP_KEY: t(first_deferral)} if first_deferral else {})
    got = only(run(t(now), [DEFER], [SERVICE], signals=[busy(SERVICE, t(now))], ledger=ledger))
    assert (got.action, got.reason) == (Action.STOP, reason)


def _last(action: Action, trigger: Trigger, at: str) -> LedgerView:
    return LedgerView(last_transitions={SERVICE.ref: LastTransition(
        ref=SERVICE.ref, action=action, trigger=trigger, at=t(at), uid=SERVICE.uid)})


@pytest.mark.parametrize(("ledger", "started"), [
    pytest.param(LedgerView(), False, id="never-recorded-stopped-before-governed"),
    pytest.param(_last(Action.STOP, Trigger.EXTERNAL, "01-01 10:00"), False,
                 id="a-person-parked-it"),
    pytest.param(_last(Action.STOP, Trigger.MANUAL, "01-11 10:00"), False,
                 id="reclaimer-stop-cli-is-a-persons-choice"),
    pytest.param(_last(Action.STOP, Trigger.SCHEDULE, "01-09 18:00"), True,
                 id="reclaimers-schedule-stop"),
    pytest.param(_last(Action.STOP, Trigger.IDLE, "01-11 03:00"), True,
                 id="reclaimers-idle-stop"),
])
def test_case3_catch_up_start_wakes_only_what_reclaimer_stopped(
        ledger: LedgerView, started: bool) -> None:
    stopped = svc(state=SERVICE.state.STOPPED)
    got = only(run(t("01-12 10:00"), [office()], [stopped], ledger=ledger))
    assert (got.action, got.trigger) == (Action.START, Trigger.CATCH_UP)
    assert got.actionable is started
    assert got.reason is (Reason.CAUGHT_UP if started else Reason.SUPERSEDED)
