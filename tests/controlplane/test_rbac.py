"""reclaimer under the chart's own RBAC: a ServiceAccount token, bound as the chart binds it.

What the executor needs for a whole stop/start cycle must be allowed; writes the chart
does not grant must get 403 from the real authorizer.
"""

from __future__ import annotations

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


VAP_SUBRESOURCE_BUG = (
    "the chart's ValidatingAdmissionPolicy reads request.subResource, which the real "
    "kube-apiserver 1.34 leaves out of a request to the main resource: 'no such key: "
    "subResource'; with failurePolicy Fail the managed stop's ISVC patch (autoscalerClass) "
    "is denied (seen too on 0.16's native patch) "
    "(helm/reclaimer/templates/admissionpolicy.yaml, h-priv's area). Not strict: some runs "
    "got through")


def test_a_stop_passes_the_chart_admission_policy(
        world: RealWorld, admitted_kubeconfig: Path, request: pytest.FixtureRequest) -> None:
    """The stop this release needs (native on 0.16, managed on 0.15.2) under the policy."""
    request.applymarker(pytest.mark.xfail(strict=False, reason=VAP_SUBRESOURCE_BUG))
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
