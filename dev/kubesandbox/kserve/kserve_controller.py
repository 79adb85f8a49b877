"""KServe's InferenceService reconciler, per version and deployment mode.

Order and rules follow ``kserve_stop.md``:

- Knative (§2.3): per component (predictor, transformer, explainer) the ksvc
  ``<isvc>-<component>`` is created, updated, or (stop) deleted; then the ingress: the
  Istio VirtualService ``<isvc>`` and the ExternalName Service ``<isvc>``.
- Standard (§2.4, v0.16.0 order): per component the Deployment, the Service, then the
  autoscaler: an HPA for class ``hpa``; for ``external`` and ``none`` any owned HPA is
  deleted (§3, §6). Replicas are left to the HPA (``hpa``) or the external actor
  (``external``); ``none`` enforces ``minReplicas``.
- ModelMesh (§2.5): status only; stop has no effect and no Stopped condition is written.
- 0.14 has no stop: the annotation is just copied into pod templates, so it rolls pods.
- "0.15" (0.15.1/0.15.2, §9): only a Knative predictor stops (its ksvc and the ingress
  are deleted); a transformer or explainer ksvc keeps running; Raw ignores the stop (the
  annotation rolls the pods, as on 0.14); ``Stopped`` is written on Knative ISVCs only,
  and the stopped conditions carry no reasons.
- 0.16: ``disable-auto-update: "true"`` on a Ready ISVC returns before any stop handling.

Not simulated: webhooks (no defaulting or rejection), Raw ingress objects (Ingress and
HTTPRoute are not served),
InferenceGraphs and LLMInferenceServices, the two-pass HPA deletion (deleted at once).
Class ``keda`` gets a ScaledObject when KEDA's CRD is installed (scenario ``keda: true``).
A class the version's webhook would reject (``none`` on 0.14) leaves the autoscaler alone.
"""

from __future__ import annotations

from typing import Any

from kubesandbox.kserve import children, status, sync
from kubesandbox.kserve import constants as k
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.isvc import Component, IsvcView, view
from kubesandbox.kserve.settings import SimulatorSettings
from kubesandbox.kserve.workloads import is_available

Obj = dict[str, Any]


class KServeController:
    def __init__(self, api: SimApi, settings: SimulatorSettings) -> None:
        self.api = api
        self.settings = settings

    def reconcile(self, namespace: str, name: str) -> None:
        obj = self.api.find("isvc", namespace, name)
        if obj is None:
            return
        if obj["metadata"].get("deletionTimestamp"):
            self._finalize(obj)
            return
        isvc = view(obj, self.settings)
        if isvc.mode == k.MODELMESH:
            self._write_status(obj, isvc, self._keep_foreign(
                isvc, status.modelmesh_status(isvc, self.settings)))
            return
        obj = self._add_finalizer(obj)
        if self.settings.full_stop and isvc.disable_auto_update and isvc.is_ready():
            return
        stop = self.settings.stops(isvc.mode) and isvc.stop
        if isvc.mode == k.KNATIVE:
            ready, comps = self._knative(isvc, stop=stop)
        else:
            ready, comps = self._raw(isvc, stop=stop)
        new = (status.stopped_status(isvc, self.settings, ready=ready) if stop
               else self._keep_foreign(isvc, status.running_status(
                   isvc, self.settings, ready=ready, components=comps)))
        self._write_status(obj, isvc, new)

    def _add_finalizer(self, obj: Obj) -> Obj:
        """Every non-ModelMesh ISVC gets KServe's finalizer (§9), so a delete waits for
        the controller's next reconcile instead of being instant."""
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if k.ISVC_FINALIZER in finalizers:
            return obj
        obj["metadata"]["finalizers"] = [*finalizers, k.ISVC_FINALIZER]
        return self.api.replace("isvc", obj)

    def _finalize(self, obj: Obj) -> None:
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if k.ISVC_FINALIZER in finalizers:
            obj["metadata"]["finalizers"] = [f for f in finalizers if f != k.ISVC_FINALIZER]
            self.api.replace("isvc", obj)

    def _keep_foreign(self, isvc: IsvcView, new: Obj) -> Obj:
        """Conditions KServe does not manage survive its reconciles: it sets its own on
        the status it read (knative ``SetCondition``), except when a stop clears it all."""
        owned = status.KSERVE_CONDITIONS | (
            {status.STOPPED} if self.settings.writes_stopped(isvc.mode) else set())
        foreign = [dict(c) for c in isvc.status.get("conditions") or []
                   if c.get("type") not in owned]
        new["conditions"] = [*new["conditions"], *foreign]
        return new

    def _write_status(self, obj: Obj, isvc: IsvcView, new: Obj) -> None:
        if status.same_status(new, isvc.status):
            return
        new["conditions"] = status.stamp(new["conditions"], isvc.status.get("conditions") or [])
        self.api.write_status("isvc", obj, new)

    def _knative(self, isvc: IsvcView, *, stop: bool) -> tuple[dict[str, bool], Obj]:
        ready: dict[str, bool] = {}
        comps: Obj = {}
        for comp in isvc.components:
            name = children.component_name(isvc, comp.name)
            if stop and self.settings.stops_component(isvc.mode, comp.name):
                sync.remove(self.api, "ksvc", isvc.namespace, name, owner_uid=isvc.uid)
                continue
            ksvc = sync.ensure(self.api, "ksvc", children.knative_service(isvc, comp))
            ready[comp.name], comps[comp.name] = _ksvc_state(ksvc)
        if stop:
            self._remove_ingress(isvc)
        else:
            ready["ingress"] = self._ensure_ingress(isvc)
        return ready, comps

    def _ensure_ingress(self, isvc: IsvcView) -> bool:
        sync.ensure(self.api, "virtualservice", children.virtual_service(isvc))
        sync.ensure(self.api, "service", children.external_name_service(isvc))
        return True

    def _remove_ingress(self, isvc: IsvcView) -> None:
        vs = self.api.find("virtualservice", isvc.namespace, isvc.name)
        refs = (vs or {}).get("metadata", {}).get("ownerReferences") or [{}]
        if vs is not None and refs[0].get("uid") == isvc.uid:
            self.api.delete("virtualservice", isvc.namespace, isvc.name)
        sync.remove(self.api, "service", isvc.namespace, isvc.name, owner_uid=isvc.uid)

    def _raw(self, isvc: IsvcView, *, stop: bool) -> tuple[dict[str, bool], Obj]:
        ready: dict[str, bool] = {}
        comps: Obj = {}
        for comp in isvc.components:
            name = children.component_name(isvc, comp.name)
            if stop:
                for kind in ("deployment", "service", "hpa", "scaledobject"):
                    if self.api.served(kind):
                        sync.remove(self.api, kind, isvc.namespace, name, owner_uid=isvc.uid)
                continue
            ready[comp.name] = self._raw_component(isvc, comp)
            comps[comp.name] = {"url": f"http://{name}-{isvc.namespace}.{k.INGRESS_DOMAIN}"}
        ready["ingress"] = not stop
        return ready, comps

    def _raw_component(self, isvc: IsvcView, comp: Component) -> bool:
        cls = isvc.autoscaler_class
        if cls not in self.settings.autoscaler_classes():
            cls = "unknown"
        ignore = () if cls == "none" else ("replicas",)
        deployment = sync.ensure(self.api, "deployment",
                                 children.raw_deployment(isvc, comp, cls=cls), ignore=ignore)
        sync.ensure(self.api, "service", children.raw_service(isvc, comp))
        name = children.component_name(isvc, comp.name)
        if cls == "hpa":
            sync.ensure(self.api, "hpa", children.hpa(isvc, comp))
        elif cls == "keda":
            # KEDA's reconciler; without KEDA's CRD KServe would fail, the sandbox skips.
            if self.api.served("scaledobject"):
                sync.ensure(self.api, "scaledobject", children.scaled_object(isvc, comp),
                            spec_only=True)
        elif cls != "unknown":
            # Only the HPA reconciler runs for hpa/external/none: a ScaledObject left by an
            # earlier ``keda`` class is not deleted and keeps owning the replicas (§9).
            sync.remove(self.api, "hpa", isvc.namespace, name, owner_uid=isvc.uid)
        return is_available(deployment)


def _ksvc_state(ksvc: Obj) -> tuple[bool, Obj]:
    st = ksvc.get("status") or {}
    ok = any(c.get("type") == "Ready" and c.get("status") == "True"
             for c in st.get("conditions") or [])
    comp: Obj = {}
    if st.get("latestCreatedRevisionName"):
        comp["latestCreatedRevision"] = st["latestCreatedRevisionName"]
    if ok:
        comp.update({"latestReadyRevision": st.get("latestReadyRevisionName"),
                     "url": st.get("url"), "address": st.get("address"),
                     "traffic": st.get("traffic")})
    return ok, comp
