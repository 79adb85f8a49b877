"""Once per tick: verify applied transitions and keep managed stops asserted.

Both need the same two facts, so they share one cluster-wide LIST of ISVCs and one LIST
of the awaited services' pods (selected by their names, `kube.selectors`; one per 100
names, everything at once past 500; each LIST in pages of 500): the cost per tick does
not grow with the number of transitions awaiting (docs/design.md §5's "1,000 stops in
one tick" must not wait sequentially). A managed Raw transition is verified by its
component Deployments (KServe 0.15 leaves ``Ready`` stale across it), read by one more
LIST per namespace that has one awaiting, selected by the names awaited there.

The managed stops to hold are not this process's memory: they are re-derived from the
ledger's stops in force (one query) every tick, so a stop made by `reclaimer stop`, by
another replica, or before leadership came back is held like one made here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from reclaimer.errors import ClusterError, RowSettled
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Workload, write_condition
from reclaimer.executor.managed import knative, modelmesh, raw
from reclaimer.executor.memory import Memory
from reclaimer.executor.outcome import (
    Awaiting,
    HeldStop,
    Outcome,
    OutcomeKind,
    held_while_stopped,
)
from reclaimer.executor.strategy import HANDLERS
from reclaimer.kube.events import RECLAIM_FAILED
from reclaimer.kube.ports import Obj, RuntimeWorkload
from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import ServiceRef
from reclaimer.policy.durations import format_duration

log = logging.getLogger("reclaimer.executor")
MANAGED_MESSAGES = {raw.NAME: raw.STOPPED_MESSAGE, knative.NAME: knative.STOPPED_MESSAGE,
                    modelmesh.NAME: modelmesh.HELD_MESSAGE}
SETTLED_KINDS = frozenset(k.value for k in (OutcomeKind.VERIFIED, OutcomeKind.FAILED,
                                            OutcomeKind.ABANDONED))


def held_stop(record: TransitionRecord) -> HeldStop | None:
    """The ledger's stop as a stop to hold, if its strategy is a managed one."""
    if record.strategy not in MANAGED_MESSAGES:
        return None
    stop = record.transition
    message = (f"{MANAGED_MESSAGES[record.strategy]} (trigger {stop.trigger.value}, "
               f"policy {stop.policy or '-'}, {stop.reason.value})")
    return HeldStop(stop.ref, stop.uid, record.strategy, message)


@dataclass(frozen=True)
class _Deployments:
    found: dict[ServiceRef, list[Obj]]
    unread: dict[str, str]
    """Namespace: why its LIST failed."""


class FollowUp:
    """The follow-up step; what it awaits and holds is kept by `Memory`."""

    def __init__(self, ctx: Context, *, memory: Memory, timeout: timedelta) -> None:
        self.ctx = ctx
        self.memory = memory
        self.timeout = timeout

    @property
    def awaiting(self) -> list[Awaiting]:
        return self.memory.awaiting()

    @property
    def held(self) -> dict[ServiceRef, HeldStop]:
        """Managed stops kept asserted."""
        return self.memory.held()

    def refresh_held(self, in_force: Sequence[TransitionRecord] | None = None,
                     ) -> dict[ServiceRef, HeldStop]:
        """The managed stops in force, from the ledger (one query unless ``in_force``
        is that query's answer), whoever made them."""
        records = self.ctx.ledger.stops_in_force() if in_force is None else in_force
        held = {h.ref: h for h in map(held_stop, records) if h is not None}
        self.memory.hold(held)
        return held

    def resume(self, item: Awaiting, *, at: datetime) -> None:
        """Track a row found applied at start-up, with a fresh deadline."""
        self.memory.track(replace(item, deadline=at + self.timeout),
                          managed_stop=held_while_stopped(item.strategy))

    def run(self, *, at: datetime) -> list[Outcome]:
        """Verify what is awaiting and re-assert held stops; a failed LIST waits a tick."""
        if not self.awaiting and not self.held:
            return []
        awaiting = self.awaiting
        try:
            wanted = {item.ref for item in awaiting} | self.held.keys()
            objs = {st.ref_of(o): o
                    for o in self.ctx.call(lambda: self.ctx.cluster.list_isvcs(wanted))}
            awaited = {item.ref for item in awaiting}
            pods = self.ctx.call(lambda: self.ctx.cluster.pod_counts(awaited)) if awaiting else {}
        except ClusterError as exc:
            log.warning("verification postponed: %s", exc)
            return []
        seen = self._deployments(awaiting)
        outcomes = [o for item in awaiting
                    if (o := self._check(item, objs.get(item.ref), Workload(
                        pods=pods.get(item.ref, 0),
                        deployments=tuple(seen.found.get(item.ref, ())),
                        unread=seen.unread.get(item.ref.namespace),
                        runtime=self._runtime(item, objs.get(item.ref))), at=at)) is not None]
        self._reassert(objs, at=at)
        return outcomes

    def _runtime(self, item: Awaiting, obj: Obj | None) -> RuntimeWorkload | None:
        """A ModelMesh ISVC's runtime Deployment (one GET and one LIST); a failed read
        leaves it unverified this tick."""
        if item.strategy != modelmesh.NAME or obj is None:
            return None
        try:
            return modelmesh.runtime_workload(self.ctx, obj)
        except ClusterError as exc:
            log.warning("runtime of %s not read: %s", item.ref, exc)
            return None

    def _deployments(self, awaiting: list[Awaiting]) -> _Deployments:
        """Component Deployments, for the strategies verified by them: one LIST per
        namespace with such a transition awaiting, none when there is none. A namespace
        whose LIST fails leaves only its own transitions unverified this tick."""
        seen = _Deployments({}, {})
        names: dict[str, set[str]] = {}
        for item in awaiting:
            if HANDLERS[item.strategy].reads_deployments:
                names.setdefault(item.ref.namespace, set()).add(item.ref.name)
        for namespace in sorted(names):
            try:
                seen.found.update(self.ctx.call(
                    lambda ns=namespace: self.ctx.cluster.list_component_deployments(  # type: ignore[misc]
                        [ns], names=names[ns])))
            except ClusterError as exc:
                log.warning("Deployments in %s not read: %s", namespace, exc)
                seen.unread[namespace] = str(exc)
        return seen

    def _check(self, item: Awaiting, obj: Obj | None, workload: Workload, *,
               at: datetime) -> Outcome | None:
        """One row's verdict. Another process may have settled the row meanwhile (a
        `reclaimer stop` still waiting on the row recovery resumed here, or the
        service verifying it while that CLI waits): its answer stands, and the row is
        no longer followed here. Raised, it would fail this follow-up on every tick
        while the row is awaited (in the service, for the rest of the term)."""
        try:
            return self._verdict(item, obj, workload, at=at)
        except RowSettled as exc:
            log.info("transition %d of %s was settled by another process: %s",
                     item.record_id, item.ref, exc.state)
            kind = OutcomeKind(exc.state) if exc.state in SETTLED_KINDS else OutcomeKind.SKIPPED
            return self._done(item, kind, f"settled by another process: {exc.state}")

    def _verdict(self, item: Awaiting, obj: Obj | None, workload: Workload, *,
                 at: datetime) -> Outcome | None:
        ledger = self.ctx.ledger
        if obj is None or st.uid_of(obj) != item.uid:
            ledger.mark_abandoned(item.record_id, at=at, error="the InferenceService is gone")
            return self._done(item, OutcomeKind.ABANDONED, "the InferenceService is gone")
        waiting = HANDLERS[item.strategy].waiting_for(obj, action=item.action,
                                                      workload=workload)
        if waiting is None:
            ledger.mark_verified(item.record_id, at=at)
            return self._done(item, OutcomeKind.VERIFIED, item.message)
        if at < item.deadline:
            return None
        error = f"not verified within {format_duration(self.timeout)}: {waiting}"
        ledger.mark_failed(item.record_id, at=at, error=error)
        self.ctx.cluster.emit_event(item.ref, item.uid, reason=RECLAIM_FAILED,
                                    message=f"{item.action.value}: {error}", warning=True,
                                    at=at)
        return self._done(item, OutcomeKind.FAILED, error)

    def _done(self, item: Awaiting, kind: OutcomeKind, message: str) -> Outcome:
        self.memory.settled(item.record_id)
        return Outcome(ref=item.ref, action=item.action, kind=kind, record_id=item.record_id,
                       message=message, strategy=item.strategy)

    def _in_place(self, held: HeldStop, obj: Obj | None) -> bool | None:
        """Whether the stop's own state is on the cluster; None when that cannot be
        read this tick (held, not written). A ModelMesh stop's state is its runtime at
        0 under reclaimer's record, whatever the ISVC's condition says (one GET)."""
        if obj is None or held.in_place(obj) or held.strategy != modelmesh.NAME:
            return obj is not None and held.in_place(obj)
        if st.uid_of(obj) != held.uid:
            return False
        try:
            return modelmesh.stop_in_place(self.ctx, obj)
        except ClusterError as exc:
            log.warning("runtime of %s not read; its stop stays held: %s", held.ref, exc)
            return None

    def _reassert(self, objs: Mapping[ServiceRef, Obj], *, at: datetime) -> None:
        """KServe < 0.16 rewrites status on reconcile and drops our Stopped condition."""
        for ref, held in self.held.items():
            obj = objs.get(ref)
            in_place = self._in_place(held, obj)
            if in_place is False:
                self.memory.release(ref)
            elif in_place and obj is not None and not st.own_stopped(obj):
                try:
                    write_condition(self.ctx, obj, stopped=True, message=held.message, at=at)
                    log.info("Stopped condition on %s written again", ref)
                except ClusterError as exc:
                    log.warning("Stopped condition on %s not re-asserted: %s", ref, exc)
