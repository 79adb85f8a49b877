"""Between table rows and record values, plus the two dialect-specific upserts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reclaimer.ledger.protocol import plain_evidence
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.ledger.tables import HoldRow, ServiceFactRow, TransitionRow
from reclaimer.model import (
    Action,
    Hold,
    LastTransition,
    Reason,
    ServiceRef,
    Transition,
    Trigger,
)


def transition_row(transition: Transition, *, state: RecordState, strategy: str | None,
                   actor: str, at: datetime) -> TransitionRow:
    return TransitionRow(
        state=state.value, namespace=transition.ref.namespace, name=transition.ref.name,
        uid=transition.uid, action=transition.action.value,
        trigger=transition.trigger.value, reason=transition.reason.value,
        policy=transition.policy, edge_key=transition.edge_key, strategy=strategy,
        evidence=plain_evidence(transition.evidence), gpus=transition.gpus, actor=actor,
        blocked=transition.blocked, at=transition.at, recorded_at=at,
    )


def to_record(row: TransitionRow | Row[Any]) -> TransitionRecord:
    return TransitionRecord(
        id=row.id, state=RecordState(row.state), ref=ServiceRef(row.namespace, row.name),
        uid=row.uid, action=Action(row.action), trigger=Trigger(row.trigger),
        reason=Reason(row.reason), policy=row.policy, at=row.at,
        recorded_at=row.recorded_at, actor=row.actor, edge_key=row.edge_key,
        strategy=row.strategy, evidence=dict(row.evidence or {}), gpus=row.gpus,
        blocked=row.blocked, applied_at=row.applied_at, verified_at=row.verified_at,
        ended_at=row.ended_at, error=row.error,
    )


def to_last(row: ServiceFactRow | Row[Any]) -> LastTransition:
    return LastTransition(ref=ServiceRef(row.namespace, row.name), action=Action(row.action),
                          trigger=Trigger(row.trigger), at=row.at, uid=row.uid)


def to_hold(row: HoldRow | Row[Any]) -> Hold:
    return Hold(ref=ServiceRef(row.namespace, row.name), until=row.until, reason=row.reason,
                who=row.who)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table))


def upsert(session: Session, table: Any, values: Mapping[str, Any], *, keys: list[str],
           only_if_newer: str | None = None) -> None:
    """Insert or replace by primary key in one statement, so two writers cannot both
    insert; ``only_if_newer`` keeps a late, older fact from overwriting a newer one."""
    statement: Insert = _insert(session, table).values(**values)
    excluded = statement.excluded  # type: ignore[attr-defined]
    where = None
    if only_if_newer is not None:
        where = getattr(table.c, only_if_newer) <= getattr(excluded, only_if_newer)
    changed = {k: getattr(excluded, k) for k in values if k not in keys}
    session.execute(statement.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=keys, set_=changed, where=where))
