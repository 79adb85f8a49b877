"""KServe's validating webhook for InferenceServices, per version (``kserve_stop.md`` §9).

Allowed ``serving.kserve.io/autoscalerClass`` values: 0.14 ``hpa``, ``external``; 0.15
(0.15.1/0.15.2) and 0.16 also ``keda`` and ``none``. The deployment mode of an existing
ISVC may not change (``v0.16.0:inference_service_validation.go:493-499``). A denial is
what controller-runtime answers for a validator's error: 403 Forbidden, "admission
webhook ... denied the request: ...". Not simulated: the other field rules (replicas
bounds, storage URIs, ...) and the mutating webhook's defaulting.
"""

from __future__ import annotations

from typing import Any

from kubesandbox import types as t
from kubesandbox.apierror import ApiError
from kubesandbox.kserve import constants as k
from kubesandbox.kserve.settings import SimulatorSettings, parse_mode
from kubesandbox.types import ResourceType

Obj = dict[str, Any]
WEBHOOK = "inferenceservice.kserve-webhook-server.validator"


class IsvcWebhook:
    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings

    def __call__(self, rtype: ResourceType, old: Obj | None, new: Obj) -> None:
        if rtype.storage_key != t.INFERENCESERVICES.storage_key:
            return
        if (new.get("metadata") or {}).get("deletionTimestamp"):
            return  # finalizer removal on a deleting object is not validated
        annotations = (new.get("metadata") or {}).get("annotations") or {}
        cls = annotations.get(k.AUTOSCALER_CLASS_ANNOTATION)
        allowed = self.settings.autoscaler_classes()
        if cls is not None and cls not in allowed:
            _deny(f"[{k.AUTOSCALER_CLASS_ANNOTATION}] unsupported autoscaler class {cls!r}; "
                  f"supported: {', '.join(sorted(allowed))}")
        if old is not None:
            before = _mode(old)
            after = _mode(new) or before
            if before is not None and after != before:
                _deny(f"update rejected: deploymentMode cannot be changed from "
                      f"{before!r} to {after!r}")


def _mode(obj: Obj) -> str | None:
    """The annotation, else the mode KServe resolved into status (None: not yet)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return (parse_mode(annotations.get(k.DEPLOYMENT_MODE_ANNOTATION))
            or parse_mode((obj.get("status") or {}).get("deploymentMode")))


def _deny(message: str) -> None:
    raise ApiError(403, f'admission webhook "{WEBHOOK}" denied the request: {message}')
