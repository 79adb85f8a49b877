"""`reconcile_once` against the sandbox (KServe 0.16), a memory ledger and scripted traffic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.rest import ISVC
from reclaimer.ledger.records import RecordState
from reclaimer.model import Action, DecideSettings, Reason, ServiceRef, Trigger
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    DATA_FROM,
    FRIDAY_STOP,
    IDLE,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    busy_until,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
WHISPER = ServiceRef("team-b", "whisper")
DEV = {"tier": "dev"}


@pytest.fixture
def office(make_sandbox: MakeSandbox, tmp_path: Path) -> Iterator[LoopWorld]:
    world = build(make_sandbox(scenario(("team-a", "llama", DEV))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()})
    yield world
    world.close()


def _states(world: LoopWorld, ref: ServiceRef) -> list[tuple[str, str, str]]:
    return [(r.transition.action.value, r.transition.trigger.value, r.state.value)
            for r in reversed(world.ledger.history(namespace=ref.namespace, name=ref.name))]


def _stop_annotation(world: LoopWorld, ref: ServiceRef) -> str | None:
    obj = world.rest.get(ISVC, ref.namespace, ref.name)
    return (obj["metadata"].get("annotations") or {}).get("serving.kserve.io/stop")


def test_stop_edge_is_applied_then_verified(office: LoopWorld) -> None:
    office.tick(FRIDAY_STOP - timedelta(seconds=5))
    office.tick(FRIDAY_STOP)
    office.tick(FRIDAY_STOP + timedelta(seconds=30))
    assert ("stop", "schedule", "verified") in _states(office, LLAMA)


def test_stop_edge_sets_the_native_stop_annotation(office: LoopWorld) -> None:
    office.tick(FRIDAY_STOP)
    assert _stop_annotation(office, LLAMA) == "true"


def test_an_edge_is_applied_once_over_many_ticks(office: LoopWorld) -> None:
    for minute in range(5):
        office.tick(FRIDAY_STOP + timedelta(minutes=minute))
    stops = [s for s in _states(office, LLAMA) if s[:2] == ("stop", "schedule")]
    assert len(stops) == 1


def test_start_edge_brings_the_service_back(office: LoopWorld) -> None:
    office.tick(FRIDAY_STOP)
    office.tick(FRIDAY_STOP + timedelta(minutes=1))
    office.tick(MONDAY_START)
    office.tick(MONDAY_START + timedelta(minutes=1))
    assert _stop_annotation(office, LLAMA) is None


def test_next_wake_is_the_next_edge(office: LoopWorld) -> None:
    result = office.tick(FRIDAY_STOP - timedelta(minutes=10))
    assert result.next_wake == FRIDAY_STOP


def test_busy_service_is_deferred_once_then_stopped(make_sandbox: MakeSandbox,
                                                     tmp_path: Path) -> None:
    world = build(make_sandbox(scenario(("team-a", "llama", DEV))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "defer"}},
                  scripts={LLAMA: busy_until(FRIDAY_STOP + timedelta(minutes=20))})
    try:
        for minute in range(0, 31, 5):
            world.tick(FRIDAY_STOP + timedelta(minutes=minute))
        reasons = [r.transition.reason for r in world.ledger.history(name="llama")]
    finally:
        world.close()
    assert reasons.count(Reason.DEFERRED_BUSY) == 1
    assert _stop_annotation(world, LLAMA) == "true"


def test_idle_service_is_stopped_with_evidence(make_sandbox: MakeSandbox,
                                               tmp_path: Path) -> None:
    world = build(make_sandbox(scenario(("team-b", "whisper", {"reclaim": "idle"}))), tmp_path,
                  policies={"idle": IDLE}, scripts={WHISPER: busy_until(FRIDAY_STOP)})
    try:
        world.tick(FRIDAY_STOP + timedelta(minutes=10))
        quiet_yet = _stop_annotation(world, WHISPER)
        world.tick(FRIDAY_STOP + timedelta(minutes=31))
        records = world.ledger.history(name="whisper")
    finally:
        world.close()
    assert quiet_yet is None
    assert [(r.transition.trigger, r.transition.evidence.get("requests"))
            for r in records] == [(Trigger.IDLE, 0.0)]


def test_metrics_outage_makes_no_idle_stop(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    outage = (FRIDAY_STOP, FRIDAY_STOP + timedelta(hours=2))
    world = build(make_sandbox(scenario(("team-b", "whisper", {"reclaim": "idle"}))), tmp_path,
                  policies={"idle": IDLE}, scripts={WHISPER: quiet()}, outages=(outage,))
    try:
        result = world.tick(FRIDAY_STOP + timedelta(hours=1))
    finally:
        world.close()
    assert (result.plan.actionable, result.observation.signals.unknown) == ((), 1)
    assert world.reconciler.metrics.signals_unknown._value.get() == 1


def test_metrics_outage_still_applies_schedule_edges(make_sandbox: MakeSandbox,
                                                     tmp_path: Path) -> None:
    outage = (DATA_FROM, FRIDAY_STOP + timedelta(hours=2))
    world = build(make_sandbox(scenario(("team-a", "llama", DEV))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, outages=(outage,))
    try:
        world.tick(FRIDAY_STOP)
    finally:
        world.close()
    assert _stop_annotation(world, LLAMA) == "true"


def test_invalid_policy_file_beside_a_valid_one(make_sandbox: MakeSandbox,
                                                tmp_path: Path) -> None:
    broken = (OFFICE_HOURS % {"busy": "force"}).replace("office-hours", "broken").replace(
        "0 19", "0 25")
    world = build(make_sandbox(scenario(("team-a", "llama", DEV))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}, "zbroken": broken},
                  scripts={LLAMA: quiet()})
    try:
        result = world.tick(FRIDAY_STOP)
    finally:
        world.close()
    assert [e.field for e in result.observation.invalid] == ["spec.schedule[0].stop"]
    assert _stop_annotation(world, LLAMA) == "true"
    assert world.reconciler.metrics.invalid_policies._value.get() == 1


def test_manual_start_is_recorded_as_external_and_respected(office: LoopWorld) -> None:
    office.tick(FRIDAY_STOP)
    office.tick(FRIDAY_STOP + timedelta(minutes=1))
    patch = {"metadata": {"annotations": {"serving.kserve.io/stop": None}}}
    office.rest.merge_patch(ISVC, "team-a", "llama", patch)
    office.sandbox.wait_idle()
    for hour in (3, 4, 5):
        office.tick(FRIDAY_STOP + timedelta(hours=hour))
    external = [r for r in office.ledger.history(name="llama")
                if r.transition.trigger is Trigger.EXTERNAL]
    assert [(r.transition.action, r.state) for r in external] == [
        (Action.START, RecordState.OBSERVED)]
    assert _stop_annotation(office, LLAMA) is None


def test_idle_stops_beyond_the_limit_wait(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    names = [("team-b", f"m{i}", {"reclaim": "idle"}) for i in range(3)]
    world = build(make_sandbox(scenario(*names)), tmp_path, policies={"idle": IDLE},
                  scripts={ServiceRef(ns, n): quiet() for ns, n, _ in names},
                  decide=DecideSettings(max_stops_per_tick=2, mass_idle_minimum=10))
    try:
        result = world.tick(FRIDAY_STOP)
    finally:
        world.close()
    applied = [o for o in result.outcomes if o.kind is OutcomeKind.APPLIED]
    assert len(applied) == 2


def test_a_policy_without_idle_rule_costs_no_signal_evaluation(office: LoopWorld) -> None:
    before = office.signals.calls
    office.tick(FRIDAY_STOP - timedelta(hours=1))
    assert office.signals.calls - before == 0


def test_starts_wait_for_room_among_starts_in_flight(make_sandbox: MakeSandbox,
                                                      tmp_path: Path) -> None:
    names = [("team-a", f"m{i}", DEV) for i in range(3)]
    world_scenario = scenario(*names)
    world_scenario["podStartSeconds"] = 60
    for isvc in world_scenario["inferenceServices"]:  # type: ignore[attr-defined]
        isvc["annotations"] = {"serving.kserve.io/stop": "true"}
    world = build(make_sandbox(world_scenario), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={ServiceRef(ns, n): quiet() for ns, n, _ in names},
                  decide=DecideSettings(max_concurrent_starts=2))
    try:
        world.inventory.resync()
        first = world.reconciler.reconcile_once(MONDAY_START)
        second = world.reconciler.reconcile_once(MONDAY_START + timedelta(seconds=5))
    finally:
        world.close()
    started = [o for o in first.outcomes if o.kind is OutcomeKind.APPLIED]
    assert (len(started), second.plan.actionable) == (2, ())
    assert second.next_wake == MONDAY_START + timedelta(seconds=10)


def test_an_edge_tick_costs_one_patch_and_one_event_per_stop(make_sandbox: MakeSandbox,
                                                             tmp_path: Path) -> None:
    refs = [ServiceRef("team-a", f"m{i}") for i in range(4)]
    world = build(make_sandbox(scenario(*[(r.namespace, r.name, DEV) for r in refs])),
                  tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={r: quiet() for r in refs})
    try:
        world.inventory.resync()
        world.sandbox.request_log.clear()
        result = world.reconciler.reconcile_once(FRIDAY_STOP)
        log = world.sandbox.request_log
        calls = [log.count(verb=verb, resource=resource) for verb, resource in [
            ("get", "inferenceservices"), ("patch", "inferenceservices"),
            ("create", "events"), ("list", "inferenceservices"), ("list", "pods")]]
    finally:
        world.close()
    assert [o.kind for o in result.outcomes][:4] == [OutcomeKind.APPLIED] * 4
    assert calls == [0, 4, 4, 1, 1]  # the follow-up's two LISTs are the tick's constant


def test_an_edge_whose_patch_failed_is_retried_next_tick(office: LoopWorld) -> None:
    """Its claim stays with its planned row, yet the next tick plans the edge again."""
    office.sandbox.faults.add("patch", "inferenceservices", status=409)
    first = office.tick(FRIDAY_STOP)
    second = office.tick(FRIDAY_STOP + timedelta(seconds=30))
    stops = [s for s in _states(office, LLAMA) if s[:2] == ("stop", "schedule")]
    assert ([o.kind for o in first.outcomes], [o.kind for o in second.outcomes][:1]) == (
        [OutcomeKind.RETRY], [OutcomeKind.APPLIED])
    assert (len(stops), _stop_annotation(office, LLAMA)) == (1, "true")
