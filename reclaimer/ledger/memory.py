"""The in-memory ledger: the same contract as `SqlLedger`, for tests and `plan`.

It is checked by the same contract suite as the SQL store, so a test that passes on
it says something true about the real one.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from reclaimer.errors import EdgeAlreadyClaimed, LedgerError
from reclaimer.ledger import protocol
from reclaimer.ledger.recording import RecordingStore
from reclaimer.ledger.records import (
    EFFECTIVE_STATES,
    IN_FORCE_STATES,
    UNFINISHED_STATES,
    NoticeRecord,
    RecordState,
    Report,
    TransitionRecord,
    new_record,
)
from reclaimer.ledger.report import build_report
from reclaimer.model import (
    RECENT_IDLE,
    Action,
    Hold,
    LastTransition,
    LedgerView,
    Reason,
    ServiceKind,
    ServiceRef,
    Transition,
    Trigger,
)


class MemoryLedger(RecordingStore):
    def __init__(self, *, edge_horizon: timedelta = protocol.DEFAULT_EDGE_HORIZON) -> None:
        self._edge_horizon = edge_horizon
        self._lock = threading.Lock()
        self._records: dict[int, TransitionRecord] = {}
        self._claims: dict[str, tuple[int, datetime]] = {}
        self._external: dict[str, int] = {}
        self._facts: dict[ServiceRef, tuple[LastTransition, int]] = {}
        self._holds: dict[ServiceRef, Hold] = {}
        self._restore: dict[tuple[ServiceRef, str], dict[str, Any]] = {}
        self._notices: dict[str, NoticeRecord] = {}

    def close(self) -> None:
        """Nothing to release; here for the contract."""

    def record_external(self, transition: Transition, *, field_manager: str,
                        at: datetime, key: str) -> TransitionRecord | None:
        with self._lock:
            if key in self._external:
                return None
            record = self._add(transition, state=RecordState.OBSERVED, strategy=None,
                               actor=field_manager, at=at, claim=False)
            record = dataclasses.replace(record, applied_at=record.recorded_at)
            self._records[record.id] = record
            self._external[key] = record.id
            self._remember(record)
        return record

    def _record(self, transition: Transition, *, state: RecordState, strategy: str | None,
                actor: str, at: datetime, claim: bool) -> TransitionRecord:
        with self._lock:
            record = self._add_claiming(transition, state=state, strategy=strategy,
                                        actor=actor, at=at, claim=claim)
        if record is None:
            raise EdgeAlreadyClaimed(f"edge {transition.edge_key} is already claimed")
        return record

    def _record_skipped(self, transitions: Sequence[Transition], *, actor: str,
                        at: datetime) -> list[TransitionRecord | None]:
        with self._lock:
            return [self._add_claiming(t, state=RecordState.SKIPPED, strategy=None,
                                       actor=actor, at=at, claim=t.edge_key is not None)
                    for t in transitions]

    def _add_claiming(self, transition: Transition, *, state: RecordState,
                      strategy: str | None, actor: str, at: datetime,
                      claim: bool) -> TransitionRecord | None:
        """`_add`, or None (nothing written) when the claimed edge was claimed before;
        the caller holds the lock."""
        if claim and transition.edge_key in self._claims:
            return None
        return self._add(transition, state=state, strategy=strategy, actor=actor, at=at,
                         claim=claim)

    def _add(self, transition: Transition, *, state: RecordState, strategy: str | None,
             actor: str, at: datetime, claim: bool) -> TransitionRecord:
        """Store a new record; the caller holds the lock and has checked the claim."""
        stored = dataclasses.replace(transition, at=protocol.utc(transition.at),
                                     evidence=protocol.plain_evidence(transition.evidence))
        record = new_record(stored, record_id=len(self._records) + 1, state=state,
                            strategy=strategy, actor=actor, at=protocol.utc(at))
        self._records[record.id] = record
        if claim and transition.edge_key is not None:
            self._claims[transition.edge_key] = (record.id, record.recorded_at)
        return record

    def record_planned_many(self, entries: Sequence[protocol.PlannedEntry], *, actor: str,
                            at: datetime) -> list[int | None]:
        documents = protocol.restore_documents(entries, at=at)
        results: list[int | None] = []
        with self._lock:
            for entry, document in zip(entries, documents, strict=True):
                record_id = self._planned_one(entry, actor=actor, at=at)
                results.append(record_id)
                if record_id is not None and document is not None:
                    self._restore[(entry.transition.ref, entry.transition.uid)] = document
        return results

    def _planned_one(self, entry: protocol.PlannedEntry, *, actor: str,
                     at: datetime) -> int | None:
        """The entry's row id: its kept row while still planned, else a new claiming row;
        None when neither (settled meanwhile, edge claimed)."""
        if entry.record_id is None:
            added = self._add_claiming(entry.transition, state=RecordState.PLANNED,
                                       strategy=entry.strategy, actor=actor, at=at, claim=True)
            return None if added is None else added.id
        record = self._records.get(entry.record_id)
        if record is None or record.state is not RecordState.PLANNED:
            return None
        self._refresh(entry.record_id, entry.transition, actor=actor)
        return entry.record_id

    def _refresh(self, record_id: int, t: Transition, *, actor: str) -> None:
        """A kept planned row takes the retry's decision fields (`PlannedEntry`)."""
        record = self._records[record_id]
        evidence = protocol.reused_evidence(t.evidence, before=record.transition.evidence,
                                            planner=record.actor, actor=actor)
        kept = dataclasses.replace(
            record.transition, at=protocol.utc(t.at), trigger=t.trigger, reason=t.reason,
            evidence=evidence, gpus=t.gpus)
        self._records[record_id] = dataclasses.replace(record, transition=kept, actor=actor)

    def record_gpus(self, record_id: int, gpus: int | None) -> None:
        with self._lock:
            record = self._records.get(record_id)
            if record is None:
                raise LedgerError(f"no transition {record_id} in the ledger")
            self._records[record_id] = dataclasses.replace(
                record, transition=dataclasses.replace(record.transition, gpus=gpus))

    def mark_applied_many(self, record_ids: Sequence[int], *, at: datetime) -> None:
        with self._lock:
            for record_id in record_ids:
                self._check(record_id, RecordState.APPLIED)
            for record_id in record_ids:
                self._move_locked(record_id, RecordState.APPLIED, at=at, error=None)

    def _check(self, record_id: int, wanted: RecordState) -> TransitionRecord:
        record = self._records.get(record_id)
        if record is None:
            raise LedgerError(f"no transition {record_id} in the ledger")
        protocol.check_move(record_id, record.state, wanted)
        return record

    def _move(self, record_id: int, wanted: RecordState, *, at: datetime,
              error: str | None = None, keep_claim: bool = False) -> None:
        with self._lock:
            self._move_locked(record_id, wanted, at=at, error=error, keep_claim=keep_claim)

    def _move_locked(self, record_id: int, wanted: RecordState, *, at: datetime,
                     error: str | None, keep_claim: bool = False) -> None:
        record = self._check(record_id, wanted)
        at = protocol.utc(at)
        if wanted in (RecordState.APPLIED, RecordState.VERIFIED):
            record = dataclasses.replace(
                record, state=wanted, applied_at=record.applied_at or at,
                verified_at=at if wanted is RecordState.VERIFIED else None)
            self._remember(record)
        else:
            record = dataclasses.replace(record, state=wanted, ended_at=at, error=error)
            if not keep_claim:
                self._claims = {k: v for k, v in self._claims.items() if v[0] != record_id}
        self._records[record_id] = record

    def _remember(self, record: TransitionRecord) -> None:
        t = record.transition
        known = self._facts.get(t.ref)
        if known is not None and known[0].at > t.at:
            return
        last = LastTransition(ref=t.ref, action=t.action, trigger=t.trigger, at=t.at, uid=t.uid,
                              transition_id=record.id)
        self._facts[t.ref] = (last, record.id)

    def pending(self) -> list[TransitionRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.state in UNFINISHED_STATES]

    def stops_in_force(self) -> list[TransitionRecord]:
        with self._lock:
            found = [self._records[record_id] for last, record_id in self._facts.values()
                     if last.action is Action.STOP]
        return sorted((r for r in found if r.state in IN_FORCE_STATES), key=lambda r: r.id)

    def view(self, now: datetime) -> LedgerView:
        with self._lock:
            horizon = now - self._edge_horizon
            return LedgerView(
                applied_edge_keys=frozenset(
                    k for k, (_, at) in self._claims.items() if at >= horizon),
                last_transitions={ref: last for ref, (last, _) in self._facts.items()},
                holds={ref: h for ref, h in self._holds.items() if h.until > now},
                deferred_since=self._deferred_since(horizon),
                recent_idle_stops=self._recent_idle_stops(now - RECENT_IDLE),
            )

    def _recent_idle_stops(self, since: datetime) -> dict[ServiceRef, datetime]:
        latest: dict[ServiceRef, datetime] = {}
        for record in self._records.values():
            r = record.transition
            if (r.trigger is Trigger.IDLE and r.action is Action.STOP and r.at >= since
                    and record.state in (*EFFECTIVE_STATES, *UNFINISHED_STATES)):
                latest[r.ref] = max(r.at, latest.get(r.ref, r.at))
        return latest

    def _deferred_since(self, horizon: datetime) -> dict[str, datetime]:
        """The first deferral row of each edge within the horizon (`LedgerView`)."""
        first: dict[str, datetime] = {}
        for record in self._records.values():
            r = record.transition
            key = r.evidence.get("edgeKey")
            if r.reason is Reason.DEFERRED_BUSY and r.at >= horizon and key:
                first[str(key)] = min(r.at, first.get(str(key), r.at))
        return first

    def history(self, *, namespace: str | None = None, name: str | None = None,  # noqa: PLR0913 - filters
                since: datetime | None = None, trigger: Trigger | None = None,
                limit: int | None = None,
                until: datetime | None = None,
                kind: ServiceKind | None = None) -> list[TransitionRecord]:
        protocol.check_limit(limit)
        with self._lock:
            found = [record for record in self._records.values()
                     if _selected(record.transition, namespace=namespace, name=name,
                                  since=since, until=until, trigger=trigger)
                     and (kind is None or record.transition.ref.kind is kind)]
        found.sort(key=lambda r: (r.transition.at, r.id), reverse=True)
        return found[:limit] if limit is not None else found

    def report(self, *, since: datetime, now: datetime) -> Report:
        with self._lock:
            effective = [r for r in self._records.values() if r.state in EFFECTIVE_STATES]
        return build_report(effective, since=since, now=now)

    def hold(self, ref: ServiceRef, *, until: datetime, reason: str, who: str,
             now: datetime) -> Hold:
        protocol.check_hold(ref, until=until, reason=reason, now=now)
        hold = Hold(ref=ref, until=protocol.utc(until), reason=reason, who=who)
        with self._lock:
            self._holds[ref] = hold
        return hold

    def release(self, ref: ServiceRef) -> bool:
        with self._lock:
            return self._holds.pop(ref, None) is not None

    def record_notice(self, notice: NoticeRecord) -> bool:
        protocol.utc(notice.at)
        with self._lock:
            if notice.key in self._notices:
                return False
            self._notices[notice.key] = notice
        return True

    def notices(self, *, since: datetime) -> list[NoticeRecord]:
        with self._lock:
            found = [n for n in self._notices.values() if n.at >= since]
        return sorted(found, key=lambda n: (n.at, n.key))

    def save_restore_info(self, ref: ServiceRef, uid: str, info: Mapping[str, Any], *,
                          at: datetime) -> None:
        document = protocol.restore_document(ref, info)
        with self._lock:
            self._restore[(ref, uid)] = document

    def load_restore_info(self, ref: ServiceRef, uid: str) -> Mapping[str, Any] | None:
        with self._lock:
            document = self._restore.get((ref, uid))
        return None if document is None else protocol.readable_restore(ref, copy.deepcopy(document))


def _selected(t: Transition, *, namespace: str | None, name: str | None,
              since: datetime | None, until: datetime | None, trigger: Trigger | None) -> bool:
    """`history`'s filters, each None for "any"."""
    return ((namespace is None or t.ref.namespace == namespace)
            and (name is None or t.ref.name == name)
            and (since is None or t.at >= since) and (until is None or t.at < until)
            and (trigger is None or t.trigger is trigger))
