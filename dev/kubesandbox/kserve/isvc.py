"""A read-only view of an InferenceService dict: what the controller decides from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve.settings import SimulatorSettings, parse_mode

Obj = dict[str, Any]


@dataclass(frozen=True)
class Component:
    """One of predictor, transformer, explainer, with the fields that shape its workload."""

    name: str
    spec: Obj
    min_replicas: int | None
    max_replicas: int
    timeout: int | None


@dataclass(frozen=True)
class IsvcView:
    namespace: str
    name: str
    uid: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    mode: str
    components: tuple[Component, ...]
    status: Obj

    @property
    def stop(self) -> bool:
        """``utils.GetForceStopRuntime``: only a case-insensitive "true" stops."""
        return self.annotations.get(k.STOP_ANNOTATION, "").lower() == "true"

    @property
    def disable_auto_update(self) -> bool:
        return self.annotations.get(k.DISABLE_AUTO_UPDATE_ANNOTATION, "").lower() == "true"

    @property
    def autoscaler_class(self) -> str:
        return self.annotations.get(k.AUTOSCALER_CLASS_ANNOTATION, "hpa")

    def condition(self, ctype: str) -> Obj | None:
        for cond in self.status.get("conditions") or []:
            if cond.get("type") == ctype:
                return dict(cond)
        return None

    def is_ready(self) -> bool:
        cond = self.condition("Ready")
        return cond is not None and cond.get("status") == "True"

    def owner_reference(self) -> Obj:
        return {"apiVersion": f"{k.GROUP}/v1beta1", "kind": "InferenceService",
                "name": self.name, "uid": self.uid, "controller": True,
                "blockOwnerDeletion": True}

    def child_annotations(self) -> dict[str, str]:
        """ISVC annotations minus KServe's disallowed list; these reach pod templates."""
        return {key: v for key, v in self.annotations.items()
                if key not in k.DISALLOWED_ANNOTATIONS}

    def child_labels(self, component: str) -> dict[str, str]:
        return {**self.labels, k.ISVC_LABEL: self.name, k.COMPONENT_LABEL: component}


def resolve_mode(obj: Obj, settings: SimulatorSettings) -> str:
    """``GetDeploymentMode``: status first, then the annotation, then the cluster default."""
    status_mode = parse_mode((obj.get("status") or {}).get("deploymentMode"))
    if status_mode is not None:
        return status_mode
    annotations = obj["metadata"].get("annotations") or {}
    return parse_mode(annotations.get(k.DEPLOYMENT_MODE_ANNOTATION)) or settings.default_mode


def _component(name: str, spec: Obj) -> Component:
    min_replicas = spec.get("minReplicas")
    return Component(
        name=name, spec=spec,
        min_replicas=int(min_replicas) if min_replicas is not None else None,
        max_replicas=int(spec.get("maxReplicas") or 0),
        timeout=int(spec["timeout"]) if spec.get("timeout") is not None else None,
    )


def view(obj: Obj, settings: SimulatorSettings) -> IsvcView:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    components = tuple(_component(name, spec[name]) for name in k.COMPONENTS
                       if isinstance(spec.get(name), dict))
    return IsvcView(
        namespace=meta["namespace"], name=meta["name"], uid=meta.get("uid", ""),
        generation=int(meta.get("generation") or 1),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        mode=resolve_mode(obj, settings), components=components,
        status=dict(obj.get("status") or {}),
    )
