"""Delete, finalizers, propagation policies and garbage collection."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, dynamic

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import NS, owner_ref, pod, raw

pytestmark = pytest.mark.integration


def _ksvc(dyn: dynamic.DynamicClient, name: str) -> Any:
    ksvcs = dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service")
    return ksvcs.create(namespace=NS, body={
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name}, "spec": {"template": {"spec": {}}}}).to_dict()


def _children(core: client.CoreV1Api, owner: dict[str, Any], count: int,
              finalizers: list[str] | None = None) -> None:
    for i in range(count):
        core.create_namespaced_pod(NS, pod(f"{owner['metadata']['name']}-{i}", owner=owner,
                                           finalizers=finalizers))


def _pods(core: client.CoreV1Api) -> list[str]:
    return [p.metadata.name for p in core.list_namespaced_pod(NS).items]


def test_delete_returns_200_with_the_object(server: ApiServer, core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p"))
    code, body, _ = raw(server, "DELETE", f"/api/v1/namespaces/{NS}/pods/p")
    assert (code, body["kind"], body["metadata"]["name"]) == (200, "Pod", "p")
    assert _pods(core) == []


def test_delete_of_a_builtin_without_deleted_object_returns_success_status(
        server: ApiServer, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    code, body, _ = raw(server, "DELETE", f"/api/v1/namespaces/{NS}/configmaps/c")
    assert (code, body["kind"], body["status"], body["details"]["name"]) == (
        200, "Status", "Success", "c")


def test_delete_missing_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.delete_namespaced_pod("nope", NS)
    assert err.value.status == 404


def test_finalizer_makes_delete_set_deletion_timestamp(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p", finalizers=["example.com/hold"]))
    deleted = core.delete_namespaced_pod("p", NS)
    stored = core.read_namespaced_pod("p", NS)
    assert deleted.metadata.deletion_timestamp is not None
    assert stored.metadata.deletion_timestamp is not None and stored.metadata.generation == 2


def test_removing_the_last_finalizer_deletes(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p", finalizers=["example.com/hold"]))
    core.delete_namespaced_pod("p", NS)
    core.patch_namespaced_pod("p", NS, {"metadata": {"finalizers": None}})
    assert _pods(core) == []


def test_grace_period_keeps_pod_terminating_until_finalized(server: ApiServer,
                                                            core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p"))
    core.delete_namespaced_pod("p", NS, grace_period_seconds=30)
    terminating = core.read_namespaced_pod("p", NS)
    assert terminating.metadata.deletion_grace_period_seconds == 30
    server.store.finalize(server.store.registry.get("", "v1", "pods"), NS, "p")
    assert _pods(core) == []


def test_precondition_on_uid_is_409(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p"))
    with pytest.raises(client.ApiException) as err:
        core.delete_namespaced_pod("p", NS, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="someone-else")))
    assert err.value.status == 409 and _pods(core) == ["p"]


def test_background_gc_removes_ksvc_children(dyn: dynamic.DynamicClient,
                                             core: client.CoreV1Api) -> None:
    owner = _ksvc(dyn, "m-predictor")
    _children(core, owner, 3)
    ksvcs = dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service")
    ksvcs.delete(name="m-predictor", namespace=NS, propagation_policy="Background")
    assert _pods(core) == []


def test_gc_cascades_through_levels(apps: client.AppsV1Api, core: client.CoreV1Api,
                                    dyn: dynamic.DynamicClient) -> None:
    owner = _ksvc(dyn, "m")
    dep = apps.create_namespaced_deployment(NS, {
        "metadata": {"name": "m-dep", "ownerReferences": [owner_ref(owner)]},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {}}})
    _children(core, {"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "m-dep", "uid": dep.metadata.uid}}, 2)
    dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service").delete(
        name="m", namespace=NS)
    assert (apps.list_namespaced_deployment(NS).items, _pods(core)) == ([], [])


def test_gc_keeps_a_dependent_with_another_live_owner(core: client.CoreV1Api,
                                                      dyn: dynamic.DynamicClient) -> None:
    first, second = _ksvc(dyn, "a"), _ksvc(dyn, "b")
    body = pod("shared", owner=first)
    body["metadata"]["ownerReferences"].append({**owner_ref(second), "controller": False})
    core.create_namespaced_pod(NS, body)
    dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service").delete(
        name="a", namespace=NS)
    assert _pods(core) == ["shared"]


def test_foreground_holds_owner_until_children_are_gone(core: client.CoreV1Api,
                                                        dyn: dynamic.DynamicClient) -> None:
    ksvcs = dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service")
    owner = _ksvc(dyn, "m")
    _children(core, owner, 1, finalizers=["example.com/hold"])
    ksvcs.delete(name="m", namespace=NS, propagation_policy="Foreground")
    held = ksvcs.get(name="m", namespace=NS)
    assert list(held.metadata.finalizers) == ["foregroundDeletion"]
    core.patch_namespaced_pod("m-0", NS, {"metadata": {"finalizers": None}})
    assert ksvcs.get(namespace=NS).items == []


def test_orphan_keeps_children_without_owner_reference(core: client.CoreV1Api,
                                                       dyn: dynamic.DynamicClient) -> None:
    owner = _ksvc(dyn, "m")
    _children(core, owner, 2)
    dyn.resources.get(api_version="serving.knative.dev/v1", kind="Service").delete(
        name="m", namespace=NS, propagation_policy="Orphan")
    pods = core.list_namespaced_pod(NS).items
    assert [(p.metadata.name, p.metadata.owner_references) for p in pods] == [
        ("m-0", None), ("m-1", None)]


def test_deletecollection_deletes_only_selected(core: client.CoreV1Api) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_pod(NS, pod(name, labels={"app": app}))
    core.delete_collection_namespaced_pod(NS, label_selector="app=x")
    assert _pods(core) == ["c"]


def test_deleting_a_namespace_deletes_its_contents(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p"))
    core.create_namespaced_pod("other", pod("q"))
    core.delete_namespace(NS)
    remaining = core.list_pod_for_all_namespaces().items
    assert [(p.metadata.namespace, p.metadata.name) for p in remaining] == [("other", "q")]


def test_dry_run_delete_keeps_the_object(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("p"))
    core.delete_namespaced_pod("p", NS, dry_run="All")
    assert _pods(core) == ["p"]
