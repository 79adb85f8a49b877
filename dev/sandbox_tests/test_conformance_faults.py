"""Test hooks: injected faults and the request log."""

from __future__ import annotations

import pytest
from kubernetes import client

from kubesandbox.faults import RequestLog, RequestRecord
from kubesandbox.server import ApiServer
from sandbox_tests.conftest import NS, isvc, pod, raw, status_body

pytestmark = pytest.mark.integration


def test_fault_fails_the_next_matching_request_with_retry_after(
        server: ApiServer, core: client.CoreV1Api) -> None:
    server.faults.add("create", "pods", NS, status=429, retry_after=3)
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_pod(NS, pod("p"))
    body = status_body(err.value)
    assert (err.value.status, err.value.headers["Retry-After"]) == (429, "3")
    assert (body["reason"], body["details"]["retryAfterSeconds"]) == ("TooManyRequests", 3)


def test_fault_applies_before_any_state_change(server: ApiServer,
                                               core: client.CoreV1Api) -> None:
    server.faults.add("create", "pods", status=500)
    with pytest.raises(client.ApiException):
        core.create_namespaced_pod(NS, pod("p"))
    assert core.list_namespaced_pod(NS).items == []


def test_fault_is_used_up_after_times(server: ApiServer, core: client.CoreV1Api) -> None:
    server.faults.add("get", "pods", NS, "p", status=503, times=2)
    core.create_namespaced_pod(NS, pod("p"))
    codes = []
    for _ in range(3):
        try:
            core.read_namespaced_pod("p", NS)
            codes.append(200)
        except client.ApiException as exc:
            codes.append(exc.status)
    assert (codes, server.faults.pending()) == ([503, 503, 200], 0)


Match = tuple[str, str, str | None, str | None]


@pytest.mark.parametrize(("match", "hit"), [
    pytest.param(("patch", "inferenceservices", NS, "m"), True, id="exact"),
    pytest.param(("*", "*", None, None), True, id="wildcards"),
    pytest.param(("patch", "inferenceservices", NS, "other"), False, id="other-name"),
    pytest.param(("patch", "inferenceservices", "elsewhere", None), False, id="other-ns"),
    pytest.param(("update", "inferenceservices", NS, "m"), False, id="other-verb"),
])
def test_fault_matching(server: ApiServer, custom: client.CustomObjectsApi, match: Match,
                        hit: bool) -> None:
    args = ("serving.kserve.io", "v1beta1", NS, "inferenceservices")
    custom.create_namespaced_custom_object(*args, isvc("m"))
    server.faults.add(*match, status=409)
    code, _, _ = raw(server, "PATCH", f"/apis/serving.kserve.io/v1beta1/namespaces/{NS}/"
                     "inferenceservices/m", {"metadata": {"labels": {"a": "b"}}},
                     "application/merge-patch+json")
    assert (code == 409) == hit


def test_delay_only_fault_lets_the_request_succeed(server: ApiServer,
                                                   core: client.CoreV1Api) -> None:
    server.faults.add("list", "pods", delay=0.01)
    core.list_namespaced_pod(NS)
    assert [r.code for r in server.request_log.entries(verb="list")] == [200]


@pytest.mark.parametrize(("call", "verb", "name", "subresource"), [
    pytest.param(lambda c: c.read_namespaced_pod("p", NS), "get", "p", None, id="get"),
    pytest.param(lambda c: c.list_namespaced_pod(NS), "list", None, None, id="list"),
    pytest.param(lambda c: c.replace_namespaced_pod("p", NS, pod("p")), "update", "p", None,
                 id="update"),
    pytest.param(lambda c: c.patch_namespaced_pod("p", NS, {}), "patch", "p", None,
                 id="patch"),
    pytest.param(lambda c: c.patch_namespaced_pod_status("p", NS, {}), "patch", "p",
                 "status", id="patch-status"),
    pytest.param(lambda c: c.delete_namespaced_pod("p", NS), "delete", "p", None,
                 id="delete"),
    pytest.param(lambda c: c.delete_collection_namespaced_pod(NS), "deletecollection", None,
                 None, id="deletecollection"),
    pytest.param(lambda c: c.list_namespaced_pod(NS, watch=True, timeout_seconds=0,
                                                 _preload_content=False).release_conn(),
                 "watch", None, None, id="watch"),
])
def test_request_log_uses_rbac_verbs(server: ApiServer, core: client.CoreV1Api, call: object,
                                     verb: str, name: str | None,
                                     subresource: str | None) -> None:
    core.create_namespaced_pod(NS, pod("p"))
    server.request_log.clear()
    call(core)  # type: ignore[operator]
    assert server.request_log.entries() == [RequestRecord(
        verb, "", "v1", "pods", subresource, NS, name, 200, server.request_log.entries()[0]
        .method, server.request_log.entries()[0].path)]


def test_request_log_records_failures(server: ApiServer, core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException):
        core.read_namespaced_pod("missing", NS)
    assert server.request_log.count(verb="get", code=404, name="missing") == 1


def test_request_log_is_bounded() -> None:
    log = RequestLog(size=3)
    for i in range(5):
        log.append(RequestRecord("get", "", "v1", "pods", None, NS, f"p{i}", 200, "GET", "/"))
    assert [r.name for r in log.entries()] == ["p2", "p3", "p4"]
