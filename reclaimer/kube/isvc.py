"""An InferenceService, as the API server returns it, to a `model.Service` (pure).

Plain dicts in, frozen values out: the same function serves the live adapter (which
reads ISVCs through the official client as JSON) and `reclaimer plan` (which reads a
``kubectl get inferenceservices -A -o yaml`` dump). No Kubernetes import here.

- **mode**: annotation ``serving.kserve.io/deploymentMode``, then
  ``status.deploymentMode``, then the cluster default the caller passes
  (`reclaimer.kserve.mode_of`: ``Serverless`` = Knative, ``RawDeployment`` = Standard).
- **state** (reference/kserve_stop.md §2.1, §2.7): KServe stops only on a
  case-insensitive ``"true"`` (`reclaimer.kserve.stop_requested`; ``" true"`` does not
  stop). Stop
  requested and KServe's stop done (`reclaimer.kserve.stop_done`: ``Stopped=True``, or
  an LLMInferenceService's ``MainWorkloadReady`` False/Stopped) is STOPPED; requested
  but not yet done is
  STOPPING; not requested is RUNNING, except that reclaimer's managed stop (no
  annotation, its own ``Stopped=True`` condition with reason ``Reclaimed``) is
  STOPPED. Anything malformed (annotations or conditions of the wrong shape, a
  non-string stop value) is UNKNOWN, which decide() never acts on.
- **gpus**: GPUs per replica from the predictor's resources (limits, else requests;
  ``*/gpu`` and ``nvidia.com/mig-*``) times ``max(1, minReplicas)``; None when the
  spec declares no resources. The live adapter counts pods instead.
- **stop_changed_at/by**: the ``metadata.managedFields`` entry owning
  ``f:metadata.f:annotations.f:serving.kserve.io/stop`` with the latest ``time``, and
  its manager. Removing the annotation drops its ownership from managedFields, so a
  start by deleting the key leaves no trace there; setting ``"false"`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from reclaimer.errors import InvalidInput
from reclaimer.kserve import (
    PREDICTOR,
    STOP_ANNOTATION,
    STOP_FIELD,
    graph_members,
    kind_of,
    mode_of,
    own_stopped,
    stop_done,
    stop_requested,
)
from reclaimer.model import DeploymentMode, Service, ServiceKind, ServiceRef, ServiceState

__all__ = ["STOP_ANNOTATION", "gpus_of", "ref_of", "service_from_isvc", "state_of", "stop_change"]


def service_from_isvc(obj: Mapping[str, Any], *, default_mode: DeploymentMode) -> Service:
    """Map one ISVC; raises `InvalidInput` naming the field when identity is missing."""
    meta = _mapping(obj.get("metadata"), "metadata", obj)
    kind = kind_of(obj)
    ref = ServiceRef(_text(meta, "namespace", obj), _text(meta, "name", obj), kind)
    changed_at, changed_by = stop_change(meta.get("managedFields"))
    # An LLMInferenceService's workload is plain Deployments (or LeaderWorkerSets).
    mode = (DeploymentMode.STANDARD if kind is ServiceKind.LLM_INFERENCE_SERVICE
            else mode_of(obj, default=default_mode))
    return Service(ref=ref, uid=_text(meta, "uid", obj), mode=mode, state=state_of(obj),
                   created_at=_created(meta, obj), labels=_labels(meta, obj),
                   gpus=gpus_of(obj), stop_changed_at=changed_at, stop_changed_by=changed_by,
                   kind=kind,
                   members=graph_members(obj) if kind is ServiceKind.INFERENCE_GRAPH else None)




def state_of(obj: Mapping[str, Any]) -> ServiceState:
    annotations = _annotations(obj)
    conditions = _conditions(obj)
    if annotations is None or conditions is None:
        return ServiceState.UNKNOWN
    value = annotations.get(STOP_ANNOTATION, "")
    if not isinstance(value, str):
        return ServiceState.UNKNOWN
    if stop_requested(value):
        return ServiceState.STOPPED if stop_done(obj) else ServiceState.STOPPING
    if own_stopped(obj):
        return ServiceState.STOPPED
    return ServiceState.RUNNING


def stop_change(managed_fields: object) -> tuple[datetime | None, str | None]:
    """When and by whom the stop annotation was last set (see the module docstring)."""
    latest: tuple[datetime, str] | None = None
    for entry in managed_fields if isinstance(managed_fields, list) else ():
        if not isinstance(entry, Mapping) or not _owns_stop(entry.get("fieldsV1")):
            continue
        at = _parse_time(entry.get("time"))
        if at is not None and (latest is None or at > latest[0]):
            latest = (at, str(entry.get("manager") or "unknown"))
    return (latest[0], latest[1]) if latest else (None, None)


def gpus_of(obj: Mapping[str, Any]) -> int | None:
    spec = obj.get("spec")
    if kind_of(obj) is ServiceKind.LLM_INFERENCE_SERVICE:
        return _llm_gpus(spec if isinstance(spec, Mapping) else {})
    predictor = spec.get(PREDICTOR) if isinstance(spec, Mapping) else None
    if not isinstance(predictor, Mapping):
        return None
    counts = [_gpus(r) for r in _resources(predictor)]
    if not counts:
        return None
    replicas = predictor.get("minReplicas")
    return sum(counts) * max(1, replicas if isinstance(replicas, int) else 1)


def _llm_gpus(spec: Mapping[str, Any]) -> int | None:
    """``spec.template`` containers times ``spec.replicas`` (default 1); the live
    adapter counts the workload pods instead."""
    template = spec.get("template")
    if not isinstance(template, Mapping):
        return None
    counts = [_gpus(r) for r in _resources(template)]
    replicas = spec.get("replicas")
    return sum(counts) * max(1, replicas if isinstance(replicas, int) else 1) if counts else None


def runtime_pod_gpus(runtime: Mapping[str, Any]) -> int | None:
    """GPUs of one pod of a ServingRuntime's Deployment: its ``spec.containers``'
    limits (else requests); None when they declare no resources."""
    spec = runtime.get("spec")
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    blocks = [c["resources"] for c in containers if isinstance(c, Mapping)
              and isinstance(c.get("resources"), Mapping)] if isinstance(
                  containers, list) else []
    return sum(_gpus(block) for block in blocks) if blocks else None


def _resources(predictor: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """Resource blocks of the predictor: ``model``/framework keys and ``containers``."""
    parts = [v for v in predictor.values() if isinstance(v, Mapping)]
    containers = predictor.get("containers")
    if isinstance(containers, list):
        parts += [c for c in containers if isinstance(c, Mapping)]
    return [p["resources"] for p in parts if isinstance(p.get("resources"), Mapping)]


def _gpus(resources: Mapping[str, Any]) -> int:
    block = resources.get("limits") or resources.get("requests") or {}
    total = 0
    for name, amount in block.items() if isinstance(block, Mapping) else ():
        if str(name).endswith("/gpu") or str(name).startswith("nvidia.com/mig-"):
            total += whole_quantity(amount)
    return total


def whole_quantity(amount: object) -> int:
    """A GPU count as Kubernetes writes it ("1", 2); anything else counts as none."""
    try:
        return int(str(amount))
    except ValueError:
        return 0


def _owns_stop(fields: object) -> bool:
    node = fields
    for key in STOP_FIELD:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    if annotations is None:
        return {}
    return annotations if isinstance(annotations, Mapping) else None


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]] | None:
    status = obj.get("status") or {}
    if not isinstance(status, Mapping):
        return None
    conditions = status.get("conditions") or []
    if not isinstance(conditions, list) or not all(isinstance(c, Mapping) for c in conditions):
        return None
    return {str(c.get("type")): c for c in conditions}


def _where(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    kind = kind_of(obj).value
    if isinstance(meta, Mapping) and meta.get("name"):
        return f"{kind} {meta.get('namespace', '?')}/{meta['name']}"
    return kind


def _mapping(value: object, field: str, obj: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{_where(obj)}: {field}: missing or not a mapping")
    return value


def _text(meta: Mapping[str, Any], field: str, obj: Mapping[str, Any]) -> str:
    value = meta.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{_where(obj)}: metadata.{field}: missing or empty")
    return value


def _created(meta: Mapping[str, Any], obj: Mapping[str, Any]) -> datetime:
    value = meta.get("creationTimestamp")
    parsed = _parse_time(value)
    if parsed is None:
        raise InvalidInput(f"{_where(obj)}: metadata.creationTimestamp: {value!r} is not an "
                           "RFC 3339 time with a zone")
    return parsed


def _labels(meta: Mapping[str, Any], obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = meta.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise InvalidInput(f"{_where(obj)}: metadata.labels: not a mapping")
    return {str(k): str(v) for k, v in labels.items()}


def _parse_time(value: object) -> datetime | None:
    """RFC 3339 as Kubernetes writes it; YAML may already have made it a datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else None


def ref_of(obj: Mapping[str, Any]) -> ServiceRef:
    """The object's namespace/name, without the checks of `service_from_isvc`."""
    meta = obj.get("metadata") or {}
    return ServiceRef(str(meta.get("namespace", "")), str(meta.get("name", "")), kind_of(obj))
