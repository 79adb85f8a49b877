"""The real KServe (0.15.2, where auto picks managed, and 0.16 configured for it): a
person's own ``autoscalerClass: external`` after a managed stop and start is put back
by the next start, not an earlier stop's class and replicas
(the sandbox test is tests/executor/test_managed_stale_restore.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.model import Action
from tests.controlplane.world import T0, RealWorld

pytestmark = pytest.mark.timeout(300)
CLASS = "serving.kserve.io/autoscalerClass"


def _looks(world: RealWorld) -> tuple[Any, ...]:
    return (st.annotations_of(world.isvc("llama")).get(CLASS),
            {d.metadata.name: d.spec.replicas for d in world.deployments("llama")})


def test_a_start_puts_back_the_persons_own_external_class_and_replicas(
        world: RealWorld) -> None:
    """On 0.16 KServe could stop Raw natively; the managed strategy is chosen there by
    configuration (``executor.strategy: managed``), and the same must hold."""
    world.serving("llama")
    harness = world.executor(strategy="managed")
    for action, at in ((Action.STOP, T0), (Action.START, T0 + timedelta(hours=1))):
        harness.apply(action, "llama", at=at)
        harness.verified("llama", at=at)
    harness.cluster.patch_isvc(world.ref("llama"), {"metadata": {  # as kubectl annotate
        "annotations": {CLASS: "external"}}})
    (deployment,) = world.deployments("llama")
    harness.cluster.scale_deployment(world.namespace, deployment.metadata.name, 2)
    person = ("external", {deployment.metadata.name: 2})
    assert _looks(world) == person
    for action, at in ((Action.STOP, T0 + timedelta(days=1)),
                       (Action.START, T0 + timedelta(days=1, hours=1))):
        harness.apply(action, "llama", at=at)
        harness.verified("llama", at=at)
    assert _looks(world) == person
