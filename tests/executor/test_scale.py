"""Many transitions in one tick: verification is two LISTs, not one call per service."""

from __future__ import annotations

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.executor.conftest import MakeHarness, isvc_entry

pytestmark = pytest.mark.integration
COUNT = 60


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("cache", "calls"), [
    pytest.param(None, 3, id="get-patch-event"),
    pytest.param("frozen", 2, id="patch-event-from-the-cache"),
])
def test_verifying_many_stops_costs_two_list_calls(make_harness: MakeHarness,
                                                   cache: str | None, calls: int) -> None:
    h = make_harness("0.16", *[isvc_entry(f"m{i:03d}") for i in range(COUNT)], cache=cache)
    transitions = [h.transition(Action.STOP, f"m{i:03d}") for i in range(COUNT)]
    before = h.rest.total_calls
    outcomes = [h.executor.apply(t, at=t.at) for t in transitions]
    per_stop = (h.rest.total_calls - before) / COUNT
    h.settle()
    before = h.rest.total_calls
    verified = h.follow_up()
    assert {o.kind for o in outcomes} == {OutcomeKind.APPLIED}
    assert (len(verified), {o.kind for o in verified}) == (COUNT, {OutcomeKind.VERIFIED})
    assert (h.rest.total_calls - before, h.rest.calls["GET"] >= 2) == (2, True)
    assert per_stop == calls


def test_an_idle_follow_up_costs_nothing(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    before = h.rest.total_calls
    assert (h.follow_up(), h.rest.total_calls - before) == ([], 0)
