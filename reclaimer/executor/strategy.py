"""Which strategy acts on one ISVC (docs/design.md §5).

``auto`` is native when KServe writes its ``Stopped`` condition (KServe ≥ 0.16; for
Knative predictors also 0.15.1/0.15.2), seen on this ISVC or, for an ISVC not yet
reconciled, on any ISVC of the cluster; else managed, by deployment mode. A start uses
whatever stopped the service, as recorded in its restore information.
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
from reclaimer.executor.native import Native
from reclaimer.kube.ports import Obj
from reclaimer.model import Action, DeploymentMode


class Strategy(StrEnum):
    AUTO = "auto"
    NATIVE = "native"
    MANAGED = "managed"


HANDLERS: Mapping[str, Handler] = {
    h.name: h for h in (Native(), ManagedRaw(), ManagedKnative(), ModelMesh())}


def parse_strategy(text: str) -> Strategy:
    try:
        return Strategy(text)
    except ValueError as exc:
        raise ConfigInvalid(key="executor.strategy",
                            message=f"{text!r} is not one of auto, native, managed") from exc


def _managed(mode: DeploymentMode) -> Handler:
    return HANDLERS["managed-knative" if mode is DeploymentMode.KNATIVE else "managed-raw"]


def choose(obj: Obj, *, action: Action, configured: Strategy, default_mode: DeploymentMode,
           cluster_native: bool = False,
           restore: Mapping[str, Any] | None = None) -> Handler:
    mode = st.mode_of(obj, default=default_mode)
    if mode is DeploymentMode.MODELMESH:
        return HANDLERS["modelmesh"]
    used = (restore or {}).get("strategy")
    if action is Action.START and st.stop_requested(obj) is False and used in HANDLERS:
        return HANDLERS[str(used)]
    if configured is Strategy.NATIVE:
        return HANDLERS["native"]
    if configured is Strategy.MANAGED:
        return _managed(mode)
    if st.kserve_writes_stopped(obj) or cluster_native or st.stop_requested(obj):
        return HANDLERS["native"]
    return _managed(mode)
