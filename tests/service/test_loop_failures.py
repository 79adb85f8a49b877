"""Issue 14 cases 4, 5 and 6: how failed and retried decisions end, through `reconcile_once`.

The sandbox (KServe 0.16, over HTTP) injects the API errors; the loop decides with the
office-hours policy and scripted quiet traffic, as `reclaimer run` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.kube.rest import ISVC
from reclaimer.ledger.records import RecordState
from reclaimer.model import Action, ServiceRef
from reclaimer.signals.scripted import Script, Steady
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    DATA_FROM,
    FRIDAY_STOP,
    IDLE,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
LLAMA = ServiceRef("team-a", "llama")
WHISPER = ServiceRef("team-b", "whisper")
TUESDAY_START = MONDAY_START + timedelta(days=1)


@pytest.fixture
def office(make_sandbox: MakeSandbox, tmp_path: Path) -> Iterator[LoopWorld]:
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()})
    yield world
    world.close()


def _rows(world: LoopWorld, action: Action) -> list[tuple[str, str | None]]:
    """(state, error) oldest first; ``verified`` reads ``applied`` (pods leave at once)."""
    return [(r.state.value.replace("verified", "applied"), r.error)
            for r in sorted(world.ledger.history(), key=lambda r: r.id)
            if r.transition.action is action]


def _events(world: LoopWorld, reason: str) -> list[dict[str, Any]]:
    items = world.rest.request("GET", "/api/v1/namespaces/team-a/events")["items"]
    return [e for e in items if e["reason"] == reason]


def _errors(world: LoopWorld, action: str, kind: str) -> float:
    counter = world.reconciler.metrics.transition_errors
    return float(counter.labels(action=action, **{"class": kind})._value.get())


def _stop_annotation(world: LoopWorld) -> str | None:
    obj = world.rest.get(ISVC, LLAMA.namespace, LLAMA.name)
    return (obj["metadata"].get("annotations") or {}).get("serving.kserve.io/stop")


@pytest.mark.parametrize("status", [
    pytest.param(403, id="403-forbidden"),
    pytest.param(422, id="422-invalid"),
])
def test_case5_a_permanent_error_fails_the_start_edge_once(office: LoopWorld,
                                                          status: int) -> None:
    office.tick(FRIDAY_STOP)
    office.sandbox.faults.add("patch", "inferenceservices", status=status, times=100,
                              message="denied by admission policy no-annotations")
    for half_minutes in range(12):
        office.tick(MONDAY_START + timedelta(seconds=30 * half_minutes))
    (failed,) = [e for e in _rows(office, Action.START) if e[0] == "failed"]
    (event,) = _events(office, "ReclaimFailed")
    assert (len(_rows(office, Action.START)), event["count"]) == (1, 1)
    assert str(status) in (failed[1] or "")
    assert _errors(office, "start", "permanent") == 1


def test_case5_the_next_edge_tries_again(office: LoopWorld) -> None:
    office.tick(FRIDAY_STOP)
    office.sandbox.faults.add("patch", "inferenceservices", status=403, times=100)
    for half_minutes in range(4):
        office.tick(MONDAY_START + timedelta(seconds=30 * half_minutes))
    office.sandbox.faults.clear()
    office.tick(TUESDAY_START)
    assert [state for state, _ in _rows(office, Action.START)] == ["failed", "applied"]
    assert _stop_annotation(office) is None


def test_case5_a_transient_error_keeps_one_row_until_it_succeeds(office: LoopWorld) -> None:
    office.tick(FRIDAY_STOP)
    office.sandbox.faults.add("patch", "inferenceservices", status=503, times=9)
    for half_minutes in range(4):
        office.tick(MONDAY_START + timedelta(seconds=30 * half_minutes))
    assert [state for state, _ in _rows(office, Action.START)] == ["applied"]
    assert _events(office, "ReclaimFailed") == []
    assert (_errors(office, "start", "transient"), _errors(office, "start", "permanent")) == (
        3, 0)


def test_case6_a_retried_edge_that_is_then_held_closes_its_row(office: LoopWorld) -> None:
    office.sandbox.faults.add("patch", "inferenceservices", status=409)
    office.tick(FRIDAY_STOP)
    office.ledger.hold(LLAMA, until=FRIDAY_STOP + timedelta(days=1), reason="demo tonight",
                       who="alice", now=FRIDAY_STOP)
    for minute in range(1, 6):
        office.tick(FRIDAY_STOP + timedelta(minutes=minute))
    rows = sorted(office.ledger.history(), key=lambda r: r.id)
    assert [(r.transition.action.value, r.state) for r in rows] == [
        ("stop", RecordState.ABANDONED), ("stop", RecordState.SKIPPED)]
    assert "Held" in (rows[0].error or "")
    assert (office.ledger.pending(), _stop_annotation(office)) == ([], None)


def test_case6_a_retried_edge_satisfied_by_someone_else_closes_its_row(
        office: LoopWorld) -> None:
    office.sandbox.faults.add("patch", "inferenceservices", status=409)
    office.tick(FRIDAY_STOP)
    office.rest.merge_patch(ISVC, LLAMA.namespace, LLAMA.name, {
        "metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    for minute in range(1, 4):
        office.tick(FRIDAY_STOP + timedelta(minutes=minute))
    rows = sorted(office.ledger.history(), key=lambda r: r.id)
    assert rows[0].state is RecordState.ABANDONED
    assert office.ledger.pending() == []


def test_case4_an_idle_stop_not_decided_again_closes_its_row_at_once(
        make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    """409 on the idle stop; a request arrives before the next tick; hours later the
    service is idle again: its stop is a new row with its own time and evidence."""
    woken = FRIDAY_STOP + timedelta(minutes=31, seconds=10)
    script = Script(data_from=DATA_FROM, gpus=1, single=(woken,),
                    steady=(Steady(start=DATA_FROM, end=FRIDAY_STOP,
                                   every=timedelta(minutes=1)),),
                    gpu_levels=((DATA_FROM, 50.0), (FRIDAY_STOP, 0.0)))
    world = build(make_sandbox(scenario(("team-b", "whisper", {"reclaim": "idle"}))), tmp_path,
                  policies={"idle": IDLE}, scripts={WHISPER: script})
    try:
        world.sandbox.faults.add("patch", "inferenceservices", status=409)
        world.tick(FRIDAY_STOP + timedelta(minutes=31))
        world.tick(FRIDAY_STOP + timedelta(minutes=31, seconds=30))
        after_wake = [r.state for r in world.ledger.history()]
        later = FRIDAY_STOP + timedelta(hours=4)
        world.tick(later)
        rows = sorted(world.ledger.history(), key=lambda r: r.id)
        report = world.ledger.report(since=FRIDAY_STOP, now=later + timedelta(hours=1))
    finally:
        world.close()
    assert after_wake == [RecordState.ABANDONED]
    assert [(r.state.value.replace("verified", "applied"), r.transition.at) for r in rows] == [
        ("abandoned", FRIDAY_STOP + timedelta(minutes=31)), ("applied", later)]
    assert "not taken again" in (rows[0].error or "")
    assert report.total_gpu_hours == pytest.approx(1.0)
