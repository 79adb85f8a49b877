"""The SQL store's chunk writes: a tick's planned or blocked rows, or applied marks, at once.

One transaction and a handful of multi-row statements per chunk instead of two or
three transactions of single-row ORM work per transition: at an edge storm that ORM
work, queued on SQLite's one write lock, was most of the tick (benchmarks/RESULTS.md).

The edge claim stays what makes an edge apply once: the chunk's rows are inserted, their
claims inserted with ON CONFLICT DO NOTHING, and the rows whose claim did not land are
deleted again before the commit, so no other transaction ever sees them. Rows that two
replicas may both write (claims, restore info, facts) are written in key order, so two
chunks racing on PostgreSQL wait for each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from reclaimer.errors import LedgerError
from reclaimer.ledger import protocol, rows
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.ledger.tables import EdgeClaimRow, RestoreInfoRow, ServiceFactRow, TransitionRow
from reclaimer.model import Transition

TRANSITIONS = cast(Table, TransitionRow.__table__)
CLAIMS = cast(Table, EdgeClaimRow.__table__)
FACT_KEYS = ["namespace", "name", "kind"]


def record_planned_many(connection: Connection, entries: Sequence[PlannedEntry], *,
                        actor: str, at: datetime) -> list[int | None]:
    documents = protocol.restore_documents(entries, at=at)
    settled = _refresh(connection, [e for e in entries if e.record_id is not None],
                       actor=actor)
    written = iter(_write_claiming(connection, [
        rows.transition_values(e.transition, state=RecordState.PLANNED, strategy=e.strategy,
                               actor=actor, at=at)
        for e in entries if e.record_id is None], at=at))
    results: list[int | None] = [
        _unless(e.record_id, settled) if e.record_id is not None else next(written)
        for e in entries]
    saved = {(e.transition.ref, e.transition.uid): (e, d) for e, d, r
             in sorted(zip(entries, documents, results, strict=True), key=_service)
             if r is not None and d}
    rows.upsert_many(connection, RestoreInfoRow.__table__, [
        {"namespace": e.transition.ref.namespace, "name": e.transition.ref.name,
         "kind": e.transition.ref.kind.value, "uid": e.transition.uid,
         "version": d["version"], "info": d, "saved_at": at}
        for e, d in saved.values()], keys=["namespace", "name", "kind", "uid"])
    return results


def _refresh(connection: Connection, kept: Sequence[PlannedEntry], *, actor: str) -> set[int]:
    """Kept planned rows take their retry's decision fields (`PlannedEntry`). Returns
    the kept rows no longer planned (settled meanwhile, or gone): nothing acts on them."""
    if not kept:
        return set()
    c = TRANSITIONS.c
    found = _locked(connection, sorted({e.record_id for e in kept if e.record_id is not None}))
    planned = {i for i, row in found.items() if row["state"] == RecordState.PLANNED.value}
    for entry in kept:
        if entry.record_id not in planned:
            continue
        t, before = entry.transition, found[entry.record_id]
        evidence = protocol.reused_evidence(t.evidence, before=before["evidence"],
                                            planner=before["actor"], actor=actor)
        connection.execute(update(TRANSITIONS).where(c.id == entry.record_id).values(
            at=protocol.utc(t.at), trigger=t.trigger.value, reason=t.reason.value,
            evidence=evidence, gpus=t.gpus, actor=actor))
    return {e.record_id for e in kept if e.record_id is not None} - planned


def _service(item: tuple[PlannedEntry, Any, Any]) -> tuple[str, str, str, str]:
    t = item[0].transition
    return (t.ref.namespace, t.ref.name, t.ref.kind.value, t.uid)


def _unless(record_id: int | None, lost: set[int]) -> int | None:
    return None if record_id in lost else record_id


def record_blocked_many(connection: Connection, transitions: Sequence[Transition], *,
                        actor: str, at: datetime) -> list[TransitionRecord | None]:
    """Skipped rows, each claiming its edge if it has one (`RecordingStore.record_blocked`)."""
    values = [rows.transition_values(t, state=RecordState.SKIPPED, strategy=None, actor=actor,
                                     at=at) for t in transitions]
    ids = _write_claiming(connection, values, at=at)
    return [None if i is None else rows.record_from_values(i, v)
            for i, v in zip(ids, values, strict=True)]


def _write_claiming(connection: Connection, values: Sequence[dict[str, Any]], *,
                    at: datetime) -> list[int | None]:
    """Insert the rows and claim the edge of each row that has one; a row whose claim
    did not land (claimed before, or by an earlier row) is deleted again: None."""
    if not values:
        return []
    statement = insert(TRANSITIONS).returning(TRANSITIONS.c.id, sort_by_parameter_order=True)
    ids = [int(row[0]) for row in connection.execute(statement, values)]
    claims = [(v["edge_key"], i) for v, i in zip(values, ids, strict=True)
              if v["edge_key"] is not None]
    lost = {i for _, i in claims} - _claim(connection, claims, at=at)
    if lost:
        connection.execute(delete(TRANSITIONS).where(TRANSITIONS.c.id.in_(lost)))
    return [_unless(i, lost) for i in ids]


def _claim(connection: Connection, claims: Sequence[tuple[str, int]], *,
           at: datetime) -> set[int]:
    """The ids whose claim landed: a key claimed before, or twice in the chunk, lands once."""
    if not claims:
        return set()
    statement = rows.dialect_insert(connection.dialect.name, CLAIMS).on_conflict_do_nothing(
        index_elements=["edge_key"]).returning(CLAIMS.c.transition_id)
    values = [{"edge_key": key, "transition_id": i, "claimed_at": at}
              for key, i in sorted(claims)]
    return {int(row[0]) for row in connection.execute(statement, values)}


def mark_applied_many(connection: Connection, record_ids: Sequence[int], *,
                      at: datetime) -> None:
    at = protocol.utc(at)
    wanted = sorted(set(record_ids))
    if not wanted:
        return
    found = _locked(connection, wanted)
    for record_id in wanted:
        if record_id not in found:
            raise LedgerError(f"no transition {record_id} in the ledger")
        protocol.check_move(record_id, RecordState(found[record_id]["state"]),
                            RecordState.APPLIED)
    connection.execute(update(TRANSITIONS).where(TRANSITIONS.c.id.in_(wanted)).values(
        state=RecordState.APPLIED.value, applied_at=at, verified_at=None))
    rows.upsert_many(connection, ServiceFactRow.__table__, _newest_per_service(found.values()),
                     keys=FACT_KEYS, only_if_newer="at")


def _locked(connection: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The rows to move, locked on PostgreSQL (SQLite's write lock is already held)."""
    c = TRANSITIONS.c
    found = connection.execute(select(
        c.id, c.state, c.namespace, c.name, c.kind, c.uid, c.action, c.trigger, c.at, c.actor,
        c.evidence,
    ).where(c.id.in_(ids)).with_for_update())
    return {int(row.id): dict(row._mapping) for row in found}


def _newest_per_service(found: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One fact per service, the newest; the upsert then keeps the store's newest."""
    facts: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in sorted(found, key=lambda r: (r["at"], r["id"])):
        facts[(row["namespace"], row["name"], row["kind"])] = {
            "namespace": row["namespace"], "name": row["name"], "kind": row["kind"],
            "uid": row["uid"],
            "action": row["action"], "trigger": row["trigger"], "at": row["at"],
            "transition_id": row["id"]}
    return [facts[key] for key in sorted(facts)]
