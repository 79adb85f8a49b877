"""KServe 0.17: LLMInferenceService, its workload and its stop (``kserve_stop.md`` §9)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox_tests.simkit import NS, STOP, exists
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = pytest.mark.integration
LLM = ("serving.kserve.io", "v1alpha1", NS, "llminferenceservices", "chat")
SELECTOR = "app.kubernetes.io/name=chat"


def _world(make_sandbox: MakeSandbox, kserve: str = "0.17") -> SandboxHandle:
    gpu = {"nvidia.com/gpu": "1"}
    llm = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
           "metadata": {"name": "chat", "namespace": NS},
           "spec": {"replicas": 2, "template": {"containers": [
               {"name": "main", "image": "vllm/vllm-openai:latest",
                "resources": {"limits": gpu, "requests": gpu}}]}}}
    return make_sandbox({"kserve": kserve, "podTerminationSeconds": 0, "namespaces": [NS],
                         "objects": [llm]})


def _llm(h: SandboxHandle) -> dict[str, Any]:
    found: dict[str, Any] = client.CustomObjectsApi(h.api_client).get_namespaced_custom_object(
        *LLM)
    return found


def _pods(h: SandboxHandle) -> int:
    return len(client.CoreV1Api(h.api_client).list_namespaced_pod(
        NS, label_selector=SELECTOR).items)


def _stop(h: SandboxHandle, value: str | None) -> None:
    client.CustomObjectsApi(h.api_client).patch_namespaced_custom_object(
        *LLM, {"metadata": {"annotations": {STOP: value}}})
    h.wait_idle(terminations=True)


def _ready(h: SandboxHandle) -> dict[str, tuple[str, str | None]]:
    return {c["type"]: (c["status"], c.get("reason"))
            for c in _llm(h)["status"]["conditions"]}


def test_the_workload_runs_with_its_gpus(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox)
    assert (exists(h, "deployment", "chat-kserve"), _pods(h), _ready(h)["Ready"]) == (
        True, 2, ("True", None))


def test_stop_deletes_the_workload_and_marks_every_condition(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox)
    _stop(h, "true")
    assert (exists(h, "deployment", "chat-kserve"), _pods(h)) == (False, 0)
    assert set(_ready(h).values()) == {("False", "Stopped")}
    assert "workloads" not in _llm(h)["status"]


def test_start_brings_the_workload_back(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox)
    _stop(h, "true")
    _stop(h, None)
    assert (_pods(h), _ready(h)["Ready"]) == (2, ("True", None))


def test_016_does_not_reconcile_llm_inference_services(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox, kserve="0.16")
    assert (exists(h, "deployment", "chat-kserve"), _llm(h).get("status")) == (False, None)
