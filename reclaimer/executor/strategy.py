"""Which strategy acts on one ISVC (docs/design.md §5).

``auto`` is native only where KServe's own stop covers *this* ISVC's mode and
components (``kserve_stop.md`` §9): from 0.16 every mode but ModelMesh; on 0.15.1 and
0.15.2 a Knative ISVC's predictor (in Raw mode KServe just copies the annotation into
the pod template, so the pods roll and nothing stops; a transformer or explainer keeps
running, so `native.NativePredictor` also gives those ``minReplicas: 0``); before that
nothing. The version is the configured or
detected one (`kube.kserve_version`); when it is unknown, this ISVC's own status is the
evidence, never another ISVC's: a KServe-written ``Stopped`` condition on a Raw ISVC
means ≥ 0.16, on a Knative ISVC ≥ 0.15.1, and there the new mode name ``Knative`` in
``status.deploymentMode`` (PR #4608) means ≥ 0.16. Everything else is managed, by
deployment mode. A start uses whatever stopped the service, as recorded in its restore
information.

LLMInferenceServices (KServe ≥ 0.17) and InferenceGraphs (≥ 0.16) have only KServe's
own stop: native where the KServe version allows it or is unknown (then verification
tells), refused with the reason where it is older or the strategy is ``managed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from reclaimer.errors import ConfigInvalid
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Handler
from reclaimer.executor.managed.knative import ManagedKnative
from reclaimer.executor.managed.modelmesh import ModelMesh
from reclaimer.executor.managed.raw import ManagedRaw
from reclaimer.executor.native import Native, NativePredictor
from reclaimer.executor.refusing import Refusing
from reclaimer.kserve import KINDS, kind_of
from reclaimer.kube.kserve_version import NATIVE_EVERYWHERE, NATIVE_KNATIVE_PREDICTOR, KServeVersion
from reclaimer.kube.ports import Obj
from reclaimer.model import Action, DeploymentMode, ServiceKind


class Strategy(StrEnum):
    AUTO = "auto"
    NATIVE = "native"
    MANAGED = "managed"


HANDLERS: Mapping[str, Handler] = {
    h.name: h for h in (Native(), NativePredictor(), ManagedRaw(), ManagedKnative(),
                        ModelMesh())}
NATIVE_KINDS = frozenset({"native", "native-predictor"})
NATIVE_MODELMESH = ("KServe has no stop for ModelMesh InferenceServices; their runtime-level "
                    "reclaim needs executor.strategy auto or managed")


def parse_strategy(text: str) -> Strategy:
    try:
        return Strategy(text)
    except ValueError as exc:
        raise ConfigInvalid(key="executor.strategy",
                            message=f"{text!r} is not one of auto, native, managed") from exc


def _managed(mode: DeploymentMode) -> Handler:
    return HANDLERS["managed-knative" if mode is DeploymentMode.KNATIVE else "managed-raw"]


def native_kind(obj: Obj, *, mode: DeploymentMode,
                version: KServeVersion | None) -> str | None:
    """"native" where KServe's annotation stops every component of ``obj``;
    "native-predictor" where it stops only the predictor (0.15.x Knative with a
    transformer or explainer); None where it stops nothing."""
    if mode is DeploymentMode.MODELMESH:
        return None
    if version is not None:
        everything = version >= NATIVE_EVERYWHERE
        predictor = version >= NATIVE_KNATIVE_PREDICTOR and mode is DeploymentMode.KNATIVE
    elif not st.kserve_writes_stopped(obj):
        return None
    else:
        everything = (mode is not DeploymentMode.KNATIVE
                      or st.status_mode_name(obj) == "Knative")
        predictor = True
    if everything or (predictor and st.components(obj) == ["predictor"]):
        return "native"
    return "native-predictor" if predictor else None


def _managed_raw_mark(obj: Obj, *, mode: DeploymentMode) -> bool:
    """A Standard ISVC with ``autoscalerClass: external`` and no stop annotation may hold
    a managed stop that another ledger made (the CLI with its own ``--db``), which KServe
    0.16 hides by overwriting the Stopped condition: only the managed start can tell,
    from the Deployments, whether anything is stopped (never "already running" unseen)."""
    return (mode is DeploymentMode.STANDARD and not st.stop_requested(obj)
            and st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == "external")


def _other_kind(kind: ServiceKind, *, configured: Strategy,
                kserve_version: KServeVersion | None) -> Handler:
    since = KServeVersion(*KINDS[kind].since)
    if configured is Strategy.MANAGED:
        return Refusing("managed", f"{kind.value} has no managed stop; only KServe's own "
                        "stop annotation (executor.strategy auto or native)")
    if kserve_version is not None and kserve_version < since:
        return Refusing("native", f"KServe {kserve_version} does not stop a {kind.value} "
                        f"(its stop annotation is read from {since.major}.{since.minor})")
    return HANDLERS["native"]


def choose(obj: Obj, *, action: Action, configured: Strategy, default_mode: DeploymentMode,
           kserve_version: KServeVersion | None = None,
           restore: Mapping[str, Any] | None = None) -> Handler:
    """``kserve_version``: the cluster's KServe, None when it cannot be read."""
    kind = kind_of(obj)
    if kind is not ServiceKind.INFERENCE_SERVICE:
        return _other_kind(kind, configured=configured, kserve_version=kserve_version)
    return _for_isvc(obj, action=action, configured=configured, default_mode=default_mode,
                     kserve_version=kserve_version, restore=restore)


def _modelmesh(*, action: Action, configured: Strategy, used: object) -> Handler:
    """KServe has no ModelMesh stop, so ``native`` (only KServe's annotation, and the
    chart's RBAC without the runtime rules) refuses it; a stop made before is still
    started, from its restore information."""
    if configured is Strategy.NATIVE and not (action is Action.START and used == "modelmesh"):
        return Refusing("native-refused", NATIVE_MODELMESH)
    return HANDLERS["modelmesh"]


def _for_isvc(obj: Obj, *, action: Action, configured: Strategy, default_mode: DeploymentMode,
              kserve_version: KServeVersion | None,
              restore: Mapping[str, Any] | None) -> Handler:
    mode = st.mode_of(obj, default=default_mode)
    used = (restore or {}).get("strategy")
    if mode is DeploymentMode.MODELMESH:
        return _modelmesh(action=action, configured=configured, used=used)
    starting = action is Action.START
    if starting and used in HANDLERS and (not st.stop_requested(obj) or used in NATIVE_KINDS):
        return HANDLERS[str(used)]
    if configured is Strategy.MANAGED or (starting and _managed_raw_mark(obj, mode=mode)):
        return _managed(mode)
    kind = native_kind(obj, mode=mode, version=kserve_version)
    if kind is not None and configured is Strategy.AUTO:
        return HANDLERS[kind]
    # A start of someone else's annotation is its removal, whatever KServe does with it.
    if configured is Strategy.NATIVE or (starting and st.stop_requested(obj)):
        return HANDLERS["native"]
    return _managed(mode)
