"""managedFields as the real API server records them for Update operations, seen through
the official client and the real kubectl (reclaimer reads the stop annotation's owner)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from kubesandbox import managed, types
from kubesandbox.apierror import ApiError
from kubesandbox.server import ApiServer
from kubesandbox.store import Store
from reclaimer.kube.isvc import stop_change
from sandbox_tests.conftest import NS, Kubectl, isvc

T0 = datetime(2030, 3, 29, 18, 0, tzinfo=UTC)
STOP = "serving.kserve.io/stop"
pytestmark = pytest.mark.integration


class StepClock:
    """A store clock the test moves by hand, so entry times are exact."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def store(clock: StepClock) -> Store:
    return Store(clock=clock)


@pytest.fixture
def server(store: Store) -> Iterator[ApiServer]:
    api = ApiServer(store).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def core(server: ApiServer) -> Iterator[client.CoreV1Api]:
    config = client.Configuration()
    config.host = server.url
    with client.ApiClient(config) as api:
        yield client.CoreV1Api(api)


def entries(store: Store, name: str = "cm") -> list[dict[str, Any]]:
    obj = store.get(types.CONFIGMAPS, NS, name)
    return list(obj["metadata"].get("managedFields") or [])


def by_manager(store: Store, name: str = "cm") -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in entries(store, name)}


def configmap(**meta: Any) -> Any:
    """A ConfigMap body as a plain dict, which the client sends as given."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": NS, **meta}, "data": {"k": "v"}}


def test_create_gives_the_creator_every_field_it_sent(core: client.CoreV1Api,
                                                      store: Store) -> None:
    core.create_namespaced_config_map(NS, configmap(labels={"tier": "dev"}),
                                      field_manager="creator")
    assert entries(store) == [{
        "manager": "creator", "operation": "Update", "apiVersion": "v1",
        "time": "2030-03-29T18:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {"f:k": {}}, "f:metadata": {"f:labels": {"f:tier": {}}}}}]


def test_without_field_manager_the_user_agent_program_is_the_manager(
        core: client.CoreV1Api, store: Store) -> None:
    core.create_namespaced_config_map(NS, configmap())
    assert [e["manager"] for e in entries(store)] == ["OpenAPI-Generator"]


def test_a_changed_annotation_moves_to_the_writer_with_the_write_time(
        core: client.CoreV1Api, store: Store, clock: StepClock) -> None:
    core.create_namespaced_config_map(NS, configmap(annotations={"a": "1", "b": "1"}),
                                      field_manager="creator")
    clock.now = T0 + timedelta(hours=2)
    core.patch_namespaced_config_map("cm", NS, {"metadata": {"annotations": {"a": "2"}}},
                                     field_manager="editor")
    owners = by_manager(store)
    assert owners["editor"]["fieldsV1"] == {"f:metadata": {"f:annotations": {"f:a": {}}}}
    assert owners["editor"]["time"] == "2030-03-29T20:00:00Z"
    assert "f:a" not in owners["creator"]["fieldsV1"]["f:metadata"]["f:annotations"]
    assert owners["creator"]["time"] == "2030-03-29T18:00:00Z"


def test_a_removed_label_leaves_every_entry(core: client.CoreV1Api, store: Store) -> None:
    core.create_namespaced_config_map(NS, configmap(labels={"x": "1"}), field_manager="a")
    core.patch_namespaced_config_map("cm", NS, {"metadata": {"labels": {"y": "1"}}},
                                     field_manager="b")
    core.patch_namespaced_config_map("cm", NS, {"metadata": {"labels": {"y": None}}},
                                     field_manager="c")
    assert by_manager(store)["a"]["fieldsV1"] == {"f:data": {"f:k": {}},
                                                  "f:metadata": {"f:labels": {"f:x": {}}}}
    assert set(by_manager(store)) == {"a"}


def test_a_write_that_changes_nothing_leaves_the_entries_alone(
        core: client.CoreV1Api, store: Store, clock: StepClock) -> None:
    core.create_namespaced_config_map(NS, configmap(), field_manager="a")
    before = store.get(types.CONFIGMAPS, NS, "cm")["metadata"]
    clock.now = T0 + timedelta(hours=1)
    core.patch_namespaced_config_map("cm", NS, {"data": {"k": "v"}}, field_manager="b")
    after = store.get(types.CONFIGMAPS, NS, "cm")["metadata"]
    assert (after["managedFields"], after["resourceVersion"]) == (
        before["managedFields"], before["resourceVersion"])


def test_writes_from_inside_the_process_record_no_manager(store: Store) -> None:
    store.create(types.CONFIGMAPS, configmap())
    assert entries(store) == []


def test_a_status_write_is_its_own_entry_and_keeps_the_annotation_owner(
        store: Store, clock: StepClock) -> None:
    store.create(types.INFERENCESERVICES, isvc("m1"), namespace=NS)
    store.patch(types.INFERENCESERVICES, NS, "m1",
                {"metadata": {"annotations": {STOP: "true"}}}, patch_type="merge",
                manager="reclaimer")
    clock.now = T0 + timedelta(minutes=1)
    store.patch(types.INFERENCESERVICES, NS, "m1", {"status": {"observedGeneration": 1}},
                patch_type="merge", subresource="status", manager="manager")
    meta = store.get(types.INFERENCESERVICES, NS, "m1")["metadata"]
    assert stop_change(meta["managedFields"]) == (T0, "reclaimer")
    assert {e.get("subresource", "") for e in meta["managedFields"]} == {"", "status"}


@pytest.mark.parametrize(("query", "agent", "expected"), [
    pytest.param({"fieldManager": "reclaimer"}, "OpenAPI-Generator/37.0.2/python",
                 "reclaimer", id="query-wins"),
    pytest.param({}, "kubectl-annotate/v1.32.4 (linux/amd64) kubernetes/abc",
                 "kubectl-annotate", id="user-agent-program"),
    pytest.param({}, "", "unknown", id="neither"),
])
def test_manager_of_a_request(query: dict[str, str], agent: str, expected: str) -> None:
    assert managed.manager_of(query, {"user-agent": agent}) == expected


def test_an_overlong_field_manager_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        managed.manager_of({"fieldManager": "m" * 129}, {})
    assert caught.value.code == 422




def test_kubectl_annotate_owns_the_stop_annotation(kubectl: Kubectl, store: Store,
                                                   clock: StepClock) -> None:
    store.create(types.INFERENCESERVICES, isvc("m1"), namespace=NS)
    store.patch(types.INFERENCESERVICES, NS, "m1",
                {"metadata": {"annotations": {STOP: "true"}}}, patch_type="merge",
                manager="reclaimer")
    clock.now = T0 + timedelta(hours=2)
    kubectl("annotate", "isvc", "m1", f"{STOP}=false", "--overwrite")
    meta = store.get(types.INFERENCESERVICES, NS, "m1")["metadata"]
    assert stop_change(meta["managedFields"]) == (T0 + timedelta(hours=2), "kubectl-annotate")
    assert {e["manager"] for e in meta["managedFields"]} == {"kubectl-annotate"}


def test_kubectl_removing_the_annotation_drops_its_ownership(kubectl: Kubectl,
                                                             store: Store) -> None:
    store.create(types.INFERENCESERVICES, isvc("m1"), namespace=NS)
    store.patch(types.INFERENCESERVICES, NS, "m1",
                {"metadata": {"annotations": {STOP: "true"}}}, patch_type="merge",
                manager="reclaimer")
    kubectl("annotate", "isvc", "m1", f"{STOP}-")
    meta = store.get(types.INFERENCESERVICES, NS, "m1")["metadata"]
    assert stop_change(meta.get("managedFields")) == (None, None)
