"""Discovery for DynamicClient, and CustomResourceDefinitions that serve new kinds."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from kubernetes import client, dynamic

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import CHART_CRD, NS, raw, reclaimpolicy_crd

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("api_version", "kind", "plural"), [
    pytest.param("v1", "Namespace", "namespaces", id="namespaces"),
    pytest.param("v1", "Pod", "pods", id="pods"),
    pytest.param("v1", "Service", "services", id="services"),
    pytest.param("v1", "Event", "events", id="core-events"),
    pytest.param("v1", "ConfigMap", "configmaps", id="configmaps"),
    pytest.param("v1", "Secret", "secrets", id="secrets"),
    pytest.param("apps/v1", "Deployment", "deployments", id="deployments"),
    pytest.param("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 id="hpa"),
    pytest.param("coordination.k8s.io/v1", "Lease", "leases", id="leases"),
    pytest.param("events.k8s.io/v1", "Event", "events", id="events-v1"),
    pytest.param("serving.kserve.io/v1beta1", "InferenceService", "inferenceservices",
                 id="isvc"),
    pytest.param("serving.kserve.io/v1alpha1", "ServingRuntime", "servingruntimes",
                 id="servingruntimes"),
    pytest.param("serving.kserve.io/v1alpha1", "InferenceGraph", "inferencegraphs",
                 id="inferencegraphs"),
    pytest.param("serving.knative.dev/v1", "Service", "services", id="ksvc"),
    pytest.param("networking.istio.io/v1beta1", "VirtualService", "virtualservices",
                 id="virtualservices"),
    pytest.param("apiextensions.k8s.io/v1", "CustomResourceDefinition",
                 "customresourcedefinitions", id="crds"),
])
def test_dynamic_client_finds_every_served_kind(dyn: dynamic.DynamicClient,
                                                api_version: str, kind: str,
                                                plural: str) -> None:
    resource = dyn.resources.get(api_version=api_version, kind=kind)
    assert resource.name == plural
    assert resource.get().items == [] or kind == "Namespace"


@pytest.mark.parametrize(("path", "name", "extra"), [
    pytest.param("/api/v1", "pods/status", {"verbs": ["get", "patch", "update"]}, id="status"),
    pytest.param("/apis/apps/v1", "deployments/scale",
                 {"group": "autoscaling", "version": "v1", "kind": "Scale"}, id="scale"),
    pytest.param("/apis/serving.kserve.io/v1beta1", "inferenceservices",
                 {"shortNames": ["isvc"], "namespaced": True}, id="short-names"),
    pytest.param("/apis/serving.knative.dev/v1", "services",
                 {"shortNames": ["kservice", "ksvc"]}, id="ksvc"),
])
def test_resource_lists_describe_resources(server: ApiServer, path: str, name: str,
                                           extra: dict[str, Any]) -> None:
    code, body, _ = raw(server, "GET", path)
    entry = next(r for r in body["resources"] if r["name"] == name)
    assert (code, body["kind"]) == (200, "APIResourceList")
    assert {k: entry[k] for k in extra} == extra


def test_group_list_prefers_the_newest_stable_version(server: ApiServer) -> None:
    _, body, _ = raw(server, "GET", "/apis")
    kserve = next(g for g in body["groups"] if g["name"] == "serving.kserve.io")
    assert kserve["preferredVersion"]["version"] == "v1beta1"
    assert [v["version"] for v in kserve["versions"]] == ["v1beta1", "v1alpha1"]


def test_version_and_openapi(server: ApiServer) -> None:
    assert raw(server, "GET", "/version")[1]["major"] == "1"
    assert raw(server, "GET", "/openapi/v2")[0] == 404


def test_creating_a_crd_serves_its_kind(api_client: client.ApiClient) -> None:
    client.ApiextensionsV1Api(api_client).create_custom_resource_definition(
        reclaimpolicy_crd())
    dyn = dynamic.DynamicClient(api_client)
    policies = dyn.resources.get(api_version="reclaimer.io/v1alpha1", kind="ReclaimPolicy")
    policies.create(namespace=NS, body={"apiVersion": "reclaimer.io/v1alpha1",
                                        "kind": "ReclaimPolicy", "metadata": {"name": "p"},
                                        "spec": {"mode": "idle"}})
    assert (policies.short_names, policies.namespaced) == (["rp"], True)
    assert [p.metadata.name for p in policies.get(namespace=NS).items] == ["p"]


def test_crd_status_reports_established(api_client: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(reclaimpolicy_crd())
    crd = ext.read_custom_resource_definition("reclaimpolicies.reclaimer.io")
    assert {c.type: c.status for c in crd.status.conditions} == {
        "NamesAccepted": "True", "Established": "True"}


def test_crd_kind_has_a_status_subresource(server: ApiServer,
                                           custom: client.CustomObjectsApi) -> None:
    raw(server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        reclaimpolicy_crd())
    args = ("reclaimer.io", "v1alpha1", NS, "reclaimpolicies")
    custom.create_namespaced_custom_object(*args, {"metadata": {"name": "p"},
                                                   "spec": {"mode": "idle"}})
    custom.patch_namespaced_custom_object_status(*args, "p", {"status": {"valid": True}})
    got = custom.get_namespaced_custom_object(*args, "p")
    assert (got["spec"], got["status"]) == ({"mode": "idle"}, {"valid": True})


def test_deleting_a_crd_stops_serving_it(server: ApiServer,
                                         api_client: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(reclaimpolicy_crd())
    ext.delete_custom_resource_definition("reclaimpolicies.reclaimer.io")
    code, _, _ = raw(server, "GET", f"/apis/reclaimer.io/v1alpha1/namespaces/{NS}/"
                     "reclaimpolicies")
    assert code == 404


def test_invalid_crd_is_422_naming_the_field(server: ApiServer) -> None:
    crd = reclaimpolicy_crd()
    crd["metadata"]["name"] = "wrong.reclaimer.io"
    code, body, _ = raw(server, "POST",
                        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert (code, body["details"]["causes"][0]["field"]) == (422, "metadata.name")


@pytest.mark.skipif(not CHART_CRD.exists(), reason="the chart's ReclaimPolicy CRD is absent")
def test_the_charts_reclaimpolicy_crd_is_served(server: ApiServer,
                                                api_client: client.ApiClient) -> None:
    client.ApiextensionsV1Api(api_client).create_custom_resource_definition(
        yaml.safe_load(CHART_CRD.read_text()))
    code, body, _ = raw(server, "GET", "/apis/reclaimer.io/v1alpha1")
    entry = next(r for r in body["resources"] if r["name"] == "reclaimpolicies")
    assert (code, entry["kind"], entry["shortNames"]) == (200, "ReclaimPolicy", ["rp"])
