"""The real ``kubectl`` binary against the sandbox API server."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesandbox import types
from kubesandbox.server import ApiServer
from kubesandbox.store import Store
from sandbox_tests.conftest import (
    CHART_CRD,
    KUBECTL,
    NS,
    Kubectl,
    deployment,
    isvc,
    pod,
    reclaimpolicy_crd,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]


@pytest.fixture
def popen(kubectl: Kubectl, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [str(KUBECTL), "--kubeconfig", str(kubectl.config),  # type: ignore[attr-defined]
             "--cache-dir", str(tmp_path / "cache"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        return proc
    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _make(store: Store, rtype: types.ResourceType, body: dict[str, Any],
          namespace: str = NS) -> dict[str, Any]:
    return store.create(rtype, body, namespace=namespace)


def _wait_for_watch(server: ApiServer, resource: str) -> None:
    deadline = time.monotonic() + 10
    while server.request_log.count(verb="watch", resource=resource) == 0:
        assert time.monotonic() < deadline, "kubectl never started its watch"
        time.sleep(0.02)


def test_get_isvc_all_namespaces(store: Store, kubectl: Kubectl) -> None:
    _make(store, types.INFERENCESERVICES, isvc("m1"))
    _make(store, types.INFERENCESERVICES, isvc("m2"), namespace="team-b")
    rows = [line.split()[:2] for line in kubectl("get", "isvc", "-A").splitlines()]
    assert rows == [["NAMESPACE", "NAME"], [NS, "m1"], ["team-b", "m2"]]


def test_get_isvc_as_yaml(store: Store, kubectl: Kubectl) -> None:
    _make(store, types.INFERENCESERVICES, isvc("m1"))
    got = yaml.safe_load(kubectl("get", "isvc", "m1", "-o", "yaml"))
    assert (got["kind"], got["metadata"]["name"], got["metadata"]["generation"]) == (
        "InferenceService", "m1", 1)


@pytest.mark.parametrize(("args", "path", "expected"), [
    pytest.param(("annotate", "isvc", "m1", "serving.kserve.io/stop=true"),
                 ("metadata", "annotations"), {"serving.kserve.io/stop": "true"},
                 id="annotate"),
    pytest.param(("label", "isvc", "m1", "team=x"), ("metadata", "labels"), {"team": "x"},
                 id="label"),
    pytest.param(("patch", "isvc", "m1", "--type=merge", "-p",
                  '{"spec":{"predictor":{"minReplicas":0}}}'), ("spec", "predictor"),
                 {"minReplicas": 0, "model": {"modelFormat": {"name": "sklearn"}}},
                 id="patch-merge"),
    pytest.param(("patch", "isvc", "m1", "--type=json", "-p",
                  '[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]'),
                 ("metadata", "labels"), {"a": "b"}, id="patch-json"),
])
def test_writes(store: Store, kubectl: Kubectl, args: tuple[str, ...],
                path: tuple[str, str], expected: Any) -> None:
    _make(store, types.INFERENCESERVICES, isvc("m1"))
    kubectl(*args)
    stored = store.get(types.INFERENCESERVICES, NS, "m1")
    assert stored[path[0]][path[1]] == expected


def test_delete(store: Store, kubectl: Kubectl) -> None:
    _make(store, types.INFERENCESERVICES, isvc("m1"))
    assert "deleted" in kubectl("delete", "isvc", "m1")
    assert store.list(types.INFERENCESERVICES)[0] == []


def test_get_deploy(store: Store, kubectl: Kubectl) -> None:
    _make(store, types.DEPLOYMENTS, deployment("m1-predictor"))
    assert kubectl("get", "deploy", "-o", "name").split() == ["deployment.apps/m1-predictor"]


def test_get_pods_by_label(store: Store, kubectl: Kubectl) -> None:
    for name, owner in (("a", "m1"), ("b", "m2"), ("c", "m1")):
        _make(store, types.PODS, pod(name, labels={
            "serving.kserve.io/inferenceservice": owner}))
    out = kubectl("get", "pods", "-l", "serving.kserve.io/inferenceservice=m1", "-o", "name")
    assert out.split() == ["pod/a", "pod/c"]


def test_scale_uses_the_scale_subresource(server: ApiServer, store: Store,
                                          kubectl: Kubectl) -> None:
    _make(store, types.DEPLOYMENTS, deployment("d", replicas=2))
    kubectl("scale", "deploy/d", "--replicas=0")
    assert store.get(types.DEPLOYMENTS, NS, "d")["spec"]["replicas"] == 0
    assert server.request_log.count(resource="deployments", subresource="scale") >= 1


def test_wait_for_jsonpath_returns_once_status_changes(
        server: ApiServer, store: Store, popen: Callable[..., subprocess.Popen[str]]) -> None:
    made = _make(store, types.INFERENCESERVICES, isvc("m1"))
    proc = popen("wait", "--for=jsonpath={.status.url}=http://m1", "isvc/m1",
                 "--timeout=20s")
    _wait_for_watch(server, "inferenceservices")
    store.replace(types.INFERENCESERVICES, {**made, "status": {"url": "http://m1"}},
                  subresource="status")
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, out.strip()) == (
        0, "inferenceservice.serving.kserve.io/m1 condition met"), err


def test_get_watch_prints_changes_until_the_request_timeout(
        server: ApiServer, store: Store, popen: Callable[..., subprocess.Popen[str]]) -> None:
    _make(store, types.INFERENCESERVICES, isvc("m1"))
    proc = popen("get", "isvc", "-w", "--request-timeout=2s", "-o", "name")
    _wait_for_watch(server, "inferenceservices")
    _make(store, types.INFERENCESERVICES, isvc("m2"))
    out, err = proc.communicate(timeout=20)
    assert out.split() == ["inferenceservice.serving.kserve.io/m1",
                           "inferenceservice.serving.kserve.io/m2"], err


def test_create_from_file_then_duplicate_fails(store: Store, kubectl: Kubectl,
                                               tmp_path: Path) -> None:
    manifest = tmp_path / "isvc.yaml"
    manifest.write_text(yaml.safe_dump(isvc("m1")))
    kubectl("create", "-f", str(manifest), "--validate=false")
    with pytest.raises(AssertionError, match="AlreadyExists"):
        kubectl("create", "-f", str(manifest), "--validate=false")
    assert [o["metadata"]["name"] for o in store.list(types.INFERENCESERVICES)[0]] == ["m1"]


@pytest.mark.parametrize(("body", "rtype"), [
    pytest.param(isvc("m1"), types.INFERENCESERVICES, id="custom-resource-merge-patch"),
    pytest.param(deployment("m1"), types.DEPLOYMENTS, id="builtin-strategic-merge"),
])
def test_apply_creates_then_configures(store: Store, kubectl: Kubectl, tmp_path: Path,
                                       body: dict[str, Any],
                                       rtype: types.ResourceType) -> None:
    manifest = tmp_path / "object.yaml"
    manifest.write_text(yaml.safe_dump(body))
    assert "created" in kubectl("apply", "-f", str(manifest), "--validate=false")
    body["metadata"]["labels"] = {"applied": "twice"}
    manifest.write_text(yaml.safe_dump(body))
    assert "configured" in kubectl("apply", "-f", str(manifest), "--validate=false")
    stored = store.get(rtype, NS, "m1")
    assert stored["metadata"]["labels"] == {"applied": "twice"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"][
        "annotations"]


def test_api_resources_lists_kinds_and_short_names(store: Store, kubectl: Kubectl) -> None:
    store.create(types.CRDS, reclaimpolicy_crd())
    rows = {line.split()[0]: line.split() for line in
            kubectl("api-resources", "--no-headers").splitlines()}
    assert rows["inferenceservices"][1] == "isvc"
    assert rows["reclaimpolicies"][1:] == ["rp", "reclaimer.io/v1alpha1", "true",
                                           "ReclaimPolicy"]


@pytest.mark.skipif(not CHART_CRD.exists(), reason="the chart's ReclaimPolicy CRD is absent")
def test_apply_the_charts_crd_then_a_policy(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(CHART_CRD), "--validate=false")
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"apiVersion": "reclaimer.io/v1alpha1",
                                      "kind": "ReclaimPolicy", "metadata": {"name": "p"},
                                      "spec": {}}))
    kubectl("create", "-f", str(policy), "--validate=false")
    assert kubectl("get", "rp", "-o", "name").split() == ["reclaimpolicy.reclaimer.io/p"]


def test_get_events(store: Store, kubectl: Kubectl) -> None:
    _make(store, types.EVENTS, {
        "metadata": {"name": "m1.1"}, "reason": "Stopped", "message": "stopped by reclaimer",
        "type": "Normal", "involvedObject": {"kind": "InferenceService", "name": "m1",
                                             "namespace": NS}})
    out = kubectl("get", "events", "-A")
    assert "Stopped" in out and "stopped by reclaimer" in out


def test_get_prints_server_side_columns(store: Store, kubectl: Kubectl) -> None:
    made = _make(store, types.INFERENCESERVICES, isvc("m1"))
    store.replace(types.INFERENCESERVICES, {**made, "status": {
        "url": "http://m1.team-a", "conditions": [{"type": "Ready", "status": "True"}]}},
        subresource="status")
    header, row = (line.split() for line in kubectl("get", "isvc").splitlines())
    assert header == ["NAME", "URL", "READY", "PREV", "LATEST", "AGE"]
    assert row[:3] == ["m1", "http://m1.team-a", "True"]


@pytest.mark.parametrize(("args", "rtype", "name", "expected"), [
    pytest.param(("create", "namespace", "fresh"), types.NAMESPACES, "fresh",
                 {"metadata": {"name": "fresh"}}, id="namespace"),
    pytest.param(("create", "configmap", "c", "--from-literal=a=b"), types.CONFIGMAPS, "c",
                 {"data": {"a": "b"}}, id="configmap"),
    pytest.param(("create", "secret", "generic", "s", "--from-literal=p=q"), types.SECRETS,
                 "s", {"data": {"p": "cQ=="}, "type": "Opaque"}, id="secret"),
    pytest.param(("create", "deployment", "d", "--image=nginx", "--replicas=0"),
                 types.DEPLOYMENTS, "d", {"spec": {"replicas": 0, "selector": {
                     "matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {
                         "app": "d"}}, "spec": {"containers": [{"name": "nginx",
                                                                "image": "nginx"}]}}}},
                 id="deployment"),
    pytest.param(("create", "service", "clusterip", "svc", "--tcp=80:8080"), types.SERVICES,
                 "svc", {"spec": {"ports": [{"name": "80-8080", "protocol": "TCP",
                                             "port": 80, "targetPort": 8080}],
                                  "selector": {"app": "svc"}, "type": "ClusterIP"}},
                 id="service"),
])
def test_generators_send_protobuf_that_is_decoded(store: Store, kubectl: Kubectl,
                                                  args: tuple[str, ...],
                                                  rtype: types.ResourceType, name: str,
                                                  expected: dict[str, Any]) -> None:
    kubectl(*args)
    stored = store.get(rtype, None if rtype is types.NAMESPACES else NS, name)
    assert {k: stored[k] for k in expected} == {
        k: {**stored[k], **v} if k == "metadata" else v for k, v in expected.items()}
