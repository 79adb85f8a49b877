"""`Cluster` over the Kubernetes API: the calls the executor makes, each one request.

A tick's verification uses `list_isvcs` and `pod_counts`, one cluster-wide LIST each
(one per watched namespace with ``watchNamespaces``; the pods by the names awaited,
`selectors.by_names`), whatever the number of services
(docs/design.md §4's "never one query per service", applied to the API server), read in
pages of `rest.LIST_PAGE`. Both reduce each item of their LIST as it is decoded (ISVCs
to `trim.trim_isvc`, pods to a count; `Rest.list_items`): 10,000 whole ISVCs and pods
parsed at once were 70 MiB of the service's peak (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

from reclaimer.errors import NotFound
from reclaimer.kserve import ISVC_LABEL, KINDS
from reclaimer.kube import rest
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.isvc import ref_of
from reclaimer.kube.listing import interned
from reclaimer.kube.ports import Obj, RuntimeWorkload, Scalers
from reclaimer.kube.scope import EVERYWHERE, Scope
from reclaimer.kube.selectors import by_names as selectors_by_names
from reclaimer.kube.trim import trim_deployment, trim_isvc
from reclaimer.model import ServiceKind, ServiceRef

ISVC_ONLY = frozenset({ServiceKind.INFERENCE_SERVICE})


class KubeCluster:
    def __init__(self, client: rest.Rest, *, events: EventRecorder | None = None,
                 scope: Scope = EVERYWHERE) -> None:
        self.rest = client
        self.events = events or EventRecorder(client)
        self.scope = scope
        self.kinds = set(ISVC_ONLY)
        """The kinds asked about so far: `pod_counts` lists the pods of these only, so
        a cluster with InferenceServices alone pays one LIST, as before."""

    def get_isvc(self, ref: ServiceRef) -> Obj:
        """The service of ``ref.kind`` (the name stays for the InferenceService)."""
        self.kinds.add(ref.kind)
        return self.rest.get(rest.SERVICE_KINDS[ref.kind], ref.namespace, ref.name)

    def list_isvcs(self, refs: Collection[ServiceRef] | None = None) -> list[Obj]:
        """Every service in scope, or those of ``refs``: one LIST per kind (per
        namespace in scope), filtered as it is decoded, so verifying 50 stops among
        10,000 ISVCs keeps 50 objects, not all, and interns only those
        (`listing.interned`). Without ``refs``, the InferenceServices
        and the kinds asked about before; a kind whose CRD is absent lists nothing."""
        kinds = self.kinds | ({r.kind for r in refs} if refs is not None else set())
        self.kinds |= kinds
        return [interned(trim_isvc(obj)) for kind in sorted(kinds)
                for namespace in self._targets(refs)
                for obj in self._items(kind, namespace)
                if refs is None or ref_of(obj) in refs]

    def _items(self, kind: ServiceKind, namespace: str | None) -> Iterator[Obj]:
        """Each item as it is decoded, for `list_isvcs` to filter before the next one:
        collected first, 10,000 whole ISVCs were alive at once (about 50 MiB)."""
        try:
            yield from self.rest.list_items(rest.SERVICE_KINDS[kind], namespace=namespace)
        except NotFound:
            if kind is ServiceKind.INFERENCE_SERVICE:
                raise

    def _targets(self, refs: Collection[ServiceRef] | None) -> tuple[str | None, ...]:
        """Where to LIST: cluster-wide, or the watched namespaces (only those of
        ``refs`` when given: a namespace with nothing to verify costs no request)."""
        if self.scope.cluster_wide or refs is None:
            return self.scope.targets()
        wanted = {ref.namespace for ref in refs}
        return tuple(ns for ns in self.scope.namespaces if ns in wanted)

    def patch_isvc(self, ref: ServiceRef, body: Obj) -> Obj:
        return self.rest.merge_patch(rest.SERVICE_KINDS[ref.kind], ref.namespace, ref.name,
                                     body)

    def patch_isvc_status(self, ref: ServiceRef, body: Obj) -> Obj:
        return self.rest.merge_patch(rest.SERVICE_KINDS[ref.kind], ref.namespace, ref.name,
                                     body, subresource="status")

    def pod_counts(self, refs: Collection[ServiceRef] | None = None,
                   ) -> Mapping[ServiceRef, int]:
        """Live pods per service: of ``refs`` only, listed by their names
        (`selectors.by_names`), or of every service of the kinds asked about (`kinds`),
        listed by KServe's label."""
        counts: dict[ServiceRef, int] = {}
        kinds = sorted(self.kinds) if refs is None else sorted({r.kind for r in refs})
        for kind in kinds:
            info = KINDS[kind]
            selectors = [info.pod_selector] if refs is None else selectors_by_names(
                info.pod_selector, info.pod_owner, {r.name for r in refs if r.kind is kind})
            pods = (pod for selector in selectors for namespace in self.scope.targets()
                    for pod in self.rest.list_items(rest.POD, namespace=namespace,
                                                    label_selector=selector))
            for pod in pods:
                meta = pod.get("metadata") or {}
                owner = (meta.get("labels") or {}).get(info.pod_owner)
                if owner:
                    ref = ServiceRef(meta.get("namespace", ""), owner, kind)
                    if refs is None or ref in refs:
                        counts[ref] = counts.get(ref, 0) + 1
        return counts

    def component_deployments(self, ref: ServiceRef) -> list[Obj]:
        selector = f"{ISVC_LABEL}={ref.name}"
        found = self.rest.list(rest.DEPLOYMENT, ref.namespace, label_selector=selector)
        return sorted(found.get("items") or [], key=lambda d: str(d["metadata"]["name"]))

    def list_component_deployments(self, namespaces: Collection[str], *,
                                   names: Collection[str] | None = None,
                                   ) -> dict[ServiceRef, list[Obj]]:
        """One LIST by KServe's label per namespace (narrowed to the ISVCs ``names``,
        `selectors.by_names`), each Deployment reduced as it is decoded
        (`trim.trim_deployment`)."""
        selectors = [ISVC_LABEL] if names is None else selectors_by_names(
            ISVC_LABEL, ISVC_LABEL, names)
        found: dict[ServiceRef, list[Obj]] = {}
        for namespace in sorted(namespaces):
            for item in (i for selector in selectors for i in self.rest.list_items(
                    rest.DEPLOYMENT, namespace=namespace, label_selector=selector)):
                deployment = trim_deployment(item)
                meta = deployment["metadata"]
                owner = (meta.get("labels") or {}).get(ISVC_LABEL)
                if owner and (names is None or owner in names):
                    found.setdefault(ServiceRef(meta["namespace"], owner), []).append(deployment)
        return found

    def scale_deployment(self, namespace: str, name: str, replicas: int, *,
                         resource_version: str | None = None) -> None:
        """Through the scale subresource; a Deployment already gone is already at 0.
        The Scale's resourceVersion is its Deployment's, so it is a precondition."""
        body: dict[str, Any] = {"spec": {"replicas": replicas}}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            self.rest.merge_patch(rest.DEPLOYMENT, namespace, name, body, subresource="scale")
        except NotFound:
            if replicas != 0:
                raise

    def namespace_isvcs(self, namespace: str) -> list[Obj]:
        return [interned(trim_isvc(obj))
                for obj in self.rest.list_items(rest.ISVC, namespace=namespace)]

    def get_serving_runtime(self, namespace: str, name: str) -> Obj:
        return self.rest.get(rest.SERVING_RUNTIME, namespace, name)

    def patch_serving_runtime(self, namespace: str, name: str, body: Obj) -> Obj:
        return self.rest.merge_patch(rest.SERVING_RUNTIME, namespace, name, body)

    def runtime_workload(self, namespace: str, deployment: str) -> RuntimeWorkload:
        """One GET and one LIST of the pods by the Deployment's own selector."""
        try:
            found = self.rest.get(rest.DEPLOYMENT, namespace, deployment)
        except NotFound:
            return RuntimeWorkload()
        spec = found.get("spec") or {}
        labels = (spec.get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        pods = (sum(1 for _ in self.rest.list_items(rest.POD, namespace=namespace,
                                                     label_selector=selector))
                if selector else 0)
        ready = int((found.get("status") or {}).get("readyReplicas") or 0)
        return RuntimeWorkload(replicas=int(spec.get("replicas") or 0), pods=pods, ready=ready)

    def list_scalers(self, namespace: str) -> Scalers:
        """Three LISTs in one namespace; only the managed Raw stop asks (old KServe)."""
        return Scalers(scaled_objects=self._served(rest.SCALED_OBJECT, namespace),
                       hpas=self._served(rest.HPA, namespace),
                       rollouts=self._served(rest.ROLLOUT, namespace))

    def list_scaled_objects(self, namespace: str) -> tuple[Obj, ...]:
        return self._served(rest.SCALED_OBJECT, namespace)

    def _served(self, kind: rest.Kind, namespace: str) -> tuple[Obj, ...]:
        """The namespace's objects of ``kind``; none when the kind is not served (its
        CRD is not installed). Any other failure (403 included) is raised: not knowing
        who scales a Deployment is no licence to scale it."""
        try:
            return tuple(self.rest.list(kind, namespace).get("items") or [])
        except NotFound:
            return ()

    def patch_scaled_object(self, namespace: str, name: str, body: Obj) -> Obj:
        return self.rest.merge_patch(rest.SCALED_OBJECT, namespace, name, body)

    def emit_event(self, ref: ServiceRef, uid: str, *, reason: str, message: str,
                   warning: bool, at: datetime) -> None:
        self.events.emit(ref, uid, reason=reason, message=message, warning=warning, at=at)
