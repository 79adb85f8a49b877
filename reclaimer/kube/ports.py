"""What the executor and the service need from a cluster, as one Protocol.

`KubeCluster` (over the official client) is the product's implementation. The tests
have an in-memory one (tests/fixtures/memory_cluster.py) for the executor's fast unit
tests; one contract suite holds both to the same behaviour, the real adapter against
the sandbox API server over HTTP (tests/kube/test_cluster_contract.py).
Objects are plain dicts as the API serves them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from reclaimer.model import ServiceRef

Obj = dict[str, Any]


@dataclass(frozen=True)
class Scalers:
    """What may scale Deployments in one namespace besides KServe (`reclaimer.keda`):
    KEDA ScaledObjects, HPAs and Argo Rollouts. A kind the API server does not serve
    (KEDA or Argo not installed) is empty."""

    scaled_objects: tuple[Obj, ...] = ()
    hpas: tuple[Obj, ...] = ()
    rollouts: tuple[Obj, ...] = ()


@dataclass(frozen=True)
class RuntimeWorkload:
    replicas: int | None = None
    """``spec.replicas`` of the Deployment; None when it does not exist."""
    pods: int = 0
    ready: int = 0
    """``status.readyReplicas``: a start is served again from the first."""


class Cluster(Protocol):
    def get_isvc(self, ref: ServiceRef) -> Obj: ...

    def list_isvcs(self, refs: Collection[ServiceRef] | None = None) -> list[Obj]:
        """All ISVCs (trimmed), or only those of ``refs``, from one LIST."""
        ...

    def patch_isvc(self, ref: ServiceRef, body: Obj) -> Obj: ...

    def patch_isvc_status(self, ref: ServiceRef, body: Obj) -> Obj: ...

    def pod_counts(self, refs: Collection[ServiceRef] | None = None,
                   ) -> Mapping[ServiceRef, int]:
        """Live pods per service: of ``refs`` only (listed by their names), or of all."""
        ...

    def component_deployments(self, ref: ServiceRef) -> list[Obj]: ...

    def list_component_deployments(self, namespaces: Collection[str], *,
                                   names: Collection[str] | None = None,
                                   ) -> Mapping[ServiceRef, list[Obj]]:
        """KServe's component Deployments per ISVC (of the ISVCs ``names`` only, listed
        by them), one LIST per namespace, each reduced to what verification reads (name,
        generation, replicas, status)."""
        ...

    def scale_deployment(self, namespace: str, name: str, replicas: int, *,
                         resource_version: str | None = None) -> None:
        """``resource_version``: a precondition (409 `Conflict` when the Deployment
        changed since it was read); putting back a stop writes only what it read."""

    def list_scalers(self, namespace: str) -> Scalers: ...

    def list_scaled_objects(self, namespace: str) -> tuple[Obj, ...]:
        """KEDA's ScaledObjects of one namespace (one LIST; none where KEDA's CRD is not
        installed): what a held managed Standard stop's pauses are read from."""
        ...

    def namespace_isvcs(self, namespace: str) -> list[Obj]:
        """Every InferenceService of one namespace (trimmed), from one LIST: the users
        of a ModelMesh runtime."""
        ...

    def get_serving_runtime(self, namespace: str, name: str) -> Obj: ...

    def patch_serving_runtime(self, namespace: str, name: str, body: Obj) -> Obj: ...

    def runtime_workload(self, namespace: str, deployment: str) -> RuntimeWorkload:
        """A ModelMesh runtime Deployment and its live pods (Terminating ones hold
        their GPUs, so they count); a Deployment that does not exist has none."""
        ...

    def patch_scaled_object(self, namespace: str, name: str, body: Obj) -> Obj: ...

    def emit_event(self, ref: ServiceRef, uid: str, *, reason: str, message: str,
                   warning: bool, at: datetime) -> None: ...


class CachedIsvcs(Protocol):
    def isvc(self, ref: ServiceRef, *, uid: str | None = None) -> Obj | None:
        """The watch cache's copy of one ISVC, or None; the caller must not mutate it."""
        ...
