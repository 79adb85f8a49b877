"""Admission: KServe's webhook per version, built-in validation, KServe's finalizer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox_tests.simkit import GROUP, NS, PLURAL, VERSION, isvc, scenario
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = pytest.mark.integration
CLASS = "serving.kserve.io/autoscalerClass"


def _patch(h: SandboxHandle, body: dict[str, Any]) -> int:
    try:
        client.CustomObjectsApi(h.api_client).patch_namespaced_custom_object(
            GROUP, VERSION, NS, PLURAL, "llama", body)
    except ApiException as exc:
        return int(exc.status)
    return 200


@pytest.mark.parametrize(("kserve", "cls", "code"), [
    pytest.param("0.14", "hpa", 200, id="0.14-hpa"),
    pytest.param("0.14", "external", 200, id="0.14-external"),
    pytest.param("0.14", "keda", 403, id="0.14-keda"),
    pytest.param("0.14", "none", 403, id="0.14-none"),
    pytest.param("0.15", "keda", 200, id="0.15-keda"),
    pytest.param("0.15", "none", 200, id="0.15-none"),
    pytest.param("0.16", "none", 200, id="0.16-none"),
    pytest.param("0.16", "kpa", 403, id="0.16-kpa"),
])
def test_autoscaler_classes_the_webhook_allows(make_sandbox: MakeSandbox, kserve: str,
                                               cls: str, code: int) -> None:
    h = make_sandbox(scenario("Standard", kserve=kserve))
    assert _patch(h, {"metadata": {"annotations": {CLASS: cls}}}) == code


@pytest.mark.parametrize("kserve", ["0.14", "0.15", "0.16"])
def test_the_deployment_mode_cannot_change(make_sandbox: MakeSandbox, kserve: str) -> None:
    h = make_sandbox(scenario("Standard", kserve=kserve))
    body = {"metadata": {"annotations": {"serving.kserve.io/deploymentMode": "Knative"}}}
    assert _patch(h, body) == 403


def test_an_isvc_carries_kserves_finalizer_and_its_delete_waits_for_it(
        make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard"))
    assert isvc(h)["metadata"]["finalizers"] == ["inferenceservice.finalizers"]
    api = client.CustomObjectsApi(h.api_client)
    deleted = api.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "llama")
    h.wait_idle()
    with pytest.raises(ApiException) as gone:
        isvc(h)
    assert (bool(deleted["metadata"].get("deletionTimestamp")), gone.value.status) == (True, 404)


@pytest.mark.parametrize(("spec", "code"), [
    pytest.param({"renewTime": "yesterday"}, 400, id="renew-time-not-a-time"),
    pytest.param({"leaseDurationSeconds": 1.5}, 422, id="duration-not-an-integer"),
    pytest.param({"leaseDurationSeconds": -1}, 422, id="duration-negative"),
    pytest.param({"renewTime": "2026-12-05T10:00:00.000000Z", "leaseDurationSeconds": 15},
                 201, id="valid"),
])
def test_lease_fields_are_validated(make_sandbox: MakeSandbox, spec: dict[str, Any],
                                    code: int) -> None:
    h = make_sandbox(scenario("Standard"))
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "x"}, "spec": {"holderIdentity": "a", **spec}}
    request = urllib.request.Request(  # raw JSON: the typed client would refuse the types
        f"{h.url}/apis/coordination.k8s.io/v1/namespaces/{NS}/leases", method="POST",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            got = answer.status
    except urllib.error.HTTPError as exc:
        got = exc.code
    assert got == code
