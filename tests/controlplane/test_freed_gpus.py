"""The GPUs a stop frees are proven by the real kube-scheduler, not by our own counting.

One tainted node has one GPU. An ISVC that tolerates the taint holds it; a Pod that
needs that GPU waits Pending (the scheduler records it Unschedulable). Only after
reclaimer's stop is verified may the scheduler bind the Pod to that node.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from reclaimer.model import Action
from tests.controlplane.nodes import EXCLUSIVE_NODE, EXCLUSIVE_TAINT, POOL_LABEL
from tests.controlplane.world import RealWorld
from tests.e2e.harness import wait_for

pytestmark = pytest.mark.timeout(300)


def gpu_pod(name: str) -> dict[str, Any]:
    gpu = {"nvidia.com/gpu": "1"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeSelector": {POOL_LABEL: "exclusive"},
                     "tolerations": [{**EXCLUSIVE_TAINT, "operator": "Equal"}],
                     "containers": [{"name": "train", "image": "trainer:1",
                                     "resources": {"requests": gpu, "limits": gpu}}]}}


def unschedulable(world: RealWorld, name: str) -> bool:
    pod = world.core().read_namespaced_pod(name, world.namespace)
    conditions = {c.type: c for c in pod.status.conditions or []}
    scheduled = conditions.get("PodScheduled")
    return (pod.spec.node_name is None and scheduled is not None
            and scheduled.status == "False" and scheduled.reason == "Unschedulable")


def bound_node(world: RealWorld, name: str) -> str | None:
    node: str | None = world.core().read_namespaced_pod(name, world.namespace).spec.node_name
    return node


def test_a_pending_gpu_pod_is_bound_after_the_stop_and_not_before(world: RealWorld) -> None:
    world.serving("holder", exclusive=True)
    assert world.running_pods("holder")[0].spec.node_name == EXCLUSIVE_NODE
    world.core().create_namespaced_pod(world.namespace, gpu_pod("waiting"))
    wait_for(lambda: unschedulable(world, "waiting"), timeout=60,
             what="the scheduler to find no free GPU for the waiting pod")

    harness = world.executor()
    harness.apply(Action.STOP, "holder")
    harness.verified("holder")

    assert wait_for(lambda: bound_node(world, "waiting"), timeout=90,
                    what="the scheduler to bind the waiting pod") == EXCLUSIVE_NODE


def test_a_start_is_not_verified_while_the_model_pod_cannot_be_scheduled(
        world: RealWorld) -> None:
    """Stop the GPU holder, let a training pod take the GPU, start the model again: its
    pod stays Pending, so the start must stay unverified (on 0.15.2 the managed start
    is verified by its Deployment, not by the Ready that KServe left True)."""
    world.serving("holder", exclusive=True)
    harness = world.executor()
    harness.apply(Action.STOP, "holder")
    harness.verified("holder")
    world.core().create_namespaced_pod(world.namespace, gpu_pod("taker"))
    wait_for(lambda: bound_node(world, "taker"), timeout=90, what="the taker bound")
    harness.apply(Action.START, "holder")
    wait_for(lambda: [p for p in world.core().list_namespaced_pod(
        world.namespace, label_selector="serving.kserve.io/inferenceservice=holder").items
        if p.status.phase == "Pending"] or None, timeout=60, what="the model's pod Pending")
    for _ in range(5):
        harness.follow_up()
        time.sleep(1.0)
    assert harness.states("holder") == ["verified", "applied"]
