"""The SQL ledger (SQLite or PostgreSQL): one short transaction per call.

Each call opens and commits its own transaction, so a crash loses at most the call in
flight, and a row written as ``planned`` is on disk before the caller touches the
cluster (docs/design.md §6).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from reclaimer.errors import EdgeAlreadyClaimed, LedgerError, LedgerUnavailable, SchemaMoved
from reclaimer.ledger import batch, protocol, queries, rows
from reclaimer.ledger.engine import READ_ONLY, display, first_line, parse_url
from reclaimer.ledger.recording import RecordingStore
from reclaimer.ledger.records import (
    NoticeRecord,
    RecordState,
    Report,
    TransitionRecord,
)
from reclaimer.ledger.report import build_report
from reclaimer.ledger.schema_check import refusal_in, require_head, schema_refusal
from reclaimer.ledger.tables import (
    EdgeClaimRow,
    ExternalClaimRow,
    HoldRow,
    NoticeRow,
    RestoreInfoRow,
    ServiceFactRow,
    TransitionRow,
)
from reclaimer.model import Hold, LedgerView, ServiceKind, ServiceRef, Transition, Trigger


class SqlLedger(RecordingStore):
    """The ledger on a database whose schema is at head (see `open`)."""

    def __init__(self, engine: Engine, *,
                 edge_horizon: timedelta = protocol.DEFAULT_EDGE_HORIZON) -> None:
        self._engine = engine
        self._where = display(engine.url)
        self._edge_horizon = edge_horizon

    @classmethod
    def open(cls, url: str, *,
             edge_horizon: timedelta = protocol.DEFAULT_EDGE_HORIZON) -> SqlLedger:
        """Connect and refuse (`SchemaBehind`, `LedgerUnavailable`) unless at head."""
        return cls(require_head(parse_url(url)), edge_horizon=edge_horizon)

    def close(self) -> None:
        self._engine.dispose()

    def schema_refusal(self) -> str | None:
        return schema_refusal(self._engine)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """An ORM write transaction; fenced like `_writing`."""
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                yield session
                _fence(session.connection())
        except (LedgerError, IntegrityError):
            raise
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"database {self._where} failed: "
                                    f"{first_line(exc)}") from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A Core write transaction, for the chunk writes of `batch`. Before it commits,
        the schema's version is read in it (`schema_check.refusal_in`): a migration
        that committed while it waited rolls it back (`SchemaMoved`)."""
        try:
            with self._engine.begin() as connection:
                yield connection
                _fence(connection)
        except LedgerError:
            raise
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"database {self._where} failed: "
                                    f"{first_line(exc)}") from exc

    # --- writing ---------------------------------------------------------------------

    def record_planned_many(self, entries: Sequence[protocol.PlannedEntry], *, actor: str,
                            at: datetime) -> list[int | None]:
        with self._writing() as connection:
            return batch.record_planned_many(connection, entries, actor=actor, at=at)

    def _record_skipped(self, transitions: Sequence[Transition], *, actor: str,
                        at: datetime) -> list[TransitionRecord | None]:
        """One transaction per `protocol.BLOCKED_CHUNK` entries."""
        records: list[TransitionRecord | None] = []
        for start in range(0, len(transitions), protocol.BLOCKED_CHUNK):
            with self._writing() as connection:
                records += batch.record_blocked_many(
                    connection, transitions[start:start + protocol.BLOCKED_CHUNK],
                    actor=actor, at=at)
        return records

    def mark_applied_many(self, record_ids: Sequence[int], *, at: datetime) -> None:
        with self._writing() as connection:
            batch.mark_applied_many(connection, record_ids, at=at)

    def record_external(self, transition: Transition, *, field_manager: str,
                        at: datetime, key: str) -> TransitionRecord | None:
        """Somebody else flipped the stop state; it is a fact, so it feeds `view()`. The
        claim is inserted before the fact: a replica racing for the same key waits on
        it, then finds it taken, and writes nothing."""
        protocol.utc(at)
        try:
            with self._session() as session:
                row = rows.transition_row(transition, state=RecordState.OBSERVED,
                                          strategy=None, actor=field_manager, at=at)
                row.applied_at = at
                session.add(row)
                session.flush()
                session.add(ExternalClaimRow(key=key, transition_id=row.id, claimed_at=at))
                session.flush()
                self._remember(session, row)
                return rows.to_record(row)
        except IntegrityError:
            return None

    def _record(self, transition: Transition, *, state: RecordState, strategy: str | None,
                actor: str, at: datetime, claim: bool) -> TransitionRecord:
        protocol.utc(transition.at)
        protocol.utc(at)
        try:
            with self._session() as session:
                row = rows.transition_row(transition, state=state, strategy=strategy,
                                          actor=actor, at=at)
                session.add(row)
                session.flush()
                if claim:
                    session.add(EdgeClaimRow(edge_key=transition.edge_key,
                                             transition_id=row.id, claimed_at=at))
                    session.flush()
                return rows.to_record(row)
        except IntegrityError as exc:
            raise EdgeAlreadyClaimed(f"edge {transition.edge_key} is already claimed") from exc

    def record_gpus(self, record_id: int, gpus: int | None) -> None:
        with self._session() as session:
            row = session.get(TransitionRow, record_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"no transition {record_id} in the ledger")
            row.gpus = gpus

    def _move(self, record_id: int, wanted: RecordState, *, at: datetime,
              error: str | None = None, keep_claim: bool = False) -> None:
        at = protocol.utc(at)
        with self._session() as session:
            row = session.get(TransitionRow, record_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"no transition {record_id} in the ledger")
            protocol.check_move(record_id, RecordState(row.state), wanted)
            row.state = wanted.value
            if wanted in (RecordState.APPLIED, RecordState.VERIFIED):
                row.applied_at = row.applied_at or at
                row.verified_at = at if wanted is RecordState.VERIFIED else None
                self._remember(session, row)
            else:
                row.ended_at, row.error = at, error
                if not keep_claim:
                    session.execute(delete(EdgeClaimRow).where(
                        EdgeClaimRow.transition_id == row.id))

    @staticmethod
    def _remember(session: Session, row: TransitionRow) -> None:
        """Keep the per-service fact `view()` reads in step with effective rows."""
        rows.upsert(session, ServiceFactRow.__table__, {
            "namespace": row.namespace, "name": row.name, "kind": row.kind,
            "uid": row.uid, "action": row.action, "trigger": row.trigger, "at": row.at,
            "transition_id": row.id,
        }, keys=["namespace", "name", "kind"], only_if_newer="at")

    # --- reading ---------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read transaction; on SQLite a deferred one, so reads never take the lock."""
        try:
            with (self._engine.connect().execution_options(**{READ_ONLY: True}) as connection,
                  connection.begin()):
                yield connection
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"database {self._where} failed: "
                                    f"{first_line(exc)}") from exc

    def pending(self) -> list[TransitionRecord]:
        with self._reading() as connection:
            return queries.pending(connection)

    def stops_in_force(self) -> list[TransitionRecord]:
        with self._reading() as connection:
            return queries.stops_in_force(connection)

    def view(self, now: datetime) -> LedgerView:
        with self._reading() as connection:
            return queries.view(connection, now, horizon=self._edge_horizon)

    def history(self, *, namespace: str | None = None, name: str | None = None,  # noqa: PLR0913 - filters
                since: datetime | None = None, trigger: Trigger | None = None,
                limit: int | None = None,
                until: datetime | None = None,
                kind: ServiceKind | None = None) -> list[TransitionRecord]:
        """Newest first."""
        protocol.check_limit(limit)
        with self._reading() as connection:
            return queries.history(connection, namespace=namespace, name=name,
                                   span=(since, until), trigger=trigger, limit=limit,
                                   kind=kind)

    def report(self, *, since: datetime, now: datetime) -> Report:
        with self._reading() as connection:
            records = queries.report_records(connection, since=since, now=now)
        return build_report(records, since=since, now=now)

    # --- notices ------------------------------------------------------------------

    def record_notice(self, notice: NoticeRecord) -> bool:
        try:
            with self._session() as session:
                session.add(NoticeRow(
                    key=notice.key, namespace=notice.ref.namespace, name=notice.ref.name,
                    uid=notice.uid, policy=notice.policy, trigger=notice.trigger.value,
                    at=protocol.utc(notice.at), sent_at=protocol.utc(notice.sent_at)))
        except IntegrityError:
            return False
        return True

    def notices(self, *, since: datetime) -> list[NoticeRecord]:
        with self._reading() as connection:
            return queries.notices(connection, since=protocol.utc(since))

    # --- holds and restore info ------------------------------------------------------

    def hold(self, ref: ServiceRef, *, until: datetime, reason: str, who: str,
             now: datetime) -> Hold:
        protocol.check_hold(ref, until=until, reason=reason, now=now)
        until = protocol.utc(until)
        with self._session() as session:
            rows.upsert(session, HoldRow.__table__, {
                "namespace": ref.namespace, "name": ref.name, "kind": ref.kind.value,
                "until": until, "reason": reason, "who": who, "created_at": now,
            }, keys=["namespace", "name", "kind"])
        return Hold(ref=ref, until=until, reason=reason, who=who)

    def release(self, ref: ServiceRef) -> bool:
        with self._session() as session:
            gone = session.execute(delete(HoldRow).where(
                HoldRow.namespace == ref.namespace, HoldRow.name == ref.name,
                HoldRow.kind == ref.kind.value))
            return bool(gone.rowcount)  # type: ignore[attr-defined]

    def save_restore_info(self, ref: ServiceRef, uid: str, info: Mapping[str, Any], *,
                          at: datetime) -> None:
        document = protocol.restore_document(ref, info)
        with self._session() as session:
            rows.upsert(session, RestoreInfoRow.__table__, {
                "namespace": ref.namespace, "name": ref.name, "kind": ref.kind.value,
                "uid": uid, "version": document["version"], "info": document,
                "saved_at": at,
            }, keys=["namespace", "name", "kind", "uid"])

    def load_restore_info(self, ref: ServiceRef, uid: str) -> Mapping[str, Any] | None:
        with self._reading() as connection:
            return queries.restore_info(connection, ref, uid)


def _fence(connection: Connection) -> None:
    refusal = refusal_in(connection)
    if refusal is not None:
        raise SchemaMoved(f"nothing was written: {refusal}")
