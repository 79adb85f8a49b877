"""Between table rows and record values, plus the two dialect-specific upserts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reclaimer.ledger.protocol import plain_evidence
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.ledger.tables import HoldRow, TransitionRow
from reclaimer.model import (
    Action,
    Hold,
    LastTransition,
    Reason,
    ServiceKind,
    ServiceRef,
    Transition,
    Trigger,
)


def transition_values(transition: Transition, *, state: RecordState, strategy: str | None,
                      actor: str, at: datetime) -> dict[str, Any]:
    """A new row's columns, for the ORM row and for multi-row Core inserts alike."""
    return {
        "state": state.value, "namespace": transition.ref.namespace,
        "name": transition.ref.name, "kind": transition.ref.kind.value, "uid": transition.uid,
        "action": transition.action.value, "trigger": transition.trigger.value,
        "reason": transition.reason.value, "policy": transition.policy,
        "edge_key": transition.edge_key, "strategy": strategy,
        "evidence": plain_evidence(transition.evidence), "gpus": transition.gpus,
        "actor": actor, "blocked": transition.blocked, "at": transition.at,
        "recorded_at": at,
    }


def transition_row(transition: Transition, *, state: RecordState, strategy: str | None,
                   actor: str, at: datetime) -> TransitionRow:
    return TransitionRow(**transition_values(transition, state=state, strategy=strategy,
                                             actor=actor, at=at))


def to_record(row: TransitionRow) -> TransitionRecord:
    """From an ORM row (the write path: one row at a time)."""
    return from_values(tuple(getattr(row, column) for column in COLUMNS))


def record_from_values(record_id: int, values: Mapping[str, Any]) -> TransitionRecord:
    """From `transition_values` of a row just inserted, as `to_record` reads the ORM row
    it built from them: the columns the insert left out are None."""
    return from_values(tuple(map({**values, "id": record_id}.get, COLUMNS)))


# The transitions table's columns in declaration order: reads select exactly these and
# unpack by position, which is several times faster than attribute access per field.
COLUMNS = tuple(column.name for column in TransitionRow.__table__.columns)


# Enum lookups by value through plain dicts: calling the enum class costs more than
# everything else in building a record.
_STATES = {state.value: state for state in RecordState}
_ACTIONS = {action.value: action for action in Action}
_TRIGGERS = {trigger.value: trigger for trigger in Trigger}
_REASONS = {reason.value: reason for reason in Reason}
_KINDS = {kind.value: kind for kind in ServiceKind}


def from_values(values: Sequence[Any]) -> TransitionRecord:
    (record_id, state, namespace, name, uid, action, trigger, reason, policy, edge_key,
     strategy, evidence, gpus, actor, blocked, at, recorded_at, applied_at, verified_at,
     ended_at, error, kind) = values
    transition = Transition(
        ref=ServiceRef(namespace, name, _KINDS[kind]), uid=uid, action=_ACTIONS[action],
        trigger=_TRIGGERS[trigger], reason=_REASONS[reason], policy=policy, at=at,
        edge_key=edge_key, evidence=evidence or {}, gpus=gpus, blocked=blocked)
    return TransitionRecord(
        id=record_id, state=_STATES[state], transition=transition, recorded_at=recorded_at,
        actor=actor, strategy=strategy, applied_at=applied_at, verified_at=verified_at,
        ended_at=ended_at, error=error,
    )


def last_from_values(values: Sequence[Any]) -> LastTransition:
    """From ``(namespace, name, action, trigger, at, uid, kind, transition_id)``, as
    `queries.view` selects."""
    namespace, name, action, trigger, at, uid, kind, transition_id = values
    return LastTransition(ref=ServiceRef(namespace, name, _KINDS[kind]), action=_ACTIONS[action],
                          trigger=_TRIGGERS[trigger], at=at, uid=uid,
                          transition_id=transition_id)


def to_hold(row: HoldRow | Row[Any]) -> Hold:
    return Hold(ref=ServiceRef(row.namespace, row.name, _KINDS[row.kind]), until=row.until,
                reason=row.reason, who=row.who)


def dialect_insert(dialect: str, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)


def _insert(session: Session, table: Any) -> Any:
    return dialect_insert(session.get_bind().dialect.name, table)


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


def upsert_many(connection: Connection, table: Any, values: Sequence[Mapping[str, Any]], *,
                keys: list[str], only_if_newer: str | None = None) -> None:
    """`upsert` for many rows with one statement, executed over all parameter sets.

    Rows must have distinct keys: a multi-row ON CONFLICT DO UPDATE may not touch one
    row twice (PostgreSQL refuses), so callers keep one row per key.
    """
    if not values:
        return
    statement: Insert = dialect_insert(connection.dialect.name, table)
    excluded = statement.excluded  # type: ignore[attr-defined]
    where = None
    if only_if_newer is not None:
        where = getattr(table.c, only_if_newer) <= getattr(excluded, only_if_newer)
    changed = {k: getattr(excluded, k) for k in values[0] if k not in keys}
    connection.execute(statement.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=keys, set_=changed, where=where), list(values))
