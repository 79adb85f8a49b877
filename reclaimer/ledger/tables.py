"""The ledger schema as SQLAlchemy 2 typed tables; migrations must match it (alembic check)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAME = 253  # a Kubernetes object name or namespace, and a policy key "ns/name"
KIND = 32  # a KServe kind: InferenceService, LLMInferenceService, InferenceGraph
DEFAULT_KIND = "InferenceService"  # rows written before the kind was recorded (0003)
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every backend.

    SQLite has no time zones and hands back naive values; storing UTC and re-attaching
    it on read keeps comparisons with the aware instants the rest of reclaimer uses.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores only timezone-aware instants")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


# SQLite autoincrements only an INTEGER primary key; PostgreSQL gets 64 bits.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TransitionRow(Base):
    """Every transition, append-mostly; only ``state``, its stamps and ``error`` change."""

    __tablename__ = "transitions"
    __table_args__ = (
        # (..., at, id) matches history's ORDER BY at DESC, id DESC, so the planner walks
        # one namespace's index backwards instead of filtering the whole time range.
        Index("ix_transitions_service", "namespace", "name", "at", "id"),
        Index("ix_transitions_namespace_at", "namespace", "at", "id"),
        Index("ix_transitions_at", "at"),
        Index("ix_transitions_state", "state"),
        Index("ix_transitions_edge_key", "edge_key"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str] = mapped_column(String(NAME))
    name: Mapped[str] = mapped_column(String(NAME))
    uid: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    policy: Mapped[str | None] = mapped_column(String(NAME))
    edge_key: Mapped[str | None] = mapped_column(String(600))
    strategy: Mapped[str | None] = mapped_column(String(32))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    gpus: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(NAME))
    blocked: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(KIND), server_default=DEFAULT_KIND)


class EdgeClaimRow(Base):
    """One row per claimed edge key; the primary key is what makes an edge apply once.

    Kept apart from transitions so a failed or abandoned attempt can give its claim
    back (the next tick may try the edge again) while its history row stays.
    """

    __tablename__ = "edge_claims"
    # Covering: view() reads the keys of a recent range straight from the index.
    __table_args__ = (Index("ix_edge_claims_claimed_at", "claimed_at", "edge_key"),)

    edge_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    transition_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("transitions.id", ondelete="CASCADE"))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ExternalClaimRow(Base):
    """One row per external change booked; the primary key is what books it once.

    The key (`reclaimer.service.recording.external_key`) is what every replica derives
    alike for one change: the service, its new state and the ledger fact it changes;
    two replicas that both observed it (a deposed leader's tick overlapping its
    successor's) write one ``observed`` row, not two.
    """

    __tablename__ = "external_claims"

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    transition_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("transitions.id", ondelete="CASCADE"))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ServiceFactRow(Base):
    """The last effective transition per service, so `view()` never scans history."""

    __tablename__ = "service_facts"

    namespace: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND), primary_key=True,
                                      server_default=DEFAULT_KIND)
    uid: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    trigger: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    transition_id: Mapped[int] = mapped_column(
        RowId, ForeignKey("transitions.id", ondelete="CASCADE"))


class HoldRow(Base):
    __tablename__ = "holds"

    namespace: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND), primary_key=True,
                                      server_default=DEFAULT_KIND)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(NAME))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NoticeRow(Base):
    """One StopPlanned notice sent (issue 19); the key makes it once per planned stop,
    across restarts and replicas."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_sent_at", "sent_at"),)

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(NAME))
    name: Mapped[str] = mapped_column(String(NAME))
    uid: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(NAME))
    trigger: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RestoreInfoRow(Base):
    """What a managed stop changed, to undo it at start; keyed by uid so a re-created
    ISVC of the same name never gets another's replicas back."""

    __tablename__ = "restore_info"

    namespace: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND), primary_key=True,
                                      server_default=DEFAULT_KIND)
    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)


metadata = Base.metadata
