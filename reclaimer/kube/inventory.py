"""The observed InferenceServices, as model `Service` values, from watch-backed caches.

Costs: at start one LIST of ISVCs, one LIST of KServe-labelled pods and one GET of
KServe's ``inferenceservice-config``; then two long-lived WATCHes and a re-LIST per
resync. `snapshot()` reads only memory, so a tick costs O(1) API calls whatever the
number of services.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from reclaimer.errors import NotFound
from reclaimer.kube import rest
from reclaimer.kube.cache import WatchCache
from reclaimer.kube.isvc import service_from_isvc
from reclaimer.kube.trim import trim_isvc, trim_pod
from reclaimer.model import DeploymentMode, Service, ServiceRef, parse_mode

Obj = dict[str, Any]
ISVC_LABEL = "serving.kserve.io/inferenceservice"
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
CONFIGMAP = "inferenceservice-config"


def default_mode(client: rest.Rest, *, namespace: str = "kserve",
                 fallback: DeploymentMode = DeploymentMode.KNATIVE) -> DeploymentMode:
    """``deploy.defaultDeploymentMode`` of KServe's ConfigMap (``kserve_stop.md`` §3).

    ``fallback`` is used when the ConfigMap or the key is absent; KServe's shipped
    configuration says Serverless (= Knative).
    """
    try:
        cm = client.get(rest.CONFIGMAP, namespace, CONFIGMAP)
    except NotFound:
        return fallback
    try:
        deploy = json.loads((cm.get("data") or {}).get("deploy") or "{}")
    except ValueError:
        return fallback
    mode = parse_mode(deploy.get("defaultDeploymentMode")) if isinstance(deploy, dict) else None
    return mode or fallback


def _quantity(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def pod_gpus(pod: Obj) -> int:
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        total += sum(_quantity(wanted.get(name, 0)) for name in GPU_RESOURCES)
    return total


def gpus_by_service(pods: Iterable[Obj]) -> dict[ServiceRef, int]:
    counts: dict[ServiceRef, int] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(ISVC_LABEL)
        if owner and not meta.get("deletionTimestamp"):
            ref = ServiceRef(str(meta.get("namespace", "")), owner)
            counts[ref] = counts.get(ref, 0) + pod_gpus(pod)
    return counts


class Inventory:
    def __init__(self, client: rest.Rest, *, kserve_namespace: str = "kserve",
                 resync_every: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rest = client
        self.kserve_namespace = kserve_namespace
        self.mode = DeploymentMode.KNATIVE
        self.isvcs = WatchCache(client, rest.ISVC, resync_every=resync_every,
                                monotonic=monotonic, trim=trim_isvc)
        self.pods = WatchCache(client, rest.POD, label_selector=ISVC_LABEL,
                               resync_every=resync_every, monotonic=monotonic, trim=trim_pod)
        self._last_gpus: dict[str, int] = {}

    def start(self) -> None:
        """One LIST each, then the watches; raises a ClusterError if the API is down."""
        self.mode = default_mode(self.rest, namespace=self.kserve_namespace)
        self.isvcs.start()
        self.pods.start()

    def stop(self) -> None:
        self.isvcs.stop()
        self.pods.stop()

    def resync(self) -> None:
        self.mode = default_mode(self.rest, namespace=self.kserve_namespace)
        self.isvcs.resync()
        self.pods.resync()

    def objects(self) -> list[Obj]:
        return self.isvcs.items()

    def snapshot(self) -> list[Service]:
        """Every ISVC now; a stopped one keeps the GPU count last seen on its pods."""
        gpus = gpus_by_service(self.pods.items())
        services = []
        for obj in self.objects():
            service = service_from_isvc(obj, default_mode=self.mode)
            count = gpus.get(service.ref)
            if count:
                self._last_gpus[service.uid] = count
            known = count or self._last_gpus.get(service.uid) or service.gpus
            services.append(_with_gpus(service, known))
        return sorted(services, key=lambda s: s.ref)

    def isvc(self, ref: ServiceRef, *, uid: str | None = None) -> Obj | None:
        """The cached (trimmed) object, so the executor need not GET it before a PATCH.

        It may lag the server: a PATCH made from it carries its resourceVersion, so a
        stale copy costs a 409, never an overwrite. By ``uid`` a lookup is one dict read;
        by ``ref`` alone it scans the cache.
        """
        if uid:
            found = self.isvcs.get(uid)
            return found if found is not None and _ref(found) == ref else None
        return next((o for o in self.objects() if _ref(o) == ref), None)

    def native_stop_seen(self) -> bool:
        """Whether any ISVC carries KServe's own Stopped condition (KServe ≥ 0.16)."""
        return any(_kserve_stopped_condition(o) for o in self.objects())


def _ref(obj: Obj) -> ServiceRef:
    meta = obj.get("metadata") or {}
    return ServiceRef(str(meta.get("namespace", "")), str(meta.get("name", "")))


def _kserve_stopped_condition(obj: Obj) -> bool:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Stopped" and cond.get("reason") not in ("Reclaimed", "Restored"):
            return True
    return False


def _with_gpus(service: Service, gpus: int | None) -> Service:
    if gpus is None or gpus == service.gpus:
        return service
    return replace(service, gpus=gpus)

