"""Writing what a plan decided but did not act on, and what others did, into the ledger.

- Missed and edge-consuming blocked entries (held, dry run, superseded, satisfied) carry
  their edge key: recording them claims the edge, so they are written exactly once.
- Entries retried every tick (deferred, staggered, over the per-tick limit, breaker)
  carry no edge key; they are written the first time they appear and again only when
  their reason (or the edge they wait for) changes, so a two-hour deferral is one row,
  not 240.
- A stop-annotation change by another field manager is recorded once as ``external``,
  dated with the change itself, so the ledger's "last transition" respects it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from reclaimer.errors import EdgeAlreadyClaimed
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import (
    Action,
    LedgerView,
    Reason,
    Service,
    ServiceRef,
    ServiceState,
    Transition,
    Trigger,
)

log = logging.getLogger("reclaimer.loop")
OUR_FIELD_MANAGER = "reclaimer"
BlockKey = tuple[ServiceRef, Action, str, str]


class BlockedRecorder:
    """Remembers which retried-each-tick entries were already written."""

    def __init__(self, ledger: Ledger, *, actor: str) -> None:
        self._ledger = ledger
        self._actor = actor
        self._written: set[BlockKey] = set()

    def record(self, entries: Iterable[Transition], *, at: datetime) -> list[Transition]:
        """Write the entries not written before; returns those newly written."""
        fresh = [t for t in entries if self._is_new(t)]
        for entry in fresh:
            try:
                self._ledger.record_blocked(entry, actor=self._actor, at=at)
            except EdgeAlreadyClaimed:
                log.info("edge of %s already recorded by another replica", entry.ref)
        return fresh

    def _is_new(self, entry: Transition) -> bool:
        if entry.edge_key is not None:
            return True
        edge = entry.evidence.get("edgeKey") or entry.policy
        key = (entry.ref, entry.action, entry.reason.value, str(edge))
        if key in self._written:
            return False
        self._written = {k for k in self._written if k[0] != entry.ref} | {key}
        return True

    def forget(self, refs: Iterable[ServiceRef]) -> None:
        """Once a service acted, its next deferral is news again."""
        gone = set(refs)
        self._written = {k for k in self._written if k[0] not in gone}


def external_changes(services: Sequence[Service], view: LedgerView, *, now: datetime,
                     managed: Collection[ServiceRef] = ()) -> list[Transition]:
    """Stop-state flips by others not yet in the ledger.

    Setting the annotation leaves its field manager and time in managedFields. Deleting
    it leaves no trace there, so a service the ledger last saw stopped that now runs
    without one is recorded as started by an unknown manager at ``now`` — except for
    ``managed`` stops, which never had the annotation (an old KServe may briefly
    overwrite their condition until the executor re-asserts it).
    """
    changes = []
    for service in services:
        change = _annotated_change(service, view)
        if change is None and service.ref not in managed:
            change = _removed_annotation(service, view, now)
        if change is not None:
            changes.append(change)
    return changes


def _annotated_change(service: Service, view: LedgerView) -> Transition | None:
    changed_at, manager = service.stop_changed_at, service.stop_changed_by
    if changed_at is None or manager is None or manager == OUR_FIELD_MANAGER:
        return None
    last = view.last_transitions.get(service.ref)
    if last is not None and last.at >= changed_at:
        return None
    stopped = service.state in (ServiceState.STOPPED, ServiceState.STOPPING)
    return _external(service, Action.STOP if stopped else Action.START, at=changed_at,
                     manager=manager)


def _removed_annotation(service: Service, view: LedgerView, now: datetime) -> Transition | None:
    last = view.last_transitions.get(service.ref)
    if last is None or last.action is not Action.STOP or service.state is not ServiceState.RUNNING:
        return None
    if service.stop_changed_at is not None and service.stop_changed_at > last.at:
        return None
    return _external(service, Action.START, at=now, manager="unknown (annotation removed)")


def _external(service: Service, action: Action, *, at: datetime, manager: str) -> Transition:
    return Transition(ref=service.ref, uid=service.uid, action=action, trigger=Trigger.EXTERNAL,
                      reason=Reason.EXTERNAL_CHANGE, policy=None, at=at,
                      evidence={"fieldManager": manager}, gpus=service.gpus)


def record_external(ledger: Ledger, changes: Iterable[Transition]) -> None:
    for change in changes:
        manager = str(change.evidence.get("fieldManager", "unknown"))
        ledger.record_external(change, field_manager=manager, at=change.at)
        log.info("external %s of %s by %s", change.action.value, change.ref, manager)
