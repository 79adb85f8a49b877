"""Issue 14 case 5 in the executor: errors are classed once; a permanent one fails its
decision once (one ``failed`` row, one Event), a transient one keeps its row.

Against the sandbox API server over HTTP, with its fault injection."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from reclaimer.executor.outcome import ErrorClass, OutcomeKind
from reclaimer.model import Action, Reason, Transition, Trigger
from tests.executor.conftest import T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _idle_stop(h: Harness, at: datetime) -> Transition:
    return Transition(ref=h.ref(), uid=h.isvc()["metadata"]["uid"], action=Action.STOP,
                      trigger=Trigger.IDLE, reason=Reason.IDLE_TIMEOUT,
                      policy="team-a/idle-30m", at=at, gpus=1, evidence={"requests": 0})


def test_case5_an_idle_stop_refused_with_403_is_recorded_once_over_many_ticks(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=403, times=100)
    ticks = [T0 + timedelta(seconds=30 * i) for i in range(10)]
    outcomes = [h.executor.apply(_idle_stop(h, at), at=at) for at in ticks]
    (event,) = h.events()
    assert [o.kind for o in outcomes] == [OutcomeKind.FAILED] + [OutcomeKind.SKIPPED] * 9
    assert (outcomes[0].error, h.states(), event["count"]) == (
        ErrorClass.PERMANENT, ["failed"], 1)
    assert h.handle.request_log.count(verb="patch", resource="inferenceservices") == 1


def test_case5_an_idle_stop_that_failed_is_tried_again_after_the_wait(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=403)
    h.executor.apply(_idle_stop(h, T0), at=T0)
    later = T0 + h.executor.options.retry_rejected_after
    again = h.executor.apply(_idle_stop(h, later), at=later)
    assert (again.kind, h.states()) == (OutcomeKind.APPLIED, ["failed", "applied"])


def test_case5_a_missing_child_fails_the_start_not_as_a_gone_service(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.14", isvc_entry())
    h.apply(Action.STOP)
    h.settle()
    h.handle.faults.add("patch", "deployments", status=404, times=5)
    started = h.apply(Action.START)
    assert (started.kind, started.error) == (OutcomeKind.FAILED, ErrorClass.PERMANENT)
    assert "component Deployment team-a/llama-predictor is gone" in started.message
    assert h.states()[-1] == "failed"


@pytest.mark.parametrize("status", [
    pytest.param(409, id="409"),
    pytest.param(429, id="429"),
    pytest.param(503, id="503"),
])
def test_case5_a_transient_error_keeps_the_decisions_row(make_harness: MakeHarness,
                                                        status: int) -> None:
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=status, times=3,
                        retry_after=60 if status == 429 else None)
    first = h.apply(Action.STOP)
    assert (first.kind, first.error, h.states(), h.events()) == (
        OutcomeKind.RETRY, ErrorClass.TRANSIENT, ["planned"], [])


def test_a_transient_error_that_becomes_permanent_fails_the_kept_row_once(
        make_harness: MakeHarness) -> None:
    """503 at the first tick keeps the row; an idle verdict is a new decision each tick,
    so at the next the kept row is closed ``abandoned`` and the 403 fails that tick's
    own row once (one Event); the tick after does not write again."""
    h = make_harness("0.16", isvc_entry())
    h.handle.faults.add("patch", "inferenceservices", status=503, times=3)
    first = h.executor.apply(_idle_stop(h, T0), at=T0)
    h.handle.faults.add("patch", "inferenceservices", status=403, times=100)
    ticks = [T0 + timedelta(seconds=30 * i) for i in (1, 2)]
    later = [h.executor.apply(_idle_stop(h, at), at=at) for at in ticks]
    (event,) = h.events()
    assert [first.kind, *(o.kind for o in later)] == [
        OutcomeKind.RETRY, OutcomeKind.FAILED, OutcomeKind.SKIPPED]
    assert (h.states(), event["count"]) == (["abandoned", "failed"], 1)
    assert h.handle.request_log.count(verb="patch", resource="inferenceservices") == 4
