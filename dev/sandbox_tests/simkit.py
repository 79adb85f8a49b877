"""Small readers over the official client for the simulator tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.fixtures.sandbox import SandboxHandle

NS = "team-a"
GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
STOP = "serving.kserve.io/stop"


def scenario(mode: str, *, kserve: str = "0.16", grace: float = 0, **entry: Any) -> dict[str, Any]:
    """One ISVC ``llama`` in ``team-a`` with one GPU, plus any entry fields."""
    return {"kserve": kserve, "podTerminationSeconds": grace, "namespaces": [NS],
            "inferenceServices": [{"namespace": NS, "name": "llama", "mode": mode, "gpus": 1,
                                   **entry}]}


def isvc(h: SandboxHandle, name: str = "llama") -> dict[str, Any]:
    api = client.CustomObjectsApi(h.api_client)
    return cast(dict[str, Any],
                api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name))


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def annotate(h: SandboxHandle, annotations: dict[str, str | None], name: str = "llama") -> None:
    api = client.CustomObjectsApi(h.api_client)
    api.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, name,
                                       {"metadata": {"annotations": annotations}})
    h.wait_idle()


def pods(h: SandboxHandle, name: str = "llama", *, live: bool = True) -> list[Any]:
    core = client.CoreV1Api(h.api_client)
    items = core.list_namespaced_pod(
        NS, label_selector=f"serving.kserve.io/inferenceservice={name}").items
    return [p for p in items if not (live and p.metadata and p.metadata.deletion_timestamp)]


def pod_names(h: SandboxHandle, name: str = "llama") -> set[str]:
    return {p.metadata.name for p in pods(h, name)}


def exists(h: SandboxHandle, kind: str, name: str) -> bool:
    readers: dict[str, Callable[[], object]] = {
        "ksvc": lambda: client.CustomObjectsApi(h.api_client).get_namespaced_custom_object(
            "serving.knative.dev", "v1", NS, "services", name),
        "virtualservice": lambda: client.CustomObjectsApi(
            h.api_client).get_namespaced_custom_object(
            "networking.istio.io", "v1beta1", NS, "virtualservices", name),
        "deployment": lambda: client.AppsV1Api(h.api_client).read_namespaced_deployment(
            name, NS),
        "service": lambda: client.CoreV1Api(h.api_client).read_namespaced_service(name, NS),
        "hpa": lambda: client.AutoscalingV2Api(
            h.api_client).read_namespaced_horizontal_pod_autoscaler(name, NS),
    }
    try:
        readers[kind]()
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def scale(h: SandboxHandle, deployment: str, replicas: int) -> None:
    client.AppsV1Api(h.api_client).patch_namespaced_deployment_scale(
        deployment, NS, {"spec": {"replicas": replicas}})
    h.wait_idle()


def delete(h: SandboxHandle, kind: str, name: str) -> None:
    if kind == "ksvc":
        client.CustomObjectsApi(h.api_client).delete_namespaced_custom_object(
            "serving.knative.dev", "v1", NS, "services", name)
    elif kind == "deployment":
        client.AppsV1Api(h.api_client).delete_namespaced_deployment(name, NS)
    h.wait_idle()
