"""A strategy that acts on nothing and says why: a kind or a KServe that cannot stop."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaimer.errors import Refused
from reclaimer.executor.base import Context, Workload
from reclaimer.kube.ports import Obj
from reclaimer.model import Action


class Refusing:
    reads_deployments = False

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        raise Refused(self.reason)

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        raise Refused(self.reason)

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        return self.reason

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        return None

    def still_stopped(self, obj: Obj) -> bool:
        return False

    def freed_gpus(self, ctx: Context, obj: Obj) -> int | None:
        return None

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        return self.reason
