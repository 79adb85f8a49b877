"""reclaimer's executor against the real KServe controller: strategy, stop, start, verify.

On 0.15.2 a Raw ISVC has no native stop, so ``auto`` must pick the managed strategy;
on 0.16.0 KServe writes its ``Stopped`` condition on the ISVC and ``auto`` goes native.
Either way a stop is verified only once the real pods are gone, and a start only once
KServe reports Ready again with Running pods.
"""

from __future__ import annotations

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.controlplane.world import RealWorld

pytestmark = pytest.mark.timeout(300)


def expected_strategy(world: RealWorld) -> str:
    return "native" if world.native_release else "managed-raw"


def test_auto_picks_the_strategy_this_release_honours(world: RealWorld) -> None:
    world.serving("llama")
    outcome = world.executor().apply(Action.STOP, "llama")
    assert (outcome.kind, outcome.strategy) == (OutcomeKind.APPLIED, expected_strategy(world))


def test_each_isvc_gets_its_own_strategy_decision(world: RealWorld) -> None:
    """Two ISVCs in one cluster: each stop is decided from that ISVC, both the same way."""
    world.serving("first", "second")
    harness = world.executor()
    strategies = [harness.apply(Action.STOP, name).strategy for name in ("first", "second")]
    assert strategies == [expected_strategy(world)] * 2


def test_a_stop_is_verified_only_once_the_pods_are_gone(world: RealWorld) -> None:
    world.serving("llama")
    harness = world.executor()
    assert harness.apply(Action.STOP, "llama").kind is OutcomeKind.APPLIED
    harness.verified("llama")
    assert (world.live_pods("llama"), harness.states("llama")) == ([], ["verified"])


def test_a_start_brings_the_pods_back_and_is_verified_by_ready(world: RealWorld) -> None:
    world.serving("llama")
    harness = world.executor()
    harness.apply(Action.STOP, "llama")
    harness.verified("llama")
    assert harness.apply(Action.START, "llama").kind is OutcomeKind.APPLIED
    harness.verified("llama")
    world.wait_serving("llama")
    assert harness.states("llama") == ["verified", "verified"]


def test_a_full_cycle_leaves_labels_and_annotations_as_the_user_had_them(
        world: RealWorld) -> None:
    world.serving("llama")
    before = world.isvc("llama")["metadata"]
    harness = world.executor()
    for action in (Action.STOP, Action.START):
        harness.apply(action, "llama")
        harness.verified("llama")
    after = world.isvc("llama")["metadata"]
    assert (after.get("labels"), after.get("annotations")) == (
        before.get("labels"), before.get("annotations"))


def test_stop_and_start_each_leave_one_event_on_the_isvc(world: RealWorld) -> None:
    world.serving("llama")
    harness = world.executor()
    for action in (Action.STOP, Action.START):
        harness.apply(action, "llama")
        harness.verified("llama")
    events = world.core().list_namespaced_event(
        world.namespace, field_selector="involvedObject.name=llama").items
    ours = sorted(e.reason for e in events if e.reporting_component == "reclaimer")
    assert ours == ["Reclaimed", "Restored"]
