"""Desired child objects of one ISVC component, shaped as KServe builds them.

Names and labels follow ``kserve_stop.md`` §4; the pod template carries the ISVC's
annotations (minus the disallowed list) so any annotation change rolls the pods (§2.2).
"""

from __future__ import annotations

import copy
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve.isvc import Component, IsvcView

Obj = dict[str, Any]
CONTAINER = "kserve-container"
IMAGE = "kserve/sandbox-model-server:latest"


def component_name(isvc: IsvcView, component: str) -> str:
    return f"{isvc.name}-{component}"


def _container(comp: Component) -> Obj:
    """The model container: ``spec.<component>.model`` or the first given container."""
    given = comp.spec.get("containers") or []
    if given:
        container: Obj = copy.deepcopy(given[0])
        container.setdefault("name", CONTAINER)
        container.setdefault("image", IMAGE)
        return container
    model = comp.spec.get("model") or {}
    container = {"name": CONTAINER, "image": model.get("image", IMAGE),
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}]}
    if model.get("resources"):
        container["resources"] = copy.deepcopy(model["resources"])
    return container


def pod_template(isvc: IsvcView, comp: Component, *, extra_labels: dict[str, str]) -> Obj:
    labels = {**isvc.child_labels(comp.name), **extra_labels}
    return {"metadata": {"labels": labels, "annotations": isvc.child_annotations()},
            "spec": {"containers": [_container(comp)]}}


def _meta(isvc: IsvcView, name: str, component: str) -> Obj:
    return {"name": name, "namespace": isvc.namespace,
            "labels": isvc.child_labels(component),
            "annotations": isvc.child_annotations(),
            "ownerReferences": [isvc.owner_reference()]}


def knative_service(isvc: IsvcView, comp: Component) -> Obj:
    """``createKnativeService`` with ``SetAutoScalingAnnotations`` on the template."""
    template = pod_template(isvc, comp, extra_labels={})
    scaling = {k.KNATIVE_CLASS: "kpa.autoscaling.knative.dev",
               k.KNATIVE_MIN_SCALE: str(1 if comp.min_replicas is None else comp.min_replicas)}
    if comp.max_replicas:
        scaling[k.KNATIVE_MAX_SCALE] = str(comp.max_replicas)
    template["metadata"]["annotations"].update(scaling)
    template["spec"]["timeoutSeconds"] = comp.timeout or k.KNATIVE_DEFAULT_TIMEOUT
    name = component_name(isvc, comp.name)
    meta = _meta(isvc, name, comp.name)
    meta.pop("annotations")
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta,
            "spec": {"template": template}}


def raw_deployment(isvc: IsvcView, comp: Component, *, cls: str) -> Obj:
    """``createRawDefaultDeployment``: replicas unset (HPA owns them) except external/none.

    ``cls`` is the autoscaler class as this KServe version understands it.
    """
    name = component_name(isvc, comp.name)
    app = f"isvc.{name}"
    template = pod_template(isvc, comp, extra_labels={k.RAW_APP_LABEL: app})
    template["spec"]["terminationGracePeriodSeconds"] = 30
    spec: Obj = {"selector": {"matchLabels": {k.RAW_APP_LABEL: app}}, "template": template}
    if cls == "none" or (cls == "external" and comp.min_replicas is not None):
        spec["replicas"] = 1 if comp.min_replicas is None else comp.min_replicas
    else:
        spec["replicas"] = max(1, comp.min_replicas or 1)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": _meta(isvc, name, comp.name), "spec": spec}


def raw_service(isvc: IsvcView, comp: Component) -> Obj:
    name = component_name(isvc, comp.name)
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(isvc, name, comp.name),
            "spec": {"selector": {k.RAW_APP_LABEL: f"isvc.{name}"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080,
                                "protocol": "TCP"}]}}


def hpa(isvc: IsvcView, comp: Component) -> Obj:
    """``createHPA``: minReplicas below 1 is clamped to 1; max defaults to min."""
    name = component_name(isvc, comp.name)
    low = max(1, comp.min_replicas or 1)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(isvc, name, comp.name),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name},
                     "minReplicas": low, "maxReplicas": max(low, comp.max_replicas),
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu",
                         "target": {"type": "Utilization", "averageUtilization": 80}}}]}}


def virtual_service(isvc: IsvcView) -> Obj:
    host = f"{isvc.name}-{isvc.namespace}.{k.INGRESS_DOMAIN}"
    meta = _meta(isvc, isvc.name, "predictor")
    meta["labels"].pop(k.COMPONENT_LABEL)
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
            "metadata": meta,
            "spec": {"hosts": [host], "gateways": ["knative-serving/knative-ingress-gateway"],
                     "http": [{"route": [{"destination": {
                         "host": "knative-local-gateway.istio-system.svc.cluster.local"}}]}]}}


def external_name_service(isvc: IsvcView) -> Obj:
    meta = _meta(isvc, isvc.name, "predictor")
    meta["labels"].pop(k.COMPONENT_LABEL)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"type": "ExternalName",
                     "externalName": "knative-local-gateway.istio-system.svc.cluster.local"}}


def scaled_object(isvc: IsvcView, comp: Component) -> Obj:
    """``keda_reconciler``: min = minReplicas (default 1, 0 allowed), max = max(max, min)."""
    name = component_name(isvc, comp.name)
    low = 1 if comp.min_replicas is None else comp.min_replicas
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": _meta(isvc, name, comp.name),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name},
                     "minReplicaCount": low, "maxReplicaCount": max(low, comp.max_replicas),
                     "triggers": [{"type": "cpu", "metricType": "Utilization",
                                   "metadata": {"value": "80"}}]}}
