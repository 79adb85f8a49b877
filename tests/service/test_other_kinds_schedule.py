"""A schedule stops and starts an LLMInferenceService and an InferenceGraph through the
whole loop (inventory, decide, executor, ledger) on the sandbox's KServe 0.17 profile
(issue 15 items 2-3); a policy that does not name their kinds leaves them alone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.model import Action, ServiceKind, ServiceRef, ServiceState
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    MONDAY_START,
    OFFICE_HOURS,
    LoopWorld,
    build,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
ISVC = ServiceRef("team-a", "llama")
LLM = ServiceRef("team-a", "chat", ServiceKind.LLM_INFERENCE_SERVICE)
GRAPH = ServiceRef("team-a", "pipeline", ServiceKind.INFERENCE_GRAPH)
GPU = {"nvidia.com/gpu": "1"}
ALL_KINDS = "  selector:\n    kinds: [InferenceService, LLMInferenceService, InferenceGraph]\n"


def _objects() -> list[dict[str, Any]]:
    meta = {"namespace": "team-a", "labels": {"tier": "dev"}}
    llm = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
           "metadata": {"name": "chat", **meta},
           "spec": {"replicas": 1, "template": {"containers": [
               {"name": "main", "image": "vllm/vllm-openai:latest",
                "resources": {"limits": GPU, "requests": GPU}}]}}}
    graph = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
             "metadata": {"name": "pipeline", **meta,
                          "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
             "spec": {"nodes": {"root": {"routerType": "Sequence",
                                         "steps": [{"serviceName": "llama"}]}}}}
    return [llm, graph]


def _world(make_sandbox: MakeSandbox, tmp_path: Path, *, kinds: bool) -> LoopWorld:
    world_scenario = {**scenario(("team-a", "llama", {"tier": "dev"})), "kserve": "0.17",
                      "objects": _objects()}
    policy = OFFICE_HOURS % {"busy": "force"}
    if kinds:
        policy = policy.replace("  selector: {matchLabels: {tier: dev}}\n",
                                ALL_KINDS + "    matchLabels: {tier: dev}\n")
    return build(make_sandbox(world_scenario), tmp_path, policies={"office": policy},
                 scripts={ref: quiet() for ref in (ISVC, LLM, GRAPH)})


def _states(world: LoopWorld) -> dict[ServiceRef, ServiceState]:
    return {s.ref: s.state for s in world.inventory.snapshot()}


def test_a_schedule_stops_and_starts_every_kind_it_names(make_sandbox: MakeSandbox,
                                                         tmp_path: Path) -> None:
    world = _world(make_sandbox, tmp_path, kinds=True)
    try:
        world.tick(FRIDAY_STOP)
        world.tick(FRIDAY_STOP + timedelta(minutes=1))
        stopped = _states(world)
        world.tick(MONDAY_START)
        world.tick(MONDAY_START + timedelta(minutes=1))
        started = _states(world)
        rows = {(r.transition.ref, r.transition.action, r.state.value)
                for r in world.ledger.history()}
    finally:
        world.close()
    everyone = (ISVC, LLM, GRAPH)
    assert stopped == dict.fromkeys(everyone, ServiceState.STOPPED)
    assert started == dict.fromkeys(everyone, ServiceState.RUNNING)
    assert rows == {(ref, action, "verified") for ref in everyone
                    for action in (Action.STOP, Action.START)}


def test_a_policy_without_kinds_leaves_other_kinds_running(make_sandbox: MakeSandbox,
                                                           tmp_path: Path) -> None:
    world = _world(make_sandbox, tmp_path, kinds=False)
    try:
        world.tick(FRIDAY_STOP)
        world.tick(FRIDAY_STOP + timedelta(minutes=1))
        states = _states(world)
    finally:
        world.close()
    assert states == {ISVC: ServiceState.STOPPED, LLM: ServiceState.RUNNING,
                      GRAPH: ServiceState.RUNNING}
