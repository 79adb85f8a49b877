"""KEDA: KServe's ScaledObject for class ``keda`` and KEDA driving the replicas."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox_tests.simkit import NS, STOP, annotate, exists, pod_names, scenario
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = pytest.mark.integration
CLASS = "serving.kserve.io/autoscalerClass"
PAUSED = "autoscaling.keda.sh/paused-replicas"


def keda(h_kserve: str = "0.15", **entry: Any) -> dict[str, Any]:
    base = scenario("Standard", kserve=h_kserve, annotations={CLASS: "keda"}, **entry)
    return {**base, "keda": True}


def scaled_object(h: SandboxHandle) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.CustomObjectsApi(h.api_client).get_namespaced_custom_object(
            "keda.sh", "v1alpha1", NS, "scaledobjects", "llama-predictor")
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found


def pause(h: SandboxHandle, value: str | None) -> None:
    client.CustomObjectsApi(h.api_client).patch_namespaced_custom_object(
        "keda.sh", "v1alpha1", NS, "scaledobjects", "llama-predictor",
        {"metadata": {"annotations": {PAUSED: value}}})
    h.wait_idle()


@pytest.mark.parametrize(("entry", "pods"), [
    pytest.param({"minReplicas": 1, "maxReplicas": 4, "load": 3}, 3, id="load-within-bounds"),
    pytest.param({"minReplicas": 1, "maxReplicas": 2, "load": 5}, 2, id="capped-at-max"),
    pytest.param({"minReplicas": 0, "maxReplicas": 2, "load": 0}, 0, id="zero-when-min-is-0"),
    pytest.param({"minReplicas": 2, "maxReplicas": 3}, 2, id="no-load-is-min"),
])
def test_keda_drives_the_replicas_between_min_and_max(make_sandbox: MakeSandbox,
                                                      entry: dict[str, Any],
                                                      pods: int) -> None:
    h = make_sandbox(keda(**entry))
    so = scaled_object(h)
    assert so is not None and not exists(h, "hpa", "llama-predictor")
    assert len(pod_names(h)) == pods


def test_paused_replicas_hold_until_removed(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(keda(minReplicas=1, maxReplicas=4, load=3))
    pause(h, "0")
    paused = len(pod_names(h))
    pause(h, None)
    assert (paused, len(pod_names(h))) == (0, 3)


def test_a_class_change_to_external_leaves_the_scaled_object_in_charge(
        make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(keda(minReplicas=1, maxReplicas=4, load=3))
    annotate(h, {CLASS: "external"})
    client.AppsV1Api(h.api_client).patch_namespaced_deployment_scale(
        "llama-predictor", NS, {"spec": {"replicas": 0}})
    h.wait_idle()
    assert (scaled_object(h) is not None, len(pod_names(h))) == (True, 3)


def test_a_016_stop_deletes_the_scaled_object(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(keda("0.16", minReplicas=1, maxReplicas=4, load=3))
    annotate(h, {STOP: "true"})
    h.wait_idle(terminations=True)
    assert (scaled_object(h), pod_names(h)) == (None, set())


def test_without_kedas_crd_no_scaled_object_is_made(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox({**keda(minReplicas=1, maxReplicas=4, load=3), "keda": False})
    assert len(pod_names(h)) == 1
