"""Writing what a plan decided but did not act on, and what others did, into the ledger.

- Missed and edge-consuming blocked entries (held, dry run, superseded, satisfied) carry
  their edge key: recording them claims the edge, so they are written exactly once.
- Entries retried every tick (deferred, staggered, over the per-tick limit, breaker)
  carry no edge key; they are written the first time they appear and again only when
  their reason (or the edge they wait for) changes, so a two-hour deferral is one row,
  not 240.
- A stop-state change by anyone else is recorded once as ``external``, dated when
  reclaimer observed it (`external_changes`), so the ledger's "last transition"
  respects it; once across replicas too (`external_key`), and only while the guard
  lets this process write (`record_external`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime

from reclaimer.ledger.protocol import BLOCKED_CHUNK, Ledger
from reclaimer.model import (
    Action,
    LastTransition,
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
        self._written: dict[ServiceRef, BlockKey] = {}
        """The last entry written per service: one lookup per entry (a set of keys
        rebuilt for each new one was quadratic in a tick's blocked entries)."""

    def record(self, entries: Iterable[Transition], *, at: datetime,
               may_write: Callable[[], str | None] = lambda: None) -> list[Transition]:
        """Write the entries not written before, one `BLOCKED_CHUNK` per
        `Ledger.record_blocked_many`, so only one chunk's records are alive at a time
        (all 34,380 of a first tick at 50,000 ISVCs were 18 MiB); returns those newly
        written, an entry whose edge another replica claimed included. The deferrals of
        a chunk the ledger refuses, and of those after it, are forgotten: not written,
        they are news next tick (an entry with an edge always is).

        ``may_write`` (the executor's guard) is asked before each chunk: an entry with
        an edge claims it, and a leader whose lease lapsed mid-tick (or a process told to
        stop) must not claim edges its successor decides (DESIGN §7). What is left is
        written by the next tick that may write."""
        fresh = [t for t in entries if self._is_new(t)]
        for start in range(0, len(fresh), BLOCKED_CHUNK):
            chunk = fresh[start:start + BLOCKED_CHUNK]
            why = may_write()
            if why is not None:
                log.warning("%d blocked entries not recorded: %s", len(fresh) - start, why)
                self.forget(t.ref for t in fresh[start:] if t.edge_key is None)
                return fresh[:start]
            try:
                records = self._ledger.record_blocked_many(chunk, actor=self._actor, at=at)
            except BaseException:
                self.forget(t.ref for t in fresh[start:] if t.edge_key is None)
                raise
            for entry, record in zip(chunk, records, strict=True):
                if record is None:
                    log.info("edge of %s already recorded by another replica", entry.ref)
        return fresh

    def _is_new(self, entry: Transition) -> bool:
        if entry.edge_key is not None:
            return True
        edge = entry.evidence.get("edgeKey") or entry.policy
        key = (entry.ref, entry.action, entry.reason.value, str(edge))
        if self._written.get(entry.ref) == key:
            return False
        self._written[entry.ref] = key
        return True

    def forget(self, refs: Iterable[ServiceRef]) -> None:
        """Once a service acted, its next deferral is news again."""
        for ref in refs:
            self._written.pop(ref, None)


def external_changes(services: Sequence[Service], view: LedgerView, *, now: datetime,
                     settling: Collection[ServiceRef] = (),
                     by_hand: Mapping[ServiceRef, str] | None = None) -> list[Transition]:
    """Stop-state changes by others not yet in the ledger, dated when observed.

    The state observed now (watch/LIST) is compared with the ledger's last transition
    of the service; a difference is somebody else's change, recorded once as
    ``external``/``observed`` **at** ``now`` (issue 13 case 4; never before that last
    transition, `_observed_change`). ``managedFields`` only names the actor: its
    ``time`` moves whenever that manager changes any of its fields (``kubectl annotate
    owner=alice`` hours later), so it never dates a change. A service
    first seen stopped, with no record, was stopped by someone else; since when is
    unknown, so its change counts as observed now and wins over any edge it may have
    crossed while reclaimer was not running.

    ``settling``: services whose own transition is still being verified or held (a
    managed stop whose condition an old KServe briefly overwrites); their state may lag
    the ledger and says nothing about anyone else.

    ``by_hand``: managed stops released this tick because somebody started the service
    without touching the ISVC (`executor.managed.by_hand`), with what showed it: the
    start is named by that, not by the stop annotation's field manager.
    """
    changes = []
    for service in services:
        change = None if service.ref in settling else _observed_change(service, view, now)
        if change is not None and by_hand and service.ref in by_hand:
            change = _external(service, change.action, at=change.at, observed=now,
                               manager=f"unknown (started by hand: {by_hand[service.ref]})")
        if change is not None:
            changes.append(change)
    return changes


def _observed_change(service: Service, view: LedgerView, now: datetime) -> Transition | None:
    """Dated ``now``, or at the ledger's last transition when that is later (another
    replica's clock ahead of this one's): a change dated before the fact it changes
    would not become the service's fact, and its key would stay taken. That fact may be
    a namesake's (a deleted object's): it is still the row the change must replace. A
    change so dated keeps the instant this replica saw it (`_external`)."""
    if service.state is ServiceState.UNKNOWN:
        return None
    stopped = service.state in (ServiceState.STOPPED, ServiceState.STOPPING)
    last = _last_of(service.ref, service.uid, view)
    known_stopped = last is not None and last.action is Action.STOP
    if stopped == known_stopped:
        return None
    if stopped and service.stop_changed_by == OUR_FIELD_MANAGER:
        return None  # our own stop whose row recovery settles; never another's
    fact = view.last_transitions.get(service.ref)
    at = now if fact is None else max(now, fact.at)
    if stopped:
        return _external(service, Action.STOP, at=at, observed=now,
                         manager=service.stop_changed_by or "unknown (no field manager)")
    manager = service.stop_changed_by if service.stop_changed_by not in (
        None, OUR_FIELD_MANAGER) else "unknown (annotation removed)"
    return _external(service, Action.START, at=at, observed=now, manager=manager)


def _last_of(ref: ServiceRef, uid: str, view: LedgerView) -> LastTransition | None:
    """The ledger's last transition of this object; None when a namesake replaced it
    (the old object's history is not this one's)."""
    last = view.last_transitions.get(ref)
    return None if last is None or last.uid not in ("", uid) else last


def external_key(change: Transition, view: LedgerView) -> str:
    """What makes one change the same for every replica that observes it: the object,
    its new state, and the ledger fact it changes (every replica reads the one ledger).
    Never the instant it was observed (each replica's own tick) nor ``managedFields``
    (its time moves whenever that manager touches any of its fields). The next change
    of the service changes the fact this one becomes, so its key is new: the fact is
    named by its row, since action and time alone repeat (a clock behind the last fact
    dates stop, start, stop at one instant, and the second start would find the first
    one's key taken, dropped for good)."""
    last = _last_of(change.ref, change.uid, view)
    after = "none" if last is None else f"{last.action.value}@{last.at.isoformat()}"
    if last is not None and last.transition_id is not None:
        after = f"{after}#{last.transition_id}"
    return f"{change.ref}/{change.uid}/{change.action.value}/after/{after}"


def _external(service: Service, action: Action, *, at: datetime, observed: datetime,
              manager: str) -> Transition:
    """``observedAt`` in the evidence when the change is dated later than this replica
    saw it (its clock behind the ledger's fact): the row says so instead of passing
    the fact's instant off as the observation's."""
    evidence: dict[str, object] = {"fieldManager": manager}
    if at != observed:
        evidence["observedAt"] = observed.isoformat()
    return Transition(ref=service.ref, uid=service.uid, action=action, trigger=Trigger.EXTERNAL,
                      reason=Reason.EXTERNAL_CHANGE, policy=None, at=at,
                      evidence=evidence, gpus=service.gpus)


def record_external(ledger: Ledger, changes: Sequence[Transition], *, view: LedgerView,
                    may_write: Callable[[], str | None]) -> None:
    """Book each change of `external_changes` (``view`` is the one they were found in).

    ``may_write`` (the executor's guard; required, so no caller books unfenced) is asked
    before each row: a leader whose lease
    lapsed mid-tick, or a process told to stop, must not book what its successor
    observes too (DESIGN §7). A change not booked is not lost: the ledger's last
    transition still differs from the cluster, so whoever leads next observes it again.
    A change another replica booked first is not booked again (`external_key`)."""
    for done, change in enumerate(changes):
        why = may_write()
        if why is not None:
            log.warning("%d external changes not recorded: %s", len(changes) - done, why)
            return
        manager = str(change.evidence.get("fieldManager", "unknown"))
        record = ledger.record_external(change, field_manager=manager, at=change.at,
                                        key=external_key(change, view))
        if record is None:
            log.info("external %s of %s already recorded by another replica",
                     change.action.value, change.ref)
        else:
            log.info("external %s of %s by %s", change.action.value, change.ref, manager)
