"""ISVC status as KServe writes it (``kserve_stop.md`` §2.7).

Conditions follow knative/pkg's condition set: sorted by type; ``Ready`` depends on
``PredictorReady`` and ``IngressReady`` only, every other type carries
``severity: Info``; a dependent going False takes ``Ready`` with it, with the same
reason. ``lastTransitionTime`` changes only when a condition's status changes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve.isvc import IsvcView
from kubesandbox.kserve.settings import SimulatorSettings

Obj = dict[str, Any]
DEPENDENTS = ("PredictorReady", "IngressReady")
STOPPED = "Stopped"
KSERVE_CONDITIONS = frozenset({"PredictorReady", "IngressReady", "Ready", "LatestDeploymentReady",
                               "RoutesReady", "TransformerReady", "ExplainerReady"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


# Set by the simulator thread to its store's clock, so condition and pod times follow a
# test's shifted clock; a context variable keeps two sandboxes in one process apart.
CLOCK: ContextVar[Callable[[], datetime]] = ContextVar("sandbox_clock", default=_utcnow)


def now_rfc3339() -> str:
    return CLOCK.get()().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(ctype: str, status: str, reason: str | None = None,
              message: str | None = None) -> Obj:
    cond: Obj = {"type": ctype, "status": status}
    if ctype not in (*DEPENDENTS, "Ready"):
        cond["severity"] = "Info"
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def with_ready(conditions: list[Obj]) -> list[Obj]:
    """Derive ``Ready`` the way a living condition set does."""
    by_type = {c["type"]: c for c in conditions}
    ready = condition("Ready", "True")
    for dep in DEPENDENTS:
        cond = by_type.get(dep)
        if cond is None or cond["status"] == "Unknown":
            ready = condition("Ready", "Unknown", (cond or {}).get("reason"))
        elif cond["status"] == "False":
            ready = condition("Ready", "False", cond.get("reason"), cond.get("message"))
            break
    return [*conditions, ready]


def stamp(conditions: list[Obj], previous: list[Obj]) -> list[Obj]:
    """Sort by type and keep lastTransitionTime for conditions whose status held."""
    before = {c.get("type"): c for c in previous}
    stamped = []
    for cond in sorted(conditions, key=lambda c: str(c["type"])):
        old = before.get(cond["type"])
        same = old is not None and old.get("status") == cond["status"]
        cond["lastTransitionTime"] = (old or {}).get("lastTransitionTime") if same else None
        cond["lastTransitionTime"] = cond["lastTransitionTime"] or now_rfc3339()
        stamped.append(cond)
    return stamped


def stopped_status(isvc: IsvcView, settings: SimulatorSettings, *,
                   ready: dict[str, bool]) -> Obj:
    """Predictor clears the whole status, keeps only deploymentMode, marks Stopped.

    0.16 gives every False condition the reason ``Stopped``; 0.15.x gives none, and its
    transformer and explainer keep running, so their conditions follow their ksvcs.
    """
    reason = STOPPED if settings.full_stop else None
    conds = [condition("PredictorReady", "False", reason),
             condition("IngressReady", "False", reason),
             condition(STOPPED, "True")]
    for comp in isvc.components:
        if comp.name == "predictor":
            continue
        ctype = f"{comp.name.capitalize()}Ready"
        conds.append(condition(ctype, "False", reason) if settings.full_stop
                     else _ready_condition(ctype, ready.get(comp.name, False)))
    return {"conditions": with_ready(conds), "deploymentMode": settings.status_mode(isvc.mode),
            "modelStatus": {"transitionStatus": ""}}


def running_status(isvc: IsvcView, settings: SimulatorSettings, *,
                   ready: dict[str, bool], components: Obj) -> Obj:
    """``ready`` maps component name to workload readiness, plus "ingress"."""
    conds = [_ready_condition(f"{name.capitalize()}Ready", ok)
             for name, ok in ready.items() if name != "ingress"]
    conds.append(_ready_condition("IngressReady", ready.get("ingress", False)))
    if isvc.mode == k.KNATIVE:
        ok = ready.get("predictor", False)
        conds += [_ready_condition("LatestDeploymentReady", ok),
                  _ready_condition("RoutesReady", ok)]
    if settings.writes_stopped(isvc.mode):
        conds.append(condition(STOPPED, "False"))
    out: Obj = {"conditions": with_ready(conds), "components": components,
                "deploymentMode": settings.status_mode(isvc.mode),
                "observedGeneration": isvc.generation}
    all_ready = all(ready.values())
    out["modelStatus"] = _model_status(all_ready)
    if all_ready:
        out["url"] = f"http://{isvc.name}-{isvc.namespace}.{k.INGRESS_DOMAIN}"
        out["address"] = {"url": f"http://{isvc.name}-predictor.{isvc.namespace}"
                                 ".svc.cluster.local"}
    return out


def modelmesh_status(isvc: IsvcView, settings: SimulatorSettings) -> Obj:
    """What modelmesh-serving reports for a loaded model; KServe never adds Stopped."""
    conds = [condition("PredictorReady", "True"), condition("IngressReady", "True")]
    return {"conditions": with_ready(conds), "deploymentMode": settings.status_mode(k.MODELMESH),
            "url": f"grpc://modelmesh-serving.{isvc.namespace}:8033",
            "modelStatus": _model_status(True)}


def _ready_condition(ctype: str, ok: bool) -> Obj:
    return condition(ctype, "True") if ok else condition(ctype, "Unknown", "Initializing")


def _model_status(loaded: bool) -> Obj:
    state = "Loaded" if loaded else "Pending"
    return {"transitionStatus": "UpToDate" if loaded else "InProgress",
            "states": {"activeModelState": state if loaded else "", "targetModelState": state},
            "copies": {"failedCopies": 0, "totalCopies": 1 if loaded else 0}}


def same_status(a: Obj, b: Obj) -> bool:
    """Equal apart from lastTransitionTime, so an unchanged status is never rewritten."""
    return _strip(a) == _strip(b)


def _strip(status: Obj) -> Obj:
    conds = [{key: v for key, v in c.items() if key != "lastTransitionTime"}
             for c in status.get("conditions") or []]
    return {**status, "conditions": sorted(conds, key=lambda c: str(c.get("type")))}
