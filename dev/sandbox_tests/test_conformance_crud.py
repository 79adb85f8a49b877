"""Create, get, list, errors: the official client against the sandbox API server."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import NS, isvc, pod, raw, status_body

pytestmark = pytest.mark.integration


def test_create_fills_server_metadata(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_pod(NS, pod("p1"))
    meta = created.metadata
    assert (meta.namespace, meta.generation) == (NS, 1)
    assert meta.uid and meta.creation_timestamp and int(meta.resource_version) > 0


def test_create_answers_201(server: ApiServer) -> None:
    code, body, _ = raw(server, "POST", f"/api/v1/namespaces/{NS}/configmaps",
                        {"metadata": {"name": "c"}, "data": {"k": "v"}})
    assert (code, body["kind"], body["data"]) == (201, "ConfigMap", {"k": "v"})


def test_generate_name_makes_a_unique_name(core: client.CoreV1Api) -> None:
    body = {"metadata": {"generateName": "cfg-"}}
    names = {core.create_namespaced_config_map(NS, body).metadata.name for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("cfg-") and len(n) == 9 for n in names)


def test_duplicate_create_is_409_already_exists(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p1"))
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_pod(NS, pod("p1"))
    assert status_body(err.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "p1" already exists', "reason": "AlreadyExists",
        "details": {"name": "p1", "kind": "pods"}, "code": 409}


def test_get_missing_is_404_not_found(custom: client.CustomObjectsApi) -> None:
    with pytest.raises(client.ApiException) as err:
        custom.get_namespaced_custom_object("serving.kserve.io", "v1beta1", NS,
                                            "inferenceservices", "nope")
    body = status_body(err.value)
    assert (err.value.status, body["reason"], body["code"]) == (404, "NotFound", 404)
    assert body["details"] == {"name": "nope", "group": "serving.kserve.io",
                               "kind": "inferenceservices"}


def test_list_has_list_kind_and_resource_version(server: ApiServer,
                                                 core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p1"))
    code, body, _ = raw(server, "GET", f"/api/v1/namespaces/{NS}/pods")
    assert (code, body["kind"], body["apiVersion"]) == (200, "PodList", "v1")
    assert body["metadata"]["resourceVersion"] == str(server.store.resource_version)
    assert [i["metadata"]["name"] for i in body["items"]] == ["p1"]


def test_list_all_namespaces(core: client.CoreV1Api) -> None:
    for ns in ("a", "b"):
        core.create_namespaced_pod(ns, pod("p"))
    items = core.list_pod_for_all_namespaces().items
    assert [(p.metadata.namespace, p.metadata.name) for p in items] == [("a", "p"), ("b", "p")]


LABELS = {"p1": {"app": "a", "tier": "gpu"}, "p2": {"app": "b"}, "p3": {"app": "c", "tier": "cpu"}}


@pytest.mark.parametrize(("selector", "expected"), [
    pytest.param("app=a", ["p1"], id="equals"),
    pytest.param("app==b", ["p2"], id="double-equals"),
    pytest.param("app!=a", ["p2", "p3"], id="not-equals"),
    pytest.param("app in (a, c)", ["p1", "p3"], id="in"),
    pytest.param("app notin (a,c)", ["p2"], id="notin"),
    pytest.param("tier", ["p1", "p3"], id="exists"),
    pytest.param("!tier", ["p2"], id="does-not-exist"),
    pytest.param("tier,app in (a,b)", ["p1"], id="and"),
])
def test_label_selector(core: client.CoreV1Api, selector: str, expected: list[str]) -> None:
    for name, labels in LABELS.items():
        core.create_namespaced_pod(NS, pod(name, labels=labels))
    items = core.list_namespaced_pod(NS, label_selector=selector).items
    assert [p.metadata.name for p in items] == expected


@pytest.mark.parametrize(("selector", "expected"), [
    pytest.param("metadata.name=p2", [("b", "p2")], id="name"),
    pytest.param("metadata.namespace=a", [("a", "p1")], id="namespace"),
    pytest.param("metadata.name!=p1", [("b", "p2")], id="name-not"),
])
def test_field_selector(core: client.CoreV1Api, selector: str,
                        expected: list[tuple[str, str]]) -> None:
    core.create_namespaced_pod("a", pod("p1"))
    core.create_namespaced_pod("b", pod("p2"))
    items = core.list_pod_for_all_namespaces(field_selector=selector).items
    assert [(p.metadata.namespace, p.metadata.name) for p in items] == expected


def test_unknown_field_selector_is_400(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_config_map(NS, field_selector="data.k=v")
    assert (err.value.status, status_body(err.value)["reason"]) == (400, "BadRequest")


def test_limit_and_continue_page_through_everything(core: client.CoreV1Api) -> None:
    for i in range(5):
        core.create_namespaced_config_map(NS, {"metadata": {"name": f"c{i}"}})
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map(NS, limit=2, _continue=token)
        seen += [c.metadata.name for c in page.items]
        pages, token = pages + 1, page.metadata._continue
        if not token:
            break
    assert (seen, pages) == (["c0", "c1", "c2", "c3", "c4"], 3)


@pytest.mark.parametrize(("name", "field"), [
    pytest.param("Bad_Name", "metadata.name", id="name"),
    pytest.param("", "metadata.name", id="missing-name"),
])
def test_invalid_object_is_422_naming_the_field(core: client.CoreV1Api, name: str,
                                                field: str) -> None:
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map(NS, {"metadata": {"name": name}})
    body = status_body(err.value)
    assert (body["code"], body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == field and field in body["message"]


def test_invalid_label_value_is_422(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map(NS, {"metadata": {"name": "c",
                                                            "labels": {"a": "b c"}}})
    assert status_body(err.value)["details"]["causes"][0]["field"] == "metadata.labels[a]"


@pytest.mark.parametrize(("method", "path", "body", "code", "reason"), [
    pytest.param("POST", "/api/v1/namespaces/x/configmaps",
                 {"metadata": {"name": "c", "namespace": "y"}}, 400, "BadRequest",
                 id="namespace-mismatch"),
    pytest.param("POST", "/api/v1/namespaces/x/configmaps", {"kind": "Secret",
                 "metadata": {"name": "c"}}, 400, "BadRequest", id="kind-mismatch"),
    pytest.param("POST", "/api/v1/namespaces/x/configmaps/c", {"metadata": {"name": "c"}},
                 405, "MethodNotAllowed", id="post-to-a-name"),
    pytest.param("GET", "/api/v1/namespaces/x/widgets", None, 404, "NotFound",
                 id="unknown-resource"),
    pytest.param("GET", "/apis/serving.kserve.io/v1beta1/namespaces/x/inferenceservices/a/scale",
                 None, 404, "NotFound", id="unknown-subresource"),
])
def test_request_errors_are_status_bodies(server: ApiServer, method: str, path: str,
                                          body: Any, code: int, reason: str) -> None:
    got_code, got, _ = raw(server, method, path, body)
    assert (got_code, got["kind"], got["status"], got["reason"], got["code"]) == (
        code, "Status", "Failure", reason, code)


def test_dry_run_create_stores_nothing(server: ApiServer,
                                       custom: client.CustomObjectsApi) -> None:
    made = custom.create_namespaced_custom_object("serving.kserve.io", "v1beta1", NS,
                                                  "inferenceservices", isvc("m"),
                                                  dry_run="All")
    assert made["metadata"]["name"] == "m"
    assert server.store.list(server.store.registry.get(
        "serving.kserve.io", "v1beta1", "inferenceservices"))[0] == []


def test_unsupported_dry_run_value_is_400(server: ApiServer) -> None:
    code, body, _ = raw(server, "POST", f"/api/v1/namespaces/{NS}/configmaps?dryRun=Some",
                        {"metadata": {"name": "c"}})
    assert (code, body["reason"]) == (400, "BadRequest")


def test_namespace_is_created_on_first_use_and_listed(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("fresh", {"metadata": {"name": "c"}})
    ns = core.read_namespace("fresh")
    assert (ns.status.phase, ns.metadata.labels) == (
        "Active", {"kubernetes.io/metadata.name": "fresh"})
