"""The key that books an external change once is the same for every replica observing it.

Each replica dates a change at its own tick (DESIGN §3.2: when reclaimer observed it), so
the instant cannot name the change; the ledger fact it changes can, since every replica
reads the one ledger. A replica whose clock is behind that fact dates the change at the
fact: dated before it, the change would never become the service's fact, and its key,
already taken, would keep it out for good.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.model import (
    Action,
    DeploymentMode,
    LastTransition,
    LedgerView,
    Service,
    ServiceRef,
    ServiceState,
    Trigger,
)
from reclaimer.service.recording import external_changes, external_key

pytestmark = pytest.mark.timeout(10)
LLAMA = ServiceRef("team-a", "llama")
T = datetime(2030, 3, 29, 18, 0, tzinfo=UTC)
OUR_STOP = LastTransition(ref=LLAMA, action=Action.STOP, trigger=Trigger.SCHEDULE, at=T,
                          uid="u1")
PERSON_START = LastTransition(ref=LLAMA, action=Action.START, trigger=Trigger.EXTERNAL,
                              at=T + timedelta(minutes=10), uid="u1")


def _llama(state: ServiceState, uid: str = "u1") -> Service:
    return Service(ref=LLAMA, uid=uid, mode=DeploymentMode.STANDARD, state=state,
                   created_at=T - timedelta(days=1), stop_changed_by="kubectl")


def _key(state: ServiceState, last: LastTransition | None, *, now: datetime,
         uid: str = "u1") -> str:
    view = LedgerView(last_transitions={} if last is None else {LLAMA: last})
    (change,) = external_changes([_llama(state, uid)], view, now=now)
    return external_key(change, view)


@pytest.mark.parametrize(("state", "last"), [
    pytest.param(ServiceState.STOPPED, None, id="first-seen-stopped"),
    pytest.param(ServiceState.RUNNING, OUR_STOP, id="started-after-our-stop"),
    pytest.param(ServiceState.STOPPED, PERSON_START, id="stopped-after-a-person-started"),
])
def test_two_replicas_observing_one_change_at_different_ticks_derive_one_key(
        state: ServiceState, last: LastTransition | None) -> None:
    first = _key(state, last, now=T + timedelta(minutes=20))
    assert _key(state, last, now=T + timedelta(minutes=20, seconds=35)) == first


@pytest.mark.parametrize(("one", "other"), [
    pytest.param((ServiceState.STOPPED, None, "u1"), (ServiceState.STOPPED, PERSON_START, "u1"),
                 id="the-next-stop-after-a-start"),
    pytest.param((ServiceState.STOPPED, None, "u1"), (ServiceState.STOPPED, None, "u2"),
                 id="a-namesake-object"),
])
def test_another_change_has_another_key(one: tuple[ServiceState, LastTransition | None, str],
                                        other: tuple[ServiceState, LastTransition | None, str],
                                        ) -> None:
    now = T + timedelta(hours=1)
    assert _key(one[0], one[1], now=now, uid=one[2]) != _key(
        other[0], other[1], now=now, uid=other[2])


@pytest.mark.parametrize(("now", "dated"), [
    pytest.param(T + timedelta(minutes=5), T + timedelta(minutes=5), id="clock-after-the-fact"),
    pytest.param(T - timedelta(seconds=3), T, id="clock-behind-the-fact"),
])
def test_a_change_is_never_dated_before_the_fact_it_changes(now: datetime,
                                                            dated: datetime) -> None:
    view = LedgerView(last_transitions={LLAMA: OUR_STOP})
    (change,) = external_changes([_llama(ServiceState.RUNNING)], view, now=now)
    assert change.at == dated
