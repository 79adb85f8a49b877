"""The in-process Store API the simulator writes through: events, copies, grace, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from kubesandbox import types
from kubesandbox.store import ApiError, Store
from sandbox_tests.conftest import NS, pod

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _drain(store: Store, since: int | None = None) -> list[tuple[str, str, int]]:
    sub = store.subscribe(since)
    out = []
    while (event := sub.get(timeout=0)) is not None:
        out.append((event.type, event.object["metadata"]["name"], event.resource_version))
    sub.close()
    return out


def test_every_change_is_one_event_in_order() -> None:
    store = Store()
    sub = store.subscribe()
    store.create(types.PODS, pod("a"), namespace=NS)
    store.patch(types.PODS, NS, "a", {"metadata": {"labels": {"x": "y"}}}, patch_type="merge")
    store.delete(types.PODS, NS, "a")
    events = []
    while (event := sub.get(timeout=0)) is not None:
        events.append((event.type, event.rtype.plural, event.resource_version))
    assert events == [("ADDED", "namespaces", 1), ("ADDED", "pods", 2),
                      ("MODIFIED", "pods", 3), ("DELETED", "pods", 4)]


def test_subscribe_since_replays_retained_events() -> None:
    store = Store()
    rv = int(store.create(types.PODS, pod("a"), namespace=NS)["metadata"]["resourceVersion"])
    store.create(types.PODS, pod("b"), namespace=NS)
    assert _drain(store, since=rv) == [("ADDED", "b", rv + 1)]


def test_subscribe_since_a_compacted_version_is_410() -> None:
    store = Store(history=2)
    for name in "abcd":
        store.create(types.CONFIGMAPS, {"metadata": {"name": name}}, namespace=NS)
    with pytest.raises(ApiError) as err:
        store.subscribe(since=1)
    assert (err.value.code, err.value.reason) == (410, "Expired")


def test_noop_replace_emits_nothing() -> None:
    store = Store()
    made = store.create(types.CONFIGMAPS, {"metadata": {"name": "c"}}, namespace=NS)
    before = store.resource_version
    again = store.replace(types.CONFIGMAPS, made)
    assert (again["metadata"]["resourceVersion"], store.resource_version) == (
        made["metadata"]["resourceVersion"], before)


def test_objects_are_copied_in_and_out() -> None:
    store = Store()
    body = {"metadata": {"name": "c"}, "data": {"k": "v"}}
    made = store.create(types.CONFIGMAPS, body, namespace=NS)
    body["data"]["k"] = made["data"]["k"] = "changed"
    store.get(types.CONFIGMAPS, NS, "c")["data"]["k"] = "changed"
    assert store.get(types.CONFIGMAPS, NS, "c")["data"] == {"k": "v"}


def test_event_objects_are_private_copies() -> None:
    store = Store()
    sub = store.subscribe()
    store.create(types.CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"k": "v"}},
                 namespace=NS)
    sub.get(timeout=0)
    event = sub.get(timeout=0)
    assert event is not None
    event.object["data"]["k"] = "changed"
    assert store.get(types.CONFIGMAPS, NS, "c")["data"] == {"k": "v"}


def test_grace_sets_deletion_timestamp_from_the_store_clock() -> None:
    store = Store(clock=lambda: T0)
    store.create(types.PODS, pod("p"), namespace=NS)
    store.delete(types.PODS, NS, "p", grace_seconds=30)
    meta = store.get(types.PODS, NS, "p")["metadata"]
    assert (meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]) == (
        (T0 + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ"), 30)


def test_finalize_removes_a_terminating_object_and_collects_its_dependents() -> None:
    store = Store()
    owner = store.create(types.PODS, pod("owner", finalizers=["kubelet"]), namespace=NS)
    store.create(types.CONFIGMAPS, {"metadata": {"name": "dep", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Pod", "name": "owner",
         "uid": owner["metadata"]["uid"]}]}}, namespace=NS)
    store.delete(types.PODS, NS, "owner")
    store.finalize(types.PODS, NS, "owner")
    assert (store.list(types.PODS)[0], store.list(types.CONFIGMAPS)[0]) == ([], [])


def test_strict_namespaces_refuse_a_missing_namespace() -> None:
    store = Store(auto_namespaces=False)
    with pytest.raises(ApiError) as err:
        store.create(types.PODS, pod("p"), namespace=NS)
    assert err.value.code == 404


def test_concurrent_read_modify_write_loses_no_update() -> None:
    """Four writers incrementing one counter with PUT + retry-on-409, as controllers do."""
    store = Store()
    store.create(types.CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"n": "0"}},
                 namespace=NS)
    conflicts = []

    def writer() -> None:
        for _ in range(100):
            while True:
                current = store.get(types.CONFIGMAPS, NS, "c")
                current["data"]["n"] = str(int(current["data"]["n"]) + 1)
                try:
                    store.replace(types.CONFIGMAPS, current)
                    break
                except ApiError as exc:
                    conflicts.append(exc.code)
    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get(types.CONFIGMAPS, NS, "c")["data"]["n"] == "400"
    assert set(conflicts) <= {409}


@pytest.mark.parametrize(("api_version", "kind", "plural"), [
    pytest.param("serving.kserve.io/v1beta1", "InferenceService", "inferenceservices",
                 id="isvc"),
    pytest.param("serving.knative.dev/v1", "Service", "services", id="ksvc"),
    pytest.param("v1", "Service", "services", id="core-service"),
])
def test_registry_by_kind(api_version: str, kind: str, plural: str) -> None:
    rtype = Store().registry.by_kind(api_version, kind)
    assert (rtype.api_version, rtype.plural) == (api_version, plural)


def test_registry_unknown_resource_is_404() -> None:
    with pytest.raises(ApiError) as err:
        Store().registry.get("serving.kserve.io", "v1", "inferenceservices")
    assert err.value.code == 404


def test_peek_shares_the_stored_object_and_get_does_not() -> None:
    store = Store()
    store.create(types.CONFIGMAPS, {"metadata": {"name": "c"}}, namespace=NS)
    assert store.peek(types.CONFIGMAPS, NS, "c") is store.peek(types.CONFIGMAPS, NS, "c")
    assert store.get(types.CONFIGMAPS, NS, "c") is not store.peek(types.CONFIGMAPS, NS, "c")
