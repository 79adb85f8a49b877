"""Which managed stops are still in place: `Executor.observe_managed_stops`.

A managed stop in force counts as stopped while its own state is still on the cluster,
even when KServe has dropped its Stopped condition, and a ModelMesh stop while its
runtime is held at 0. A part of `Executor` (a mixin): it reads the executor's
collaborators, declared on the class, and writes only to release a managed Standard
stop somebody started by hand (`by_hand`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from reclaimer.errors import ClusterError
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.followup import FollowUp
from reclaimer.executor.managed import by_hand, modelmesh
from reclaimer.executor.memory import Memory
from reclaimer.executor.outcome import HeldStop, ManagedStops
from reclaimer.kube.ports import CachedIsvcs, Cluster, Obj
from reclaimer.ledger.protocol import Ledger
from reclaimer.ledger.records import RecordState
from reclaimer.model import Action, ServiceRef

log = logging.getLogger("reclaimer.executor")
T = TypeVar("T")


class StopsInPlace:
    """The managed stops in force that are still in place, read for `Executor`."""

    cluster: Cluster
    ledger: Ledger
    actor: str
    cached: CachedIsvcs | None
    memory: Memory
    ctx: Context
    followup: FollowUp
    guard: Callable[[], str | None]

    if TYPE_CHECKING:
        def call(self, fn: Callable[[], T]) -> T: ...

    def managed_stops_in_place(self) -> frozenset[ServiceRef]:
        """`observe_managed_stops`' stops in place."""
        return self.observe_managed_stops().in_place

    def observe_managed_stops(self) -> ManagedStops:
        """The ledger's managed stops in force whose own state is still on the cluster,
        read from the watch cache (else one LIST): these count as stopped even while
        KServe has dropped their Stopped condition, which `FollowUp` writes again. A
        ModelMesh stop counts while its runtime is at 0 under reclaimer's record,
        whatever its condition says (`_runtime_stops_in_place`). A managed Standard
        stop somebody started by hand (a Deployment scaled up, KEDA's pause changed)
        is released, not held (`by_hand`)."""
        in_force = self.ledger.stops_in_force()
        held = self.followup.refresh_held(in_force)
        meshed = {r.transition.ref: HeldStop(r.transition.ref, r.transition.uid, str(r.strategy),
                                             "") for r in in_force
                  if r.strategy == modelmesh.NAME}
        if not held and not meshed:
            return ManagedStops(frozenset(), {})
        objs = self._objects({**held, **meshed})
        in_place = {ref for ref, stop in held.items() if stop.in_place(objs.get(ref))}
        released = self._released(sorted(ref for ref in in_place
                                          if by_hand.is_raw(held[ref].strategy)), objs)
        return ManagedStops(frozenset((in_place - released.keys())
                                      | self._runtime_stops_in_place(meshed, objs)), released)

    def _released(self, raw: list[ServiceRef], objs: Mapping[ServiceRef, Obj],
                  ) -> dict[ServiceRef, str]:
        """Held managed Standard stops started by hand, released (writes: only while
        this process may write; else they stay held for the next tick or leader). A
        service with a change of ours still to settle is left to it (`_settling`)."""
        if not raw or self.guard() is not None:
            return {}
        busy = self._settling()
        raw = [ref for ref in raw if ref not in busy]
        if not raw:
            return {}
        found = by_hand.started_by_hand(self.ctx, raw)
        return by_hand.release(self.ctx, found, objs, let_go=self.memory.release)

    def _settling(self) -> set[ServiceRef]:
        """Services whose pending row somebody will settle: this process's own, or
        another's that recovery saw and left while it may still be written. Their
        Deployments up are that change half done (a start kept for its retry after the
        class write failed), not a person's. Another's row counts once recovery has
        seen it (recovery looks each tick), until recovery settles it after its writer's
        window (a CLI start cut off by a 409 storm: its wait and in-flight time, about
        10 minutes by default); one no recovery has seen yet does not. A stop applied
        and being verified does not count either: a person who scales up then fails
        its verification."""
        ours, memory = self.memory.ours(), self.memory
        return {record.transition.ref for record in self.ledger.pending()
                if (record.id in ours or (record.actor != self.actor
                                          and memory.seen(record.id)))
                and not (record.state is RecordState.APPLIED
                         and record.transition.action is Action.STOP)}

    def _runtime_stops_in_place(self, meshed: Mapping[ServiceRef, HeldStop],
                                objs: Mapping[ServiceRef, Obj]) -> set[ServiceRef]:
        """A ModelMesh ISVC without its condition (a crash before it was written, a
        write lost to conflicts) whose runtime reclaimer holds at 0 is stopped: never
        observed running and booked as somebody's start. One GET of its runtime; a
        runtime that cannot be read leaves it stopped (unknown never looks started)."""
        found = set()
        for ref, stop in meshed.items():
            obj = objs.get(ref)
            if obj is None or st.uid_of(obj) != stop.uid or st.own_stopped(obj):
                continue
            try:
                if modelmesh.stop_in_place(self.ctx, obj):
                    found.add(ref)
            except ClusterError as exc:
                log.warning("runtime of %s not read, counted stopped: %s", ref, exc)
                found.add(ref)
        return found

    def _objects(self, held: Mapping[ServiceRef, HeldStop]) -> dict[ServiceRef, Obj]:
        if self.cached is not None:
            cached = self.cached
            return {ref: obj for ref, stop in held.items()
                    if (obj := cached.isvc(ref, uid=stop.uid)) is not None}
        return {st.ref_of(obj): obj for obj in self.call(
            lambda: self.cluster.list_isvcs(held.keys()))}
