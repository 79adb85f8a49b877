"""ModelMesh: KServe has no per-InferenceService stop (``kserve_stop.md`` §2.5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaimer.errors import Refused
from reclaimer.executor.base import Context, Workload
from reclaimer.kube.ports import Obj
from reclaimer.model import Action

NAME = "modelmesh"
UNSUPPORTED = ("ModelMesh has no per-InferenceService stop: its GPUs belong to the shared "
               "ServingRuntime deployment; runtime-level reclaim is not implemented")


class ModelMesh:
    name = NAME
    reads_deployments = False

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        raise Refused(UNSUPPORTED)

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        raise Refused(UNSUPPORTED)

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        return UNSUPPORTED

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        return None

    def still_stopped(self, obj: Obj) -> bool:
        return False

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        return UNSUPPORTED
