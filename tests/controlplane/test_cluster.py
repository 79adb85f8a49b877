"""The cluster itself: fake GPU nodes, RBAC on, and the KServe release's own stop behaviour.

These tests pin down what the real controller does, which the rest of the tier (and the
sandbox's profiles) rely on: a Raw ISVC becomes Ready with pods on a GPU node; 0.16
deletes its Deployment when the stop annotation is set and writes ``Stopped``; 0.15.2
does neither for a Raw ISVC (kserve_stop.md §9).
"""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.controlplane.cluster import ControlPlane
from tests.controlplane.nodes import GENERAL_GPUS
from tests.controlplane.world import STOP, RealWorld, condition
from tests.e2e.harness import wait_for

pytestmark = pytest.mark.timeout(300)


def test_fake_nodes_are_ready_and_offer_gpus(admin: client.ApiClient) -> None:
    nodes = client.CoreV1Api(admin).list_node().items
    ready = {n.metadata.name for n in nodes
             if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])}
    gpus = sorted(int(n.status.allocatable["nvidia.com/gpu"]) for n in nodes)
    assert (len(ready), gpus) == (len(nodes), [1] + [GENERAL_GPUS] * (len(nodes) - 1))


def test_an_unbound_service_account_is_forbidden(plane: ControlPlane, world: RealWorld) -> None:
    """Authorization is on: a token with no RoleBinding may not even list pods."""
    from tests.controlplane.rbac import service_account_client  # noqa: PLC0415

    with service_account_client(plane, world.admin, world.namespace, "nobody") as api, \
            pytest.raises(ApiException) as denied:
        client.CoreV1Api(api).list_namespaced_pod(world.namespace)
    assert denied.value.status == 403


def test_the_webhook_rejects_an_invalid_isvc(world: RealWorld) -> None:
    """The release's validating webhook is wired: a bad autoscaler class is refused."""
    body = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "bad", "annotations": {
                "serving.kserve.io/autoscalerClass": "not-a-class"}},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                                             "storageUri": "gs://bucket/model"}}}}
    with pytest.raises(ApiException) as refused:
        world.custom().create_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", world.namespace, "inferenceservices", body)
    message = refused.value.body.lower()
    assert "admission webhook" in message and "denied" in message and "autoscaler" in message


def test_a_raw_isvc_becomes_ready_with_its_pods_on_a_gpu_node(world: RealWorld) -> None:
    world.serving("llama")
    [pod] = world.running_pods("llama")
    isvc = world.isvc("llama")
    assert isvc["status"]["deploymentMode"] in ("RawDeployment", "Standard")
    assert pod.spec.node_name.startswith("gpu-general-")
    assert pod.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"


def test_kserve_writes_stopped_false_on_a_running_raw_isvc_only_from_016(
        world: RealWorld) -> None:
    world.serving("llama")
    stopped = condition(world.isvc("llama"), "Stopped")
    if world.native_release:
        assert stopped is not None and stopped["status"] == "False"
    else:
        assert stopped is None


def test_the_stop_annotation_stops_a_raw_isvc_only_from_016(world: RealWorld) -> None:
    world.serving("llama")
    world.custom().patch_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", world.namespace, "inferenceservices", "llama",
        {"metadata": {"annotations": {STOP: "true"}}})
    if world.native_release:
        world.wait_no_pods("llama")
        wait_for(lambda: (condition(world.isvc("llama"), "Stopped") or {}).get("status")
                 == "True", timeout=60, what="Stopped=True")
        assert world.deployments("llama") == []
    else:
        # 0.15.2 copies the annotation into the pod template: a rollout, never a stop.
        wait_for(lambda: all(STOP in (d.spec.template.metadata.annotations or {})
                             for d in world.deployments("llama")) or None,
                 timeout=60, what="the annotation in the pod template")
        world.wait_serving("llama")
        assert [d.spec.replicas for d in world.deployments("llama")] == [1]
