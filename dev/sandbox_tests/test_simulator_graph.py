"""InferenceGraph: the router KServe runs for a graph, and its own stop from 0.16."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox_tests.simkit import NS, STOP, exists
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = pytest.mark.integration
IG = ("serving.kserve.io", "v1alpha1", NS, "inferencegraphs", "pipeline")
ROUTER = {"Knative": ["ksvc"], "Standard": ["deployment", "service"]}


def _graph(mode: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
            "metadata": {"name": "pipeline", "namespace": NS,
                         "annotations": {"serving.kserve.io/deploymentMode": mode}},
            "spec": {"nodes": {"root": {"routerType": "Sequence",
                                        "steps": [{"serviceName": "llama"}]}}}}


def _world(make_sandbox: MakeSandbox, mode: str, kserve: str = "0.16") -> SandboxHandle:
    return make_sandbox({"kserve": kserve, "podTerminationSeconds": 0, "namespaces": [NS],
                         "objects": [_graph(mode)]})


def _read(h: SandboxHandle) -> dict[str, Any]:
    found: dict[str, Any] = client.CustomObjectsApi(h.api_client).get_namespaced_custom_object(
        *IG)
    return found


def _stop(h: SandboxHandle, value: str | None) -> None:
    client.CustomObjectsApi(h.api_client).patch_namespaced_custom_object(
        *IG, {"metadata": {"annotations": {STOP: value}}})
    h.wait_idle(terminations=True)


def _conditions(h: SandboxHandle) -> list[tuple[str, str, str | None]]:
    return [(c["type"], c["status"], c.get("reason"))
            for c in _read(h)["status"]["conditions"]]


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_a_graph_runs_its_router(make_sandbox: MakeSandbox, mode: str) -> None:
    h = _world(make_sandbox, mode)
    assert all(exists(h, kind, "pipeline") for kind in ROUTER[mode])
    assert (_conditions(h), bool(_read(h)["status"]["url"])) == ([("Ready", "True", None)], True)


@pytest.mark.parametrize("mode", ["Knative", "Standard"])
def test_a_016_stop_deletes_the_router_and_marks_the_graph(make_sandbox: MakeSandbox,
                                                           mode: str) -> None:
    h = _world(make_sandbox, mode)
    _stop(h, "true")
    assert not any(exists(h, kind, "pipeline") for kind in ROUTER[mode])
    assert (_conditions(h), _read(h)["status"].get("url")) == (
        [("Ready", "False", "Stopped"), ("Stopped", "True", None)], None)


def test_a_resume_brings_the_router_back_with_stopped_false(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox, "Knative")
    _stop(h, "true")
    _stop(h, None)
    assert _conditions(h) == [("Ready", "True", None), ("Stopped", "False", None)]


def test_015_has_no_graph_stop(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox, "Knative", kserve="0.15")
    _stop(h, "true")
    assert exists(h, "ksvc", "pipeline") and _conditions(h) == [("Ready", "True", None)]
