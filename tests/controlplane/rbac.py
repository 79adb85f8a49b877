"""ServiceAccount identities on the real cluster, and the chart's RBAC applied to one.

`apply_chart_rbac` takes a render of the chart by the real helm (tests/chart/helm.py) and
creates its ServiceAccount, ClusterRole(s), Role(s) and bindings, and its
ValidatingAdmissionPolicy and binding (enforced by the real API server), as rendered. A token
comes from the TokenRequest API; `token_kubeconfig` writes a kubeconfig that carries
only that token (the admin's client certificate is left out).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.chart.helm import NAMESPACE as RELEASE_NAMESPACE
from tests.chart.helm import Rendered
from tests.controlplane.cluster import ControlPlane

RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
ADMISSION_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def _ensure_namespace(core: client.CoreV1Api, name: str) -> None:
    try:
        core.create_namespace({"metadata": {"name": name}})
    except ApiException as exc:
        if exc.status != 409:
            raise


def _create(api: client.ApiClient, doc: Mapping[str, Any]) -> None:
    kind, meta = doc["kind"], doc["metadata"]
    rbac, core = client.RbacAuthorizationV1Api(api), client.CoreV1Api(api)
    body = dict(doc)
    if kind == "ServiceAccount":
        core.create_namespaced_service_account(meta["namespace"], body)
    elif kind == "ClusterRole":
        rbac.create_cluster_role(body)
    elif kind == "ClusterRoleBinding":
        rbac.create_cluster_role_binding(body)
    elif kind == "Role":
        rbac.create_namespaced_role(meta["namespace"], body)
    elif kind == "RoleBinding":
        rbac.create_namespaced_role_binding(meta["namespace"], body)
    elif kind == "ValidatingAdmissionPolicy":
        client.AdmissionregistrationV1Api(api).create_validating_admission_policy(body)
    elif kind == "ValidatingAdmissionPolicyBinding":
        client.AdmissionregistrationV1Api(api).create_validating_admission_policy_binding(body)


def apply_chart_rbac(api: client.ApiClient, rendered: Rendered, *, release_namespace: str =
                     RELEASE_NAMESPACE, admission: bool = False) -> tuple[str, str]:
    """Create every RBAC document of the render (with ``admission`` its admission policy
    and binding too); returns the ServiceAccount (namespace, name)."""
    core = client.CoreV1Api(api)
    kinds = RBAC_KINDS + (ADMISSION_KINDS if admission else ())
    docs = [d for d in rendered.docs if d["kind"] in kinds]
    for namespace in sorted({d["metadata"].get("namespace") or release_namespace
                             for d in docs} | {release_namespace}):
        _ensure_namespace(core, namespace)
    for doc in docs:
        placed = doc
        if doc["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
            namespace = doc["metadata"].get("namespace") or release_namespace
            placed = {**doc, "metadata": {**doc["metadata"], "namespace": namespace}}
        try:
            _create(api, placed)
        except ApiException as exc:
            if exc.status != 409:
                raise
    [account] = rendered.of_kind("ServiceAccount")
    return account["metadata"].get("namespace") or release_namespace, account["metadata"]["name"]


def token_for(api: client.ApiClient, namespace: str, account: str) -> str:
    request = client.CoreV1Api(api).create_namespaced_service_account_token(
        account, namespace, {"spec": {"expirationSeconds": 7200}})
    return str(request.status.token)


def token_kubeconfig(plane: ControlPlane, token: str, path: Path) -> Path:
    """The admin kubeconfig's cluster (server, CA) with a bearer token as the only user."""
    admin = yaml.safe_load(plane.kubeconfig.read_text())
    current = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == current["context"]["cluster"])
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": cluster["name"], "user": "sa"}}],
        "current-context": "sa"}))
    return path


@contextmanager
def service_account_client(plane: ControlPlane, admin: client.ApiClient, namespace: str,
                           account: str) -> Iterator[client.ApiClient]:
    """A client authenticated only as ``namespace/account`` (created if absent)."""
    core = client.CoreV1Api(admin)
    try:
        core.create_namespaced_service_account(namespace, {"metadata": {"name": account}})
    except ApiException as exc:
        if exc.status != 409:
            raise
    path = plane.workdir / f"kubeconfig-{namespace}-{account}"
    token_kubeconfig(plane, token_for(admin, namespace, account), path)
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path),  # type: ignore[no-untyped-call]
                            client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        yield api
