"""A bare sandbox API server (no simulator) and the official client pointed at it."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, dynamic

from kubesandbox.server import ApiServer
from kubesandbox.store import Store

# The sandbox fixtures the product's tests use too (tests/conftest.py registers them for
# those); named here so this directory also runs on its own.
pytest_plugins = ["tests.fixtures.sandbox"]

NS = "team-a"
CHART_CRD = Path(__file__).resolve().parents[2] / "helm/reclaimer/crds/reclaimpolicy.yaml"


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def server(store: Store) -> Iterator[ApiServer]:
    api = ApiServer(store, bookmark_interval=0.2).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def api_client(server: ApiServer) -> Iterator[client.ApiClient]:
    config = client.Configuration()
    config.host = server.url
    with client.ApiClient(config) as api:
        yield api


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def dyn(api_client: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api_client)


def status_body(exc: client.ApiException) -> dict[str, Any]:
    return dict(json.loads(exc.body))


def raw(server: ApiServer, method: str, path: str, body: Any = None,
        content_type: str = "application/json") -> tuple[int, Any, dict[str, str]]:
    """A request without the client's conveniences: exact status, body and headers."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method,
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read() or b"null"), dict(err.headers)


def pod(name: str, *, labels: dict[str, str] | None = None,
        owner: dict[str, Any] | None = None, finalizers: list[str] | None = None) -> Any:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "main", "image": "kserve/predictor:1"}]}}


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": "a:1"},
                                                          {"name": "side", "image": "b:1"}]}}}}


def isvc(name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}}}


def reclaimpolicy_crd() -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "reclaimpolicies.reclaimer.io"},
            "spec": {"group": "reclaimer.io", "scope": "Namespaced",
                     "names": {"kind": "ReclaimPolicy", "plural": "reclaimpolicies",
                               "singular": "reclaimpolicy", "shortNames": ["rp"]},
                     "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object"}}}]}}


KUBECTL = shutil.which("kubectl")
Kubectl = Callable[..., str]


@pytest.fixture
def kubectl(server: ApiServer, tmp_path: Path) -> Kubectl:
    """The real kubectl against ``server`` (a module may override it), its output."""
    if KUBECTL is None:
        pytest.skip("kubectl is not on PATH")
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sandbox",
        "clusters": [{"name": "sandbox", "cluster": {"server": server.url}}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "u",
                                                     "namespace": NS}}],
        "users": [{"name": "u", "user": {}}]}))

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(config), "--cache-dir",
             str(tmp_path / "cache"), *args], input=stdin, capture_output=True, text=True,
            timeout=30, check=False)
        if done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done.stdout
    run.config = config  # type: ignore[attr-defined]
    return run
