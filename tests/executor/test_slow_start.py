"""A start slower than the default verification timeout (issue 15, item 8).

The ISVC's pods take ``startSeconds: 600`` (10 minutes, scaled by ``timeScale`` to 6 s
of real time); verification reads literal instants, so the 5-minute default fails the
start honestly and a longer ``verifyTimeout`` verifies it once the pods are Ready.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
SLOW = {"timeScale": 0.01, "podTerminationSeconds": 0}
LATER = T0 + timedelta(hours=1)


def _stopped_then_started(make_harness: MakeHarness, verify: timedelta) -> Harness:
    h = make_harness("0.16", isvc_entry(startSeconds=600), verify_timeout=verify,
                     scenario=SLOW)
    h.settle()  # the first pods start slowly too
    h.apply(Action.STOP)
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.apply(Action.START, at=LATER).kind is OutcomeKind.APPLIED
    h.handle.wait_idle()
    return h


def test_the_default_timeout_fails_a_start_slower_than_it(make_harness: MakeHarness) -> None:
    h = _stopped_then_started(make_harness, timedelta(minutes=5))
    outcomes = h.follow_up(LATER + timedelta(minutes=6))
    assert [(o.kind, "not verified within 5m" in o.message) for o in outcomes] == [
        (OutcomeKind.FAILED, True)]


def test_a_longer_timeout_verifies_it_once_the_pods_are_ready(
        make_harness: MakeHarness) -> None:
    h = _stopped_then_started(make_harness, timedelta(minutes=15))
    early = h.follow_up(LATER + timedelta(minutes=6))
    h.settle()
    assert (early, [o.kind for o in h.follow_up(LATER + timedelta(minutes=11))]) == (
        [], [OutcomeKind.VERIFIED])
