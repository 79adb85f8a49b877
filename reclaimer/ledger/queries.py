"""The ledger's reads, in SQLAlchemy Core: plain rows, no ORM identity map.

`view()` runs every tick and `history` serves people; building ORM objects for a few
thousand rows cost several times the query itself (benchmarks/RESULTS.md), so reads
select columns and build frozen values directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, select

from reclaimer.ledger import protocol, rows
from reclaimer.ledger.records import (
    EFFECTIVE_STATES,
    IN_FORCE_STATES,
    UNFINISHED_STATES,
    NoticeRecord,
    TransitionRecord,
)
from reclaimer.ledger.tables import (
    EdgeClaimRow,
    HoldRow,
    NoticeRow,
    RestoreInfoRow,
    ServiceFactRow,
    TransitionRow,
)
from reclaimer.model import (
    RECENT_IDLE,
    Action,
    LedgerView,
    Reason,
    ServiceKind,
    ServiceRef,
    Trigger,
)

TRANSITIONS = TransitionRow.__table__
_EFFECTIVE = sorted(state.value for state in EFFECTIVE_STATES)


def _records(connection: Connection, query: Select[Any]) -> list[TransitionRecord]:
    return [rows.from_values(row) for row in connection.execute(query).all()]


def pending(connection: Connection) -> list[TransitionRecord]:
    return _records(connection, select(TRANSITIONS).where(
        TransitionRow.state.in_(sorted(s.value for s in UNFINISHED_STATES)),
    ).order_by(TransitionRow.id))


def stops_in_force(connection: Connection) -> list[TransitionRecord]:
    """Joins each service's fact to its row: one query, however many services."""
    return _records(connection, select(TRANSITIONS).join(
        ServiceFactRow, ServiceFactRow.transition_id == TransitionRow.id).where(
        ServiceFactRow.action == "stop",
        TransitionRow.state.in_(sorted(s.value for s in IN_FORCE_STATES)),
    ).order_by(TransitionRow.id))


def view(connection: Connection, now: datetime, *, horizon: timedelta) -> LedgerView:
    keys = connection.scalars(select(EdgeClaimRow.edge_key).where(
        EdgeClaimRow.claimed_at >= now - horizon)).all()
    facts = connection.execute(select(
        ServiceFactRow.namespace, ServiceFactRow.name, ServiceFactRow.action,
        ServiceFactRow.trigger, ServiceFactRow.at, ServiceFactRow.uid,
        ServiceFactRow.kind, ServiceFactRow.transition_id)).all()
    holds = connection.execute(select(HoldRow.__table__).where(HoldRow.until > now)).all()
    return LedgerView(
        applied_edge_keys=frozenset(keys),
        last_transitions={last.ref: last for last in map(rows.last_from_values, facts)},
        holds={hold.ref: hold for hold in map(rows.to_hold, holds)},
        deferred_since=_deferred_since(connection, now - horizon),
        recent_idle_stops=_recent_idle_stops(connection, now - RECENT_IDLE),
    )


_ACTED = sorted(state.value for state in (*EFFECTIVE_STATES, *UNFINISHED_STATES))


def _recent_idle_stops(connection: Connection, since: datetime) -> dict[ServiceRef, datetime]:
    """The latest idle stop per service since ``since`` (planned or done): the breaker's
    memory across ticks. Served by the ``at`` index."""
    found = connection.execute(select(
        TransitionRow.namespace, TransitionRow.name, TransitionRow.kind,
        func.max(TransitionRow.at)).where(
        TransitionRow.at >= since, TransitionRow.trigger == Trigger.IDLE.value,
        TransitionRow.action == Action.STOP.value, TransitionRow.state.in_(_ACTED),
    ).group_by(TransitionRow.namespace, TransitionRow.name, TransitionRow.kind)).all()
    return {ServiceRef(namespace, name, ServiceKind(kind)): at
            for namespace, name, kind, at in found}


def _deferred_since(connection: Connection, since: datetime) -> dict[str, datetime]:
    """Edge key -> its first ``DeferredBusy`` row: when the deferral clock started.

    Deferred stops do not claim their edge, so the key is in the evidence; a deferral is
    written once per edge and process, so this reads a handful of rows."""
    key = TransitionRow.evidence["edgeKey"].as_string()
    found = connection.execute(select(key, func.min(TransitionRow.at)).where(
        TransitionRow.at >= since, TransitionRow.reason == Reason.DEFERRED_BUSY.value,
    ).group_by(key)).all()
    return {str(edge): at for edge, at in found if edge}


def history(connection: Connection, *, namespace: str | None, name: str | None,  # noqa: PLR0913 - filters
            span: tuple[datetime | None, datetime | None], trigger: Trigger | None,
            limit: int | None, kind: ServiceKind | None = None) -> list[TransitionRecord]:
    """``span`` is (since inclusive, until exclusive), either end open."""
    since, until = span
    query = select(TRANSITIONS).order_by(TransitionRow.at.desc(), TransitionRow.id.desc())
    if namespace is not None:
        query = query.where(TransitionRow.namespace == namespace)
    if name is not None:
        query = query.where(TransitionRow.name == name)
    if since is not None:
        query = query.where(TransitionRow.at >= since)
    if until is not None:
        query = query.where(TransitionRow.at < until)
    if trigger is not None:
        query = query.where(TransitionRow.trigger == trigger.value)
    if kind is not None:
        query = query.where(TransitionRow.kind == kind.value)
    return _records(connection, query.limit(limit))


def report_records(connection: Connection, *, since: datetime,
                   now: datetime) -> list[TransitionRecord]:
    """Effective rows in ``[since, now)`` plus each service's last one before ``since``
    (a service stopped before the window is still reclaiming inside it)."""
    effective = TransitionRow.state.in_(_EFFECTIVE)
    latest_before = select(TransitionRow.id, func.row_number().over(
        partition_by=(TransitionRow.namespace, TransitionRow.name, TransitionRow.kind),
        order_by=(TransitionRow.at.desc(), TransitionRow.id.desc())).label("n"),
    ).where(effective, TransitionRow.at < since).subquery()
    carried = select(latest_before.c.id).where(latest_before.c.n == 1)
    return _records(connection, select(TRANSITIONS).where(
        effective, TransitionRow.at < now,
        (TransitionRow.at >= since) | TransitionRow.id.in_(carried)))


def restore_info(connection: Connection, ref: ServiceRef,
                 uid: str) -> Mapping[str, Any] | None:
    info = connection.scalar(select(RestoreInfoRow.info).where(
        RestoreInfoRow.namespace == ref.namespace, RestoreInfoRow.name == ref.name,
        RestoreInfoRow.kind == ref.kind.value, RestoreInfoRow.uid == uid))
    return None if info is None else protocol.readable_restore(ref, info)


def notices(connection: Connection, *, since: datetime) -> list[NoticeRecord]:
    table = NoticeRow.__table__
    found = connection.execute(select(table).where(table.c.at >= since)
                               .order_by(table.c.at, table.c.key)).all()
    return [NoticeRecord(key=row.key, ref=ServiceRef(row.namespace, row.name), uid=row.uid,
                         policy=row.policy, trigger=Trigger(row.trigger), at=row.at,
                         sent_at=row.sent_at) for row in found]
