"""reclaimer under the chart's own RBAC: a ServiceAccount token, bound as the chart binds it.

What the executor needs for a whole stop/start cycle must be allowed; writes the chart
does not grant must get 403 from the real authorizer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.model import Action
from tests.controlplane.world import RealWorld

pytestmark = pytest.mark.timeout(300)


def test_a_stop_start_cycle_succeeds_under_the_chart_rbac(
        world: RealWorld, chart_kubeconfig: Path) -> None:
    world.serving("llama")
    harness = world.executor(kubeconfig=chart_kubeconfig)
    for action in (Action.STOP, Action.START):
        harness.apply(action, "llama")
        harness.verified("llama")
    world.wait_serving("llama")
    assert harness.states("llama") == ["verified", "verified"]


def _delete_deployment(api: client.ApiClient, namespace: str) -> None:
    client.AppsV1Api(api).delete_namespaced_deployment("llama-predictor", namespace)


def _create_secret(api: client.ApiClient, namespace: str) -> None:
    client.CoreV1Api(api).create_namespaced_secret(namespace, {"metadata": {"name": "x"}})


def _delete_pods(api: client.ApiClient, namespace: str) -> None:
    client.CoreV1Api(api).delete_collection_namespaced_pod(namespace)


def _cordon_node(api: client.ApiClient, namespace: str) -> None:
    client.CoreV1Api(api).patch_node("gpu-general-0", {"spec": {"unschedulable": True}})


def _edit_kserve_config(api: client.ApiClient, namespace: str) -> None:
    client.CoreV1Api(api).patch_namespaced_config_map(
        "inferenceservice-config", "kserve", {"data": {"deploy": "{}"}})


@pytest.mark.parametrize("write", [
    pytest.param(_delete_deployment, id="delete-a-deployment"),
    pytest.param(_create_secret, id="create-a-secret"),
    pytest.param(_delete_pods, id="delete-pods"),
    pytest.param(_cordon_node, id="cordon-a-node"),
    pytest.param(_edit_kserve_config, id="edit-kserve-config"),
])
def test_a_write_outside_the_chart_rbac_is_forbidden(
        world: RealWorld, chart_kubeconfig: Path,
        write: Callable[[client.ApiClient, str], None]) -> None:
    api = world.rest(chart_kubeconfig).api_client
    with pytest.raises(ApiException) as denied:
        write(api, world.namespace)
    assert denied.value.status == 403




def test_a_stop_passes_the_chart_admission_policy(
        world: RealWorld, admitted_kubeconfig: Path) -> None:
    """The stop this release needs (native on 0.16, managed on 0.15.2) under the policy."""
    world.serving("llama")
    harness = world.executor(kubeconfig=admitted_kubeconfig)
    outcome = harness.apply(Action.STOP, "llama")
    assert outcome.kind is OutcomeKind.APPLIED, outcome.message


def test_the_admission_policy_refuses_a_label_change_rbac_would_allow(
        world: RealWorld, admitted_kubeconfig: Path) -> None:
    """RBAC grants `patch` on every ISVC; the chart's ValidatingAdmissionPolicy, enforced by
    the real API server, refuses the service account a change to the ISVC's labels."""
    world.serving("llama")
    api = world.rest(admitted_kubeconfig).api_client
    with pytest.raises(ApiException) as denied:
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", world.namespace, "inferenceservices", "llama",
            {"metadata": {"labels": {"tier": "prod"}}})
    assert denied.value.status in (403, 422)
    assert "ValidatingAdmissionPolicy" in denied.value.body and "denied" in denied.value.body


@pytest.mark.parametrize(("body", "allowed"), [
    pytest.param({"spec": {"replicas": 0}}, True, id="replicas-to-0-allowed"),
    pytest.param({"spec": {"replicas": 0, "containers": [
        {"name": "triton", "image": "evil.example/x:1"}]}}, False, id="image-change-denied"),
])
def test_the_admission_policy_holds_a_serving_runtime_to_its_replicas(
        world: RealWorld, admitted_kubeconfig: Path, body: dict[str, object],
        allowed: bool) -> None:
    """ModelMesh runtime-level reclaim: RBAC grants `patch` on every ServingRuntime; the
    real API server, with the chart's policy, lets through only spec.replicas to 0."""
    runtime = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
               "metadata": {"name": "triton"},
               "spec": {"multiModel": True, "supportedModelFormats": [{"name": "onnx"}],
                        "containers": [{"name": "triton", "image": "nvcr.io/triton:24.01"}]}}
    world.custom().create_namespaced_custom_object(
        "serving.kserve.io", "v1alpha1", world.namespace, "servingruntimes", runtime)
    api = world.rest(admitted_kubeconfig).api_client
    probe = {"metadata": {"labels": {"probe": "x"}}}  # denied once the policy is loaded
    deadline = time.monotonic() + 30
    while _patched(api, world.namespace, probe) == 200 and time.monotonic() < deadline:
        time.sleep(0.5)  # the API server loads a new policy a moment after it is created
    assert (_patched(api, world.namespace, body) == 200) is allowed


def _patched(api: client.ApiClient, namespace: str, body: dict[str, object]) -> int:
    try:
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            "serving.kserve.io", "v1alpha1", namespace, "servingruntimes", "triton", body)
    except ApiException as denied:
        return int(denied.status)
    return 200
