"""A held managed Standard stop that somebody started by hand: noticed and released.

A managed Standard stop counts as in place while its class is ``external``
(`HeldStop.in_place`); but a person can start the service without touching the class:
scale a component Deployment up, or change or remove KEDA's
``autoscaling.keda.sh/paused-replicas: "0"`` (KEDA then scales it). reclaimer never
fights a person (docs/design.md §2, §5): a held stop whose Deployments are no longer
held at 0 by reclaimer is released. Its ``Stopped`` condition is removed *first*, then
the hold ends in memory; the loop sees the service running and books the ``external``
start once, at the tick that observed it. The ledger row is what ends the hold for good
(`stops_in_force` no longer lists the stop), so a process killed between the two finds
the stop in force again next tick, the Deployments still up and the condition already
gone: released again, booked then; never booked twice, never read as a person's stop.
Nothing of the restore information is written: the person's replicas and pause stay.

Cost: only for held managed Standard stops, one LIST of their component Deployments
(selected by their names) and one LIST of ScaledObjects per namespace that has one;
none when no such stop is held. A namespace that cannot be read keeps its stops held
(unknown never looks started).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from reclaimer import keda
from reclaimer.errors import ClusterError, Conflict
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.managed.putback import NAME
from reclaimer.executor.managed.writes import name_of, replicas_of
from reclaimer.kube.ports import Obj
from reclaimer.model import ServiceRef

log = logging.getLogger("reclaimer.executor")


def started_by_hand(ctx: Context, refs: Sequence[ServiceRef]) -> dict[ServiceRef, str]:
    """Of ``refs`` (held managed Standard stops in place), those not held at 0 any
    more, each with what shows it, in words."""
    names: dict[str, set[str]] = {}
    for ref in refs:
        names.setdefault(ref.namespace, set()).add(ref.name)
    found: dict[ServiceRef, str] = {}
    for namespace in sorted(names):
        try:
            deployments = ctx.call(
                lambda ns=namespace: ctx.cluster.list_component_deployments(  # type: ignore[misc]
                    [ns], names=names[ns]))
            scaled = ctx.call(
                lambda ns=namespace: ctx.cluster.list_scaled_objects(ns))  # type: ignore[misc]
        except ClusterError as exc:
            log.warning("held stops in %s not checked for a start by hand: %s", namespace, exc)
            continue
        for ref in (r for r in refs if r.namespace == namespace):
            why = _not_held(deployments.get(ServiceRef(ref.namespace, ref.name), []), scaled)
            if why is not None:
                found[ref] = why
    return found


def _not_held(deployments: Sequence[Obj], scaled_objects: Sequence[Obj]) -> str | None:
    """A component Deployment with replicas, or a ScaledObject on one that KEDA no
    longer holds at 0 (a person's ``"00"`` still does); None when every one is held."""
    mine = {name_of(d) for d in deployments}
    seen = [f"Deployment {name_of(d)} has {replicas_of(d)} replica(s)"
            for d in deployments if replicas_of(d) > 0]
    seen += [f"KEDA ScaledObject {keda.name_of(so)} pause {keda.paused_replicas(so)!r}"
             for so in scaled_objects if keda.scaled_deployment(so) in mine
             and not keda.pauses_at_zero(so)]
    return "; ".join(seen) or None


def release(ctx: Context, found: Mapping[ServiceRef, str], objs: Mapping[ServiceRef, Obj],
            *, let_go: Callable[[ServiceRef], None]) -> dict[ServiceRef, str]:
    """Remove reclaimer's ``Stopped`` condition of each stop ``found`` started by hand,
    then ``let_go`` of it (the hold in memory); those released. One whose condition
    cannot be removed stays held this tick (its condition would read as a stop)."""
    released: dict[ServiceRef, str] = {}
    for ref, why in found.items():
        obj = objs.get(ref)
        if obj is None:
            continue
        try:
            drop_condition(ctx, obj)
        except ClusterError as exc:
            log.warning("%s started by hand (%s); Stopped condition not removed yet: %s",
                        ref, why, exc)
            continue
        let_go(ref)
        log.info("managed stop of %s released: started by hand (%s)", ref, why)
        released[ref] = why
    return released


def drop_condition(ctx: Context, obj: Obj, *, attempts: int = 3) -> None:
    """Remove reclaimer's own ``Stopped`` condition (only ours: KServe's stays), with
    the resourceVersion as read; a 409 is read again, a few times, then left for the
    next tick (raised)."""
    ref = st.ref_of(obj)
    for attempt in range(attempts):
        if attempt:
            obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
        if not st.own_stopped(obj):
            return
        kept = [c for c in st.conditions(obj) if c.get("type") != st.STOPPED]
        body = {"metadata": {"resourceVersion": st.resource_version(obj)},
                "status": {"conditions": kept}}
        try:
            ctx.call(lambda body=body: ctx.cluster.patch_isvc_status(ref, body))  # type: ignore[misc]
        except Conflict:
            if attempt == attempts - 1:
                raise
            continue
        return


def is_raw(strategy: str) -> bool:
    return strategy == NAME
