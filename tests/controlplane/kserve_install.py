"""Install one KServe release into a running cluster, from the release's own source.

Read from the module source in GOMODCACHE (never copied into this repo): the CRDs listed
by ``config/crd/full/kustomization.yaml``, ``config/configmap/inferenceservice.yaml``,
``config/webhook/manifests.yaml`` and ``config/runtimes/*``. Our changes, all because
there is no in-cluster Service, Istio or Knative here: the default deployment mode is the
release's Raw/Standard name, the ingress config skips Istio and creates no Ingress, the
webhooks are reached by ``url`` on 127.0.0.1 with a certificate made here, and the
runtimes' images get the release's kustomize image names.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

NAMESPACE = "kserve"
CONFIGMAP = "inferenceservice-config"
READY_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def raw_mode_name(source: Path) -> str:
    """``Standard`` from 0.16 on, ``RawDeployment`` before (read from the release)."""
    constants = (source / "pkg" / "constants" / "constants.go").read_text()
    return "Standard" if 'DeploymentModeType = "Standard"' in constants else "RawDeployment"


def crds(source: Path) -> list[dict[str, Any]]:
    full = source / "config" / "crd" / "full"
    names = yaml.safe_load((full / "kustomization.yaml").read_text())["resources"]
    return [doc for name in names for doc in _docs(full / name)]


def isvc_config(source: Path) -> dict[str, Any]:
    """The release's ``inferenceservice-config`` with Raw default and no Istio/Ingress."""
    doc = _docs(source / "config" / "configmap" / "inferenceservice.yaml")[0]
    data = doc["data"]
    deploy = json.loads(data["deploy"])
    deploy["defaultDeploymentMode"] = raw_mode_name(source)
    ingress = json.loads(data["ingress"])
    ingress.update(disableIstioVirtualHost=True, disableIngressCreation=True)
    data["deploy"], data["ingress"] = json.dumps(deploy), json.dumps(ingress)
    doc["metadata"] = {"name": CONFIGMAP, "namespace": NAMESPACE}
    return dict(doc)


def webhooks(source: Path, *, port: int, ca_bundle: str) -> list[dict[str, Any]]:
    """The release's webhook configurations, each pointing at the local manager by url."""
    found = []
    for doc in _docs(source / "config" / "webhook" / "manifests.yaml"):
        for hook in doc["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}",
                                    "caBundle": ca_bundle}
        doc["metadata"].pop("creationTimestamp", None)
        found.append(doc)
    return found


def runtimes(source: Path) -> list[dict[str, Any]]:
    folder = source / "config" / "runtimes"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kustomization.get("images", [])}
    docs = [d for name in kustomization["resources"] for d in _docs(folder / name)]
    for doc in docs:
        for container in doc["spec"].get("containers", []):
            base = container["image"].split(":")[0]
            container["image"] = images.get(base, container["image"])
    return docs


def make_certificate(cert_dir: Path) -> str:
    """A self-signed certificate for 127.0.0.1; returns it base64-encoded as a caBundle."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(cert_dir / "tls.key"), "-out", str(cert_dir / "tls.crt")],
                   check=True, capture_output=True, timeout=60)
    return base64.b64encode((cert_dir / "tls.crt").read_bytes()).decode()


def _create(api: client.ApiClient, doc: dict[str, Any]) -> None:
    group, _, version = doc["apiVersion"].rpartition("/")
    kind = doc["kind"]
    if kind == "CustomResourceDefinition":
        client.ApiextensionsV1Api(api).create_custom_resource_definition(doc)
    elif kind == "ConfigMap":
        client.CoreV1Api(api).create_namespaced_config_map(doc["metadata"]["namespace"], doc)
    elif kind == "MutatingWebhookConfiguration":
        client.AdmissionregistrationV1Api(api).create_mutating_webhook_configuration(doc)
    elif kind == "ValidatingWebhookConfiguration":
        client.AdmissionregistrationV1Api(api).create_validating_webhook_configuration(doc)
    elif kind == "ClusterServingRuntime":
        client.CustomObjectsApi(api).create_cluster_custom_object(
            group, version, "clusterservingruntimes", doc)
    else:
        raise ValueError(f"no creator for {kind}")


def _wait_established(api: client.ApiClient, names: list[str]) -> None:
    ext = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + READY_TIMEOUT
    for name in names:
        while True:
            conds = ext.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conds):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established")
            time.sleep(0.2)


def _wait_manager(proc: subprocess.Popen[bytes], probe: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"KServe manager exited {proc.returncode}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{probe}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"KServe manager not ready after {READY_TIMEOUT:.0f} s:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


def _wait_webhook(port: int, cert: Path) -> None:
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock, \
                    context.wrap_socket(sock, server_hostname="127.0.0.1"):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def _manager(binary: Path, *, kubeconfig: Path, workdir: Path,
             webhook_port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The manager process; controller-runtime reads its certificate from $TMPDIR."""
    probe = f"127.0.0.1:{free_port()}"
    log = workdir / "manager.log"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "TMPDIR": str(workdir / "tmp"),
           "POD_NAMESPACE": NAMESPACE}
    with log.open("ab") as out:
        proc = subprocess.Popen([str(binary), "--metrics-addr=0",
                                 f"--webhook-port={webhook_port}",
                                 f"--health-probe-addr={probe}"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_manager(proc, probe, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def installed(api: client.ApiClient, *, kubeconfig: Path, source: Path, manager: Path,
              workdir: Path) -> Iterator[None]:
    """CRDs, config, manager, webhooks, runtimes; the manager stops on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
    definitions = crds(source)
    for doc in definitions:
        _create(api, doc)
    _wait_established(api, [d["metadata"]["name"] for d in definitions])
    _create(api, isvc_config(source))
    cert_dir = workdir / "tmp" / "k8s-webhook-server" / "serving-certs"
    ca_bundle = make_certificate(cert_dir)
    port = free_port()
    with _manager(manager, kubeconfig=kubeconfig, workdir=workdir, webhook_port=port):
        _wait_webhook(port, cert_dir / "tls.crt")
        for doc in webhooks(source, port=port, ca_bundle=ca_bundle):
            _create(api, doc)
        _create_runtimes(api, runtimes(source))
        yield


def _create_runtimes(api: client.ApiClient, docs: list[dict[str, Any]]) -> None:
    """Through the release's own validating webhook, retried while it warms up."""
    deadline = time.monotonic() + READY_TIMEOUT
    for doc in docs:
        while True:
            try:
                _create(api, doc)
                break
            except ApiException as exc:
                if exc.status == 409:
                    break
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
