"""LLMInferenceService (KServe 0.17) and InferenceGraph (0.16) stopped and started with
their own ``serving.kserve.io/stop``, against the sandbox over HTTP (issue 15 items 2-3).
"""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.kube import rest
from reclaimer.kube.kserve_version import controller_version
from reclaimer.model import Action, Reason, ServiceKind, ServiceRef, Transition, Trigger
from tests.executor.conftest import NS, T0, Harness, MakeHarness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
LLM = ServiceRef(NS, "chat", ServiceKind.LLM_INFERENCE_SERVICE)
GRAPH = ServiceRef(NS, "pipeline", ServiceKind.INFERENCE_GRAPH)
GPU = {"nvidia.com/gpu": "1"}
LLM_OBJ = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
           "metadata": {"name": "chat", "namespace": NS},
           "spec": {"replicas": 2, "template": {"containers": [
               {"name": "main", "image": "vllm/vllm-openai:latest",
                "resources": {"limits": GPU, "requests": GPU}}]}}}
GRAPH_OBJ = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
             "metadata": {"name": "pipeline", "namespace": NS,
                          "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
             "spec": {"nodes": {"root": {"routerType": "Sequence",
                                         "steps": [{"serviceName": "llama"}]}}}}


def _world(make_harness: MakeHarness, kserve: str) -> Harness:
    return make_harness(kserve, scenario={"objects": [LLM_OBJ, GRAPH_OBJ]})


def _apply(h: Harness, ref: ServiceRef, action: Action) -> Any:
    reason = Reason.SCHEDULE_STOP if action is Action.STOP else Reason.SCHEDULE_START
    uid = h.cluster.get_isvc(ref)["metadata"]["uid"]
    return h.executor.apply(Transition(ref=ref, uid=uid, action=action,
                                       trigger=Trigger.SCHEDULE, reason=reason,
                                       policy="team-a/office-hours", at=T0), at=T0)


def _pods(h: Harness, selector: str) -> int:
    return len(h.rest.list(rest.POD, NS, label_selector=selector).get("items") or [])


@pytest.mark.parametrize(("ref", "selector", "running"), [
    pytest.param(LLM, "app.kubernetes.io/name=chat", 2, id="llmisvc"),
    pytest.param(GRAPH, "serving.kserve.io/inferencegraph=pipeline", 1, id="graph"),
])
def test_a_stop_and_a_start_are_verified(make_harness: MakeHarness, ref: ServiceRef,
                                         selector: str, running: int) -> None:
    h = _world(make_harness, "0.17")
    stopped = _apply(h, ref, Action.STOP)
    h.settle()
    verified_stop = [(o.ref, o.kind.value) for o in h.follow_up()]
    pods_stopped = _pods(h, selector)
    _apply(h, ref, Action.START)
    h.settle()
    verified_start = [(o.ref, o.kind.value) for o in h.follow_up()]
    assert (stopped.kind.value, stopped.strategy, verified_stop, pods_stopped) == (
        "applied", "native", [(ref, "verified")], 0)
    assert (verified_start, _pods(h, selector)) == ([(ref, "verified")], running)


def test_history_says_the_kind(make_harness: MakeHarness) -> None:
    h = _world(make_harness, "0.17")
    _apply(h, LLM, Action.STOP)
    kinds = [r.transition.ref.kind for r in h.ledger.history()]
    assert kinds == [ServiceKind.LLM_INFERENCE_SERVICE]


def test_the_event_names_the_kind(make_harness: MakeHarness) -> None:
    h = _world(make_harness, "0.17")
    _apply(h, LLM, Action.STOP)
    involved = [e["involvedObject"] for e in h.events()]
    assert [(o["kind"], o["apiVersion"], o["name"]) for o in involved] == [
        ("LLMInferenceService", "serving.kserve.io/v1alpha1", "chat")]


@pytest.mark.parametrize(("kserve", "ref", "refused"), [
    pytest.param("0.16", LLM, "KServe 0.16.0 does not stop a LLMInferenceService",
                 id="llmisvc-needs-0.17"),
    pytest.param("0.15", GRAPH, "KServe 0.15.2 does not stop a InferenceGraph",
                 id="graph-needs-0.16"),
])
def test_an_older_kserve_is_refused_with_the_reason(make_harness: MakeHarness, kserve: str,
                                                    ref: ServiceRef, refused: str) -> None:
    h = _world(make_harness, kserve)
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    outcome = _apply(h, ref, Action.STOP)
    annotations = h.cluster.get_isvc(ref)["metadata"].get("annotations") or {}
    assert (outcome.kind.value, refused in outcome.message,
            "serving.kserve.io/stop" in annotations) == ("failed", True, False)
