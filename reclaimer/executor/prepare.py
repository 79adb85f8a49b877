"""A transition made ready to claim: its ISVC read, its strategy chosen, no writes.

The ISVC is read from the inventory's watch cache when it holds it and the native
strategy's PATCH will carry the copy's resourceVersion (a stale copy gets a 409 and is
retried next tick from a fresh GET); a retry, a miss and the managed strategies GET.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reclaimer.errors import TRANSIENT, NotFound
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Handler
from reclaimer.executor.memory import Memory
from reclaimer.executor.native import Native
from reclaimer.executor.outcome import ErrorClass, ExecutorOptions, Outcome, OutcomeKind, outcome
from reclaimer.executor.settle import Settle
from reclaimer.executor.strategy import choose
from reclaimer.kube.kserve_version import KServeVersion
from reclaimer.kube.ports import CachedIsvcs, Obj
from reclaimer.model import Action, Transition


@dataclass(frozen=True)
class Prepared:
    """A transition ready to claim: the object it acts on and what to save first."""

    transition: Transition
    obj: Obj
    handler: Handler
    retried: int | None
    """The planned row kept from an earlier, transiently failed attempt at the same
    decision (`memory.decision_of`)."""
    restore: Mapping[str, Any] | None


class Preparer:
    """One tick's preparation; ``kserve_version`` is the configured or detected one."""

    def __init__(self, ctx: Context, *, memory: Memory, settle: Settle,
                 options: ExecutorOptions, cached: CachedIsvcs | None,
                 kserve_version: KServeVersion | None) -> None:
        self.ctx = ctx
        self.memory = memory
        self.settle = settle
        self.options = options
        self.cached = cached
        self.kserve_version = kserve_version

    def __call__(self, transition: Transition, *, at: datetime) -> Prepared | Outcome:
        """Everything decided before the ledger is written: no writes here."""
        retried = self.memory.reusable(transition)
        try:
            obj, handler = self._read(transition, fresh=retried is not None)
        except NotFound:
            return self.settle.gone(transition, at=at)
        except TRANSIENT as exc:
            return outcome(transition, OutcomeKind.RETRY, retried,
                           f"not read, retried next tick: {exc}", error=ErrorClass.TRANSIENT)
        if (transition.uid and st.uid_of(obj) != transition.uid) or st.deleting(obj):
            return self.settle.gone(transition, at=at)  # KServe's finalizer: going
        waiting = self._rejected(transition, obj, handler, at=at)
        if waiting is not None:
            return waiting
        return Prepared(transition=transition, obj=obj, handler=handler, retried=retried,
                        restore=handler.restore_before(obj, action=transition.action))

    def _rejected(self, t: Transition, obj: Obj, handler: Handler, *,
                  at: datetime) -> Outcome | None:
        """A decision without an edge that failed permanently is not tried (no row, no
        Event) until its wait is over, or the refusal that failed it is gone."""
        rejection = self.memory.rejected(t, uid=st.uid_of(obj), at=at)
        if rejection is None:
            return None
        if rejection.refusal is not None and (
                handler.refusal(obj, action=t.action) != rejection.refusal):
            self.memory.lift([t])
            return None
        until = (rejection.at + self.memory.retry_after).isoformat()
        return outcome(t, OutcomeKind.SKIPPED, None,
                       f"failed at {rejection.at.isoformat()}: {rejection.error}; "
                       f"tried again at the next edge or after {until}")

    def _read(self, transition: Transition, *, fresh: bool) -> tuple[Obj, Handler]:
        """The cached copy for the native strategy; a GET for a retry (its copy was
        stale or its call failed), a miss, and managed strategies (they need all of it)."""
        cached = None if fresh or self.cached is None else self.cached.isvc(
            transition.ref, uid=transition.uid or None)
        if cached is not None:
            handler = self._handler(transition, cached)
            if isinstance(handler, Native) and handler.patches(cached, action=transition.action):
                return cached, handler
        obj = self.ctx.call(lambda: self.ctx.cluster.get_isvc(transition.ref))
        return obj, self._handler(transition, obj)

    def _handler(self, transition: Transition, obj: Obj) -> Handler:
        restore = None
        if transition.action is Action.START:
            restore = self.ctx.ledger.load_restore_info(transition.ref, st.uid_of(obj))
        return choose(obj, action=transition.action, configured=self.options.strategy,
                      default_mode=self.options.default_mode,
                      kserve_version=self.kserve_version, restore=restore)
