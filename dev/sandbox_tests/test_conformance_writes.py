"""Update, patch, status and scale subresources with the official client."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import NS, deployment, isvc, raw, status_body

pytestmark = pytest.mark.integration
KSERVE = ("serving.kserve.io", "v1beta1")


def test_stale_put_is_409_conflict(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    first.data = {"k": "1"}
    core.replace_namespaced_config_map("c", NS, first)
    first.data = {"k": "2"}
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("c", NS, first)
    body = status_body(err.value)
    assert (body["code"], body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]


def test_put_with_current_version_bumps_it(core: client.CoreV1Api) -> None:
    made = core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    made.data = {"k": "1"}
    stored = core.replace_namespaced_config_map("c", NS, made)
    assert int(stored.metadata.resource_version) > int(made.metadata.resource_version)


def test_put_without_version_is_unconditional(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    stored = core.replace_namespaced_config_map("c", NS, {"metadata": {"name": "c"},
                                                          "data": {"k": "v"}})
    assert stored.data == {"k": "v"}


def test_put_of_missing_object_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("c", NS, {"metadata": {"name": "c"}})
    assert err.value.status == 404


def test_put_name_must_match_url(server: ApiServer, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    code, body, _ = raw(server, "PUT", f"/api/v1/namespaces/{NS}/configmaps/c",
                        {"metadata": {"name": "d"}})
    assert (code, body["reason"]) == (400, "BadRequest")


def test_noop_update_keeps_resource_version(core: client.CoreV1Api) -> None:
    made = core.create_namespaced_config_map(NS, {"metadata": {"name": "c"},
                                                  "data": {"k": "v"}})
    again = core.replace_namespaced_config_map("c", NS, made)
    assert again.metadata.resource_version == made.metadata.resource_version


def test_merge_patch_adds_and_removes_annotations(custom: client.CustomObjectsApi) -> None:
    body = isvc("m")
    body["metadata"]["annotations"] = {"old": "x"}
    custom.create_namespaced_custom_object(*KSERVE, NS, "inferenceservices", body)
    patched = custom.patch_namespaced_custom_object(
        *KSERVE, NS, "inferenceservices", "m",
        {"metadata": {"annotations": {"old": None, "serving.kserve.io/stop": "true"}}})
    assert patched["metadata"]["annotations"] == {"serving.kserve.io/stop": "true"}


def test_json_patch_applies_operations_in_order(server: ApiServer,
                                                core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    ops = [{"op": "add", "path": "/data/b", "value": "2"},
           {"op": "test", "path": "/data/a", "value": "1"},
           {"op": "remove", "path": "/data/a"}]
    code, body, _ = raw(server, "PATCH", f"/api/v1/namespaces/{NS}/configmaps/c", ops,
                        "application/json-patch+json")
    assert (code, body["data"]) == (200, {"b": "2"})


def test_failed_json_patch_test_changes_nothing(server: ApiServer,
                                                core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    ops = [{"op": "add", "path": "/data/b", "value": "2"},
           {"op": "test", "path": "/data/a", "value": "9"}]
    code, body, _ = raw(server, "PATCH", f"/api/v1/namespaces/{NS}/configmaps/c", ops,
                        "application/json-patch+json")
    assert (code, body["reason"]) == (422, "Invalid")
    assert core.read_namespaced_config_map("c", NS).data == {"a": "1"}


def test_strategic_merge_merges_containers_by_name(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment("d"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side",
                                                            "image": "b:2"}]}}}}
    patched = apps.patch_namespaced_deployment("d", NS, patch)
    containers = [(c.name, c.image) for c in patched.spec.template.spec.containers]
    assert containers == [("main", "a:1"), ("side", "b:2")]


def test_strategic_merge_delete_directive_removes_an_item(server: ApiServer,
                                                          apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment("d"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side",
                                                            "$patch": "delete"}]}}}}
    code, body, _ = raw(server, "PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/d",
                        patch, "application/strategic-merge-patch+json")
    assert code == 200
    assert [c["name"] for c in body["spec"]["template"]["spec"]["containers"]] == ["main"]


@pytest.mark.parametrize(("content_type", "plural", "prefix"), [
    pytest.param("application/apply-patch+yaml", "configmaps", "/api/v1", id="apply"),
    pytest.param("application/strategic-merge-patch+json", "inferenceservices",
                 "/apis/serving.kserve.io/v1beta1", id="strategic-on-a-custom-resource"),
])
def test_unsupported_patch_is_415(server: ApiServer, core: client.CoreV1Api,
                                  custom: client.CustomObjectsApi, content_type: str,
                                  plural: str, prefix: str) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "m"}})
    custom.create_namespaced_custom_object(*KSERVE, NS, "inferenceservices", isvc("m"))
    code, body, _ = raw(server, "PATCH", f"{prefix}/namespaces/{NS}/{plural}/m", {},
                        content_type)
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")


def _status_write(custom: client.CustomObjectsApi, name: str, status: dict[str, Any],
                  spec: dict[str, Any] | None = None) -> dict[str, Any]:
    current = custom.get_namespaced_custom_object(*KSERVE, NS, "inferenceservices", name)
    body = {**current, "status": status, **({"spec": spec} if spec else {})}
    return dict(custom.replace_namespaced_custom_object_status(
        *KSERVE, NS, "inferenceservices", name, body))


def test_status_write_ignores_spec(custom: client.CustomObjectsApi) -> None:
    made = custom.create_namespaced_custom_object(*KSERVE, NS, "inferenceservices",
                                                  isvc("m"))
    stored = _status_write(custom, "m", {"url": "http://m"}, spec={"predictor": {}})
    assert stored["spec"] == made["spec"] and stored["status"] == {"url": "http://m"}
    assert int(stored["metadata"]["resourceVersion"]) > int(made["metadata"]["resourceVersion"])
    assert stored["metadata"]["generation"] == 1


def test_main_write_ignores_status(custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(*KSERVE, NS, "inferenceservices", isvc("m"))
    _status_write(custom, "m", {"url": "http://m"})
    patched = custom.patch_namespaced_custom_object(
        *KSERVE, NS, "inferenceservices", "m", {"status": {"url": "http://other"}})
    assert patched["status"] == {"url": "http://m"}


def test_create_drops_status_of_a_kind_with_status_subresource(
        custom: client.CustomObjectsApi) -> None:
    made = custom.create_namespaced_custom_object(
        *KSERVE, NS, "inferenceservices", {**isvc("m"), "status": {"url": "http://m"}})
    assert "status" not in made


@pytest.mark.parametrize(("patch", "generation"), [
    pytest.param({"spec": {"predictor": {"minReplicas": 0}}}, 2, id="spec-change-bumps"),
    pytest.param({"metadata": {"labels": {"a": "b"}}}, 1, id="label-change-does-not"),
    pytest.param({"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}}, 1,
                 id="annotation-change-does-not"),
])
def test_generation_bumps_only_on_spec_change(custom: client.CustomObjectsApi,
                                              patch: dict[str, Any], generation: int) -> None:
    custom.create_namespaced_custom_object(*KSERVE, NS, "inferenceservices", isvc("m"))
    patched = custom.patch_namespaced_custom_object(*KSERVE, NS, "inferenceservices", "m",
                                                    patch)
    assert patched["metadata"]["generation"] == generation


def test_scale_subresource_reads_and_writes_replicas(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment("d", replicas=2))
    scale = apps.read_namespaced_deployment_scale("d", NS)
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=d")
    apps.patch_namespaced_deployment_scale("d", NS, {"spec": {"replicas": 0}})
    assert apps.read_namespaced_deployment("d", NS).spec.replicas == 0


def test_scale_put_with_stale_version_is_409(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment("d"))
    scale = apps.read_namespaced_deployment_scale("d", NS)
    apps.patch_namespaced_deployment("d", NS, {"metadata": {"labels": {"x": "y"}}})
    scale.spec.replicas = 3
    with pytest.raises(client.ApiException) as err:
        apps.replace_namespaced_deployment_scale("d", NS, scale)
    assert err.value.status == 409


def test_hpa_round_trips(api_client: client.ApiClient) -> None:
    hpas = client.AutoscalingV2Api(api_client)
    body = {"metadata": {"name": "h"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
        "minReplicas": 1, "maxReplicas": 3}}
    hpas.create_namespaced_horizontal_pod_autoscaler(NS, body)
    got = hpas.read_namespaced_horizontal_pod_autoscaler("h", NS)
    assert (got.spec.max_replicas, got.spec.scale_target_ref.name) == (3, "d")


def test_dry_run_patch_changes_nothing(server: ApiServer, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    code, body, _ = raw(server, "PATCH", f"/api/v1/namespaces/{NS}/configmaps/c?dryRun=All",
                        {"data": {"a": "2"}}, "application/merge-patch+json")
    assert (code, body["data"]) == (200, {"a": "2"})
    assert core.read_namespaced_config_map("c", NS).data == {"a": "1"}
