"""The observed services, as model `Service` values, from watch-backed caches.

InferenceServices always; LLMInferenceServices and InferenceGraphs where the cluster
serves their CRDs (`kinds.KindCaches`: a kind that is absent costs one 404 per resync).

Costs: at start one LIST of ISVCs, one LIST of KServe-labelled pods, one GET of
KServe's ``inferenceservice-config`` and one of its controller Deployment (its version);
then two long-lived WATCHes and a re-LIST per
resync. `snapshot()` reads only memory, so a tick costs O(1) API calls whatever the
number of services.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from reclaimer.errors import NotFound
from reclaimer.kserve import ISVC_LABEL, odd_stop_in, parse_mode
from reclaimer.kube import rest
from reclaimer.kube.cache import name_key
from reclaimer.kube.isvc import service_from_isvc
from reclaimer.kube.kinds import KindCaches
from reclaimer.kube.kserve_version import KServeVersion, controller_version
from reclaimer.kube.scope import EVERYWHERE, Scope, watch_cache
from reclaimer.kube.trim import KeptIsvc, PodShare, keep_isvc, keep_pod
from reclaimer.model import DeploymentMode, Service, ServiceKind, ServiceRef, ServiceState

Obj = dict[str, Any]
log = logging.getLogger("reclaimer.inventory")
CONFIGMAP = "inferenceservice-config"
OTHER_KINDS = (ServiceKind.LLM_INFERENCE_SERVICE, ServiceKind.INFERENCE_GRAPH)


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


def gpus_by_service(pods: Iterable[PodShare]) -> dict[ServiceRef, int]:
    counts: dict[ServiceRef, int] = {}
    for share in pods:
        if share is not None:
            ref, gpus = share
            counts[ref] = counts.get(ref, 0) + gpus
    return counts


class Inventory:
    def __init__(self, client: rest.Rest, *, kserve_namespace: str = "kserve",
                 resync_every: float = 300.0, scope: Scope = EVERYWHERE,
                 monotonic: Callable[[], float] = time.monotonic,
                 kinds: Iterable[ServiceKind] = OTHER_KINDS) -> None:
        """``scope``: the namespaces whose services and pods are listed and watched; a
        service outside them is never seen. ``kinds``: the kinds observed besides
        InferenceService, where the cluster serves them."""
        self.rest = client
        self.kserve_namespace = kserve_namespace
        self.mode = DeploymentMode.KNATIVE
        self.kserve_version: KServeVersion | None = None
        """Read from KServe's controller Deployment at start and resync; None if unknown."""
        self.isvcs = watch_cache(client, rest.ISVC, scope=scope, resync_every=resync_every,
                                 monotonic=monotonic, trim=self._keep, key=name_key)
        self.pods = watch_cache(client, rest.POD, scope=scope, label_selector=ISVC_LABEL,
                                resync_every=resync_every, monotonic=monotonic,
                                trim=keep_pod)
        self.others = {kind: KindCaches(client, kind, scope=scope, keep=self._keep,
                                        resync_every=resync_every, monotonic=monotonic)
                       for kind in kinds}
        self._last_gpus: dict[str, int] = {}

    def start(self) -> None:
        """One LIST each, then the watches; raises a ClusterError if the API is down."""
        self.mode = default_mode(self.rest, namespace=self.kserve_namespace)
        self.kserve_version = controller_version(self.rest, namespace=self.kserve_namespace)
        self.isvcs.start()
        self.pods.start()
        for other in self.others.values():
            other.start()

    def stop(self) -> None:
        self.isvcs.stop()
        self.pods.stop()
        for other in self.others.values():
            other.stop()

    def resync(self) -> None:
        self.mode = default_mode(self.rest, namespace=self.kserve_namespace)
        self.kserve_version = controller_version(self.rest, namespace=self.kserve_namespace,
                                                 known=self.kserve_version)
        self.isvcs.resync()
        self.pods.resync()
        for other in self.others.values():
            other.resync()

    def _keep(self, obj: Obj) -> KeptIsvc:
        """Mapped with the mode known now: `resync` re-lists after reading a new one.

        A stop annotation that looks like a stop but is none for KServe (``" true"``) is
        reported each time the object arrives; the service counts as running."""
        odd = odd_stop_in((obj.get("metadata") or {}).get("annotations"))
        if odd is not None:
            meta = obj.get("metadata") or {}
            log.warning("%s %s/%s: %s", obj.get("kind") or "InferenceService",
                        meta.get("namespace"), meta.get("name"), odd)
        return keep_isvc(obj, default_mode=self.mode)

    def objects(self) -> list[Obj]:
        """Every cached ISVC as its trimmed dict, decoded afresh (costly: tools, tests)."""
        return [kept.object() for kept in self._kept()]

    def _kept(self) -> list[KeptIsvc]:
        return [*self.isvcs.items(), *(k for o in self.others.values() for k in o.kept())]

    def isvc(self, ref: ServiceRef, *, uid: str | None = None) -> Obj | None:
        """One trimmed ISVC as last seen (`trim.trim_isvc`), or None if not cached.

        The executor PATCHes from it instead of GETting first: it may lag the server,
        but the PATCH carries its resourceVersion, so a stale copy costs a 409, never an
        overwrite. With ``uid``, a namesake that replaced the object is not returned.
        """
        key = f"{ref.namespace}/{ref.name}"
        other = self.others.get(ref.kind)
        kept = other.get(key) if other is not None else (
            self.isvcs.get(key) if ref.kind is ServiceKind.INFERENCE_SERVICE else None)
        obj = None if kept is None else kept.object()
        if obj is None or (uid and (obj.get("metadata") or {}).get("uid") != uid):
            return None
        return obj

    def snapshot(self) -> list[Service]:
        """Every ISVC now; a stopped one keeps the GPU count last seen on its pods before
        it was told to stop (the pods of a stop go one at a time: a snapshot between two
        of them would otherwise keep a part of the count for good)."""
        gpus = gpus_by_service([*self.pods.items(),
                                *(s for o in self.others.values() for s in o.pod_shares())])
        services = []
        for kept in self._kept():
            service = kept.service or service_from_isvc(kept.object(), default_mode=self.mode)
            services.append(_with_gpus(service, self._known_gpus(service, gpus.get(service.ref))))
        # The ref's fields as a tuple: the order of `ServiceRef`, compared in C (the
        # dataclass's own comparison is a Python call per pair).
        return sorted(services, key=lambda s: (s.ref.namespace, s.ref.name, s.ref.kind))

    def _known_gpus(self, service: Service, counted: int | None) -> int | None:
        """Only a running service's pods say what it holds: while it stops, its pods
        go one watch event at a time, and a count taken then (one of two) would be
        remembered as what the stop gave back."""
        if service.state is ServiceState.RUNNING:
            if counted:
                self._last_gpus[service.uid] = counted
            return counted or self._last_gpus.get(service.uid) or service.gpus
        return self._last_gpus.get(service.uid) or counted or service.gpus


def _with_gpus(service: Service, gpus: int | None) -> Service:
    if gpus is None or gpus == service.gpus:
        return service
    return replace(service, gpus=gpus)
