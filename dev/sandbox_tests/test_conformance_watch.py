"""Watch with ``kubernetes.watch.Watch``: streams, resume, timeouts, bookmarks, 410."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch

from kubesandbox.server import ApiServer
from kubesandbox.store import Store
from sandbox_tests.conftest import NS, pod, status_body

pytestmark = pytest.mark.integration


def _events(core: client.CoreV1Api, count: int, **kwargs: Any) -> list[tuple[str, str]]:
    """The first ``count`` events as (type, name or resourceVersion for bookmarks)."""
    w = watch.Watch()
    out = []
    for event in w.stream(core.list_namespaced_pod, NS, timeout_seconds=5, **kwargs):
        obj = event["raw_object"]
        out.append((event["type"], obj["metadata"].get("name") or
                    obj["metadata"]["resourceVersion"]))
        if len(out) == count:
            w.stop()
    return out


def test_watch_without_version_starts_with_existing_objects(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("a"))
    core.create_namespaced_pod(NS, pod("b"))
    assert _events(core, 2) == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_streams_live_changes(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("a"))
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, NS, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            core.patch_namespaced_pod("a", NS, {"metadata": {"labels": {"x": "y"}}})
        elif len(seen) == 2:
            core.delete_namespaced_pod("a", NS)
        else:
            w.stop()
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_watch_resumes_after_a_patch(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod("a"))
    listed = core.list_namespaced_pod(NS).metadata.resource_version
    core.patch_namespaced_pod("a", NS, {"metadata": {"labels": {"x": "y"}}})
    w = watch.Watch()
    events = []
    for event in w.stream(core.list_namespaced_pod, NS, resource_version=listed,
                          timeout_seconds=5):
        events.append(event)
        w.stop()
    assert [(e["type"], e["object"].metadata.labels) for e in events] == [
        ("MODIFIED", {"x": "y"})]


def test_watch_resumes_from_a_watched_object_version(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_pod(NS, pod("a")).metadata.resource_version
    core.create_namespaced_pod(NS, pod("b"))
    core.create_namespaced_pod(NS, pod("c"))
    assert _events(core, 2, resource_version=first) == [("ADDED", "b"), ("ADDED", "c")]


def test_timeout_seconds_ends_the_stream(core: client.CoreV1Api) -> None:
    events = list(watch.Watch().stream(core.list_namespaced_pod, NS, timeout_seconds=1))
    assert events == []


def test_bookmarks_carry_the_current_version(core: client.CoreV1Api) -> None:
    rv = core.create_namespaced_pod(NS, pod("a")).metadata.resource_version
    assert _events(core, 1, resource_version=rv, allow_watch_bookmarks=True) == [
        ("BOOKMARK", rv)]


def test_object_leaving_the_selector_is_sent_as_deleted(core: client.CoreV1Api) -> None:
    rv = core.create_namespaced_pod(NS, pod("a", labels={"app": "x"})).metadata.resource_version
    core.patch_namespaced_pod("a", NS, {"metadata": {"labels": {"app": "y"}}})
    core.patch_namespaced_pod("a", NS, {"metadata": {"labels": {"app": "x"}}})
    assert _events(core, 2, resource_version=rv, label_selector="app=x") == [
        ("DELETED", "a"), ("ADDED", "a")]


def test_watch_filters_by_namespace_and_name(core: client.CoreV1Api) -> None:
    rv = core.list_namespaced_pod(NS).metadata.resource_version
    core.create_namespaced_pod("elsewhere", pod("a"))
    core.create_namespaced_pod(NS, pod("b"))
    core.create_namespaced_pod(NS, pod("c"))
    assert _events(core, 1, resource_version=rv, field_selector="metadata.name=c") == [
        ("ADDED", "c")]


@pytest.fixture
def store() -> Iterator[Store]:
    """Overrides the shared one: a history of 3 events so it is easy to outrun."""
    yield Store(history=3)


def test_too_old_version_is_410_expired(server: ApiServer, core: client.CoreV1Api) -> None:
    old = core.create_namespaced_pod(NS, pod("a")).metadata.resource_version
    for i in range(5):
        core.patch_namespaced_pod("a", NS, {"metadata": {"labels": {"n": str(i)}}})
    with pytest.raises(client.ApiException) as err:
        _events(core, 1, resource_version=old)
    assert err.value.status == 410 and "Expired" in err.value.reason


def test_continue_token_older_than_history_is_410(server: ApiServer,
                                                   core: client.CoreV1Api) -> None:
    for i in range(3):
        core.create_namespaced_config_map(NS, {"metadata": {"name": f"c{i}"}})
    token = core.list_namespaced_config_map(NS, limit=1).metadata._continue
    for i in range(5):
        core.patch_namespaced_config_map("c0", NS, {"data": {"n": str(i)}})
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_config_map(NS, limit=1, _continue=token)
    assert (err.value.status, status_body(err.value)["reason"]) == (410, "Expired")


def test_abandoned_watch_releases_its_subscription(server: ApiServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("GET", f"/api/v1/namespaces/{NS}/pods?watch=1")
    resp = conn.getresponse()
    assert (resp.status, server.store.subscriptions) == (200, 1)
    resp.close()
    conn.close()
    deadline = time.monotonic() + 10
    while server.store.subscriptions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.store.subscriptions == 0
