"""Put a scenario into a store: namespaces, KServe's configmap, ISVCs, extra objects."""

from __future__ import annotations

import copy
import json
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.scenario import IsvcEntry, Scenario, ScenarioInvalid
from kubesandbox.store import ApiError, Store

Obj = dict[str, Any]
ALWAYS = ("default", k.CONFIGMAP_NAMESPACE)


def isvc_manifest(entry: IsvcEntry) -> Obj:
    """A v1beta1 InferenceService; GPUs go to the model's requests and limits."""
    annotations = dict(entry.annotations)
    if entry.mode is not None:
        annotations[k.DEPLOYMENT_MODE_ANNOTATION] = entry.mode
    predictor: Obj = {"model": {"modelFormat": {"name": "huggingface"},
                                "storageUri": f"hf://sandbox/{entry.name}",
                                "resources": _resources(entry.gpus)}}
    if entry.min_replicas is not None:
        predictor["minReplicas"] = entry.min_replicas
    if entry.max_replicas is not None:
        predictor["maxReplicas"] = entry.max_replicas
    spec: Obj = {"predictor": predictor}
    for component, wanted in (("transformer", entry.transformer),
                              ("explainer", entry.explainer)):
        if wanted:
            spec[component] = {"containers": [{"name": "kserve-container",
                                               "image": f"sandbox/{component}:latest"}]}
    meta: Obj = {"name": entry.name, "namespace": entry.namespace,
                 "labels": dict(entry.labels)}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": f"{k.GROUP}/v1beta1", "kind": "InferenceService",
            "metadata": meta, "spec": spec}


def _resources(gpus: int) -> Obj:
    requests: Obj = {"cpu": "1", "memory": "4Gi"}
    limits: Obj = {"cpu": "2", "memory": "8Gi"}
    if gpus:
        requests[k.GPU_RESOURCE] = limits[k.GPU_RESOURCE] = str(gpus)
    return {"requests": requests, "limits": limits}


def configmap_manifest(scenario: Scenario) -> Obj:
    """``inferenceservice-config``, key ``deploy``: JSON with ``defaultDeploymentMode``."""
    deploy = {"defaultDeploymentMode": scenario.settings.default_deployment_mode}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": k.CONFIGMAP_NAME, "namespace": k.CONFIGMAP_NAMESPACE},
            "data": {"deploy": json.dumps(deploy)}}


def controller_manifest(image: str) -> Obj:
    """KServe's controller Deployment, whose image tag says the release (§4); no pods:
    the simulator plays the controller, so it is shown scaled to 0."""
    labels = {"control-plane": "kserve-controller-manager"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": k.CONTROLLER_NAME, "namespace": k.CONFIGMAP_NAMESPACE,
                         "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "manager", "image": image}]}}}}


def keda_crd() -> Obj:
    """KEDA's ScaledObject kind (``keda.sh/v1alpha1``, short name ``so``)."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "scaledobjects.keda.sh"},
            "spec": {"group": "keda.sh", "scope": "Namespaced",
                     "names": {"kind": "ScaledObject", "listKind": "ScaledObjectList",
                               "plural": "scaledobjects", "singular": "scaledobject",
                               "shortNames": ["so"]},
                     "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


def apply_scenario(store: Store, scenario: Scenario) -> None:
    """Create everything; an object that exists already is left as it is."""
    for name in _namespaces(scenario):
        _create(store, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                where=f"namespaces: {name}")
    if scenario.keda:
        _create(store, keda_crd(), where="keda")
    _create(store, configmap_manifest(scenario), where="inferenceservice-config")
    image = scenario.controller_image
    if image is None:
        image = scenario.settings.controller_image
    if image:
        _create(store, controller_manifest(image), where="kserveControllerImage")
    for i, entry in enumerate(scenario.inference_services):
        _create(store, isvc_manifest(entry), where=f"inferenceServices[{i}]")
    for i, obj in enumerate(scenario.objects):
        _create(store, copy.deepcopy(dict(obj)), where=f"objects[{i}]")


def _namespaces(scenario: Scenario) -> list[str]:
    names = [*ALWAYS, *scenario.namespaces, *(e.namespace for e in scenario.inference_services)]
    names += [str(o["metadata"]["namespace"]) for o in scenario.objects
              if o["metadata"].get("namespace")]
    return list(dict.fromkeys(names))


def _create(store: Store, obj: Obj, *, where: str) -> None:
    try:
        rtype = store.registry.by_kind(obj["apiVersion"], obj["kind"])
    except ApiError as exc:
        raise ScenarioInvalid(f"{where}: {obj['apiVersion']} {obj['kind']} is not served "
                              "(create its CustomResourceDefinition first)") from exc
    namespace = obj["metadata"].get("namespace") or ("default" if rtype.namespaced else None)
    try:
        store.create(rtype, obj, namespace=namespace)
    except ApiError as exc:
        if exc.code != 409:
            raise ScenarioInvalid(f"{where}: {exc.message}") from exc
