"""Issue 13 case 4: the time of a stop-state change is when reclaimer observed it.

``managedFields[].time`` moves whenever that manager changes any of its fields, so a
person who ran ``kubectl annotate stop=false`` in the morning and ``kubectl annotate
owner=alice`` at 19:20 did not change the stop state after the 19:00 edge: the deferred
stop still goes through, and no external start is recorded. Against the sandbox over
HTTP (dated by a test clock, so managedFields times fall where the story needs them) and
a real ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.kserve import STOP_ANNOTATION
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.rest import ISVC, Rest
from reclaimer.ledger import Ledger
from reclaimer.model import Action, Reason, ServiceRef, Trigger
from tests.fixtures.sandbox import SandboxHandle
from tests.service.conftest import SandboxClock
from tests.service.loop_world import (
    DATA_FROM,
    FRIDAY_STOP,
    OFFICE_HOURS,
    LoopWorld,
    build,
    busy_until,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
LLAMA = ServiceRef("team-a", "llama")
Factory = Callable[[dict[str, Any], SandboxClock], SandboxHandle]


def _person(world: LoopWorld, clock: SandboxClock, at: timedelta,
            annotations: dict[str, str | None]) -> None:
    """``kubectl annotate`` by a person at FRIDAY_STOP + ``at`` (sandbox time)."""
    clock.at = FRIDAY_STOP + at
    person = Rest(api_client_for_host(world.sandbox.url), field_manager="kubectl-annotate")
    person.merge_patch(ISVC, LLAMA.namespace, LLAMA.name,
                       {"metadata": {"annotations": annotations}})
    world.sandbox.wait_idle()


def _tick(world: LoopWorld, clock: SandboxClock, at: timedelta) -> None:
    clock.at = FRIDAY_STOP + at
    world.tick(FRIDAY_STOP + at)


def _annotation(world: LoopWorld) -> str | None:
    obj = world.rest.get(ISVC, LLAMA.namespace, LLAMA.name)
    return (obj["metadata"].get("annotations") or {}).get(STOP_ANNOTATION)


def test_case4_another_annotation_edit_does_not_supersede_a_deferred_stop(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    clock = SandboxClock(DATA_FROM)
    world = build(clocked_sandbox(scenario(("team-a", "llama", {"tier": "dev"})), clock),
                  tmp_path, policies={"office": OFFICE_HOURS % {"busy": "defer"}},
                  scripts={LLAMA: busy_until(FRIDAY_STOP + timedelta(minutes=25))}, ledger=store)
    try:
        _person(world, clock, -timedelta(hours=11, minutes=30), {STOP_ANNOTATION: "false"})
        _tick(world, clock, -timedelta(hours=11))
        _tick(world, clock, timedelta(0))  # busy: deferred
        _person(world, clock, timedelta(minutes=20), {"owner": "alice"})
        _tick(world, clock, timedelta(minutes=21))
        _tick(world, clock, timedelta(minutes=32))  # quiet since 19:25: stopped
        records = world.ledger.history(name="llama")
    finally:
        world.close()
    assert _annotation(world) == "true"
    assert [r for r in records if r.transition.trigger is Trigger.EXTERNAL] == []
    assert [r.transition.reason for r in reversed(records)
            if r.transition.action is Action.STOP] == [
        Reason.DEFERRED_BUSY, Reason.SCHEDULE_STOP]


def test_case4_a_change_is_dated_when_observed_and_recorded_once(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    clock = SandboxClock(DATA_FROM)
    world = build(clocked_sandbox(scenario(("team-a", "llama", {"tier": "dev"})), clock),
                  tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    try:
        _tick(world, clock, timedelta(0))  # reclaimer stops it at 19:00
        _tick(world, clock, timedelta(minutes=1))
        _person(world, clock, timedelta(minutes=10), {STOP_ANNOTATION: None})  # starts it
        _person(world, clock, timedelta(minutes=40), {"owner": "alice"})
        for minutes in (50, 51, 80):
            _tick(world, clock, timedelta(minutes=minutes))
        external = [r for r in world.ledger.history(name="llama")
                    if r.transition.trigger is Trigger.EXTERNAL]
    finally:
        world.close()
    assert [(r.transition.action, r.transition.at) for r in external] == [
        (Action.START, FRIDAY_STOP + timedelta(minutes=50))]
    assert _annotation(world) is None


def test_case4_person_wins_when_the_order_is_unknown(
        clocked_sandbox: Factory, tmp_path: Path, store: Ledger) -> None:
    """A stop by hand and the Monday start edge both fell while reclaimer was down."""
    clock = SandboxClock(DATA_FROM)
    world = build(clocked_sandbox(scenario(("team-a", "llama", {"tier": "dev"})), clock),
                  tmp_path, policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    monday_start = timedelta(days=2, hours=12)  # Monday 08:00 Berlin (CEST)
    try:
        _tick(world, clock, -timedelta(hours=1))  # running, governed, before the 19:00 stop
        _person(world, clock, timedelta(days=2), {STOP_ANNOTATION: "true"})  # Sunday
        _tick(world, clock, monday_start + timedelta(hours=2))  # back on Monday 10:00
        _tick(world, clock, monday_start + timedelta(hours=3))
        records = world.ledger.history(name="llama")
    finally:
        world.close()
    assert _annotation(world) == "true"
    assert [(r.transition.action, r.transition.trigger) for r in records
            if r.transition.trigger is Trigger.EXTERNAL] == [
        (Action.STOP, Trigger.EXTERNAL)]
