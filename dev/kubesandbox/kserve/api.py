"""The simulator's view of the store: kinds by short key, 404 as None, one writer identity.

The simulator writes straight into the in-memory store (not over HTTP), like a
controller inside the API server's process would; every write still emits the watch
events a real controller's writes would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesandbox import types as t
from kubesandbox.store import ApiError, Store
from kubesandbox.types import ResourceType

Obj = dict[str, Any]

KINDS: dict[str, ResourceType] = {
    "isvc": t.INFERENCESERVICES, "ksvc": t.KSERVICES, "deployment": t.DEPLOYMENTS,
    "service": t.SERVICES, "hpa": t.HPAS, "pod": t.PODS, "virtualservice": t.VIRTUALSERVICES,
    "configmap": t.CONFIGMAPS, "namespace": t.NAMESPACES, "ig": t.INFERENCEGRAPHS,
    "llmisvc": t.LLMINFERENCESERVICES, "servingruntime": t.SERVINGRUNTIMES,
}


# Kinds served only once their CRD is installed: (group, version, plural) by short key.
OPTIONAL: dict[str, tuple[str, str, str]] = {
    "scaledobject": ("keda.sh", "v1alpha1", "scaledobjects"),
}


@dataclass
class SimApi:
    store: Store

    def __post_init__(self) -> None:
        self.types: dict[str, ResourceType] = dict(KINDS)
        self._keys = {rtype.storage_key: key for key, rtype in KINDS.items()}
        self._keys.update({(g, p): key for key, (g, _, p) in OPTIONAL.items()})

    def key_of(self, rtype: ResourceType) -> str | None:
        return self._keys.get(rtype.storage_key)

    def served(self, kind: str) -> bool:
        """Whether ``kind`` can be read and written now (an optional kind's CRD is in)."""
        if kind in self.types:
            return True
        group, version, plural = OPTIONAL[kind]
        try:
            self.types[kind] = self.store.registry.get(group, version, plural)
        except ApiError:
            return False
        return True

    def find(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        if not self.served(kind):
            return None
        try:
            return self.store.get(self.types[kind], namespace, name)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None, *,
             label_selector: str | None = None) -> list[Obj]:
        items, _ = self.store.list(self.types[kind], namespace, label_selector=label_selector)
        return items

    def create(self, kind: str, obj: Obj) -> Obj:
        return self.store.create(self.types[kind], obj, namespace=obj["metadata"].get("namespace"))

    def replace(self, kind: str, obj: Obj) -> Obj:
        return self.store.replace(self.types[kind], obj)

    def write_status(self, kind: str, obj: Obj, status: Obj) -> Obj:
        body = {**obj, "status": status}
        return self.store.replace(self.types[kind], body, subresource="status")

    def delete(self, kind: str, namespace: str | None, name: str) -> None:
        try:
            self.store.delete(self.types[kind], namespace, name)
        except ApiError as exc:
            if exc.code != 404:
                raise

    def finalize(self, kind: str, namespace: str | None, name: str) -> None:
        """Remove a Terminating object now (the kubelet's "containers are gone")."""
        try:
            self.store.finalize(self.types[kind], namespace, name)
        except ApiError as exc:
            if exc.code != 404:
                raise
