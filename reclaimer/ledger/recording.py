"""What every ledger store says alike: recording entries and moving their state.

Both stores keep three primitives, ``_record``, ``_record_skipped`` (a batch of skipped
rows) and ``_move``; which entries claim their edge and which state each ``mark_*``
moves to are rules of the contract, not of a store, so they are written once here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from reclaimer.ledger import protocol
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.model import Transition


class RecordingStore(ABC):
    def schema_refusal(self) -> str | None:
        """A store with no schema (in memory) is always this release's."""
        return None

    @abstractmethod
    def _record(self, transition: Transition, *, state: RecordState, strategy: str | None,
                actor: str, at: datetime, claim: bool) -> TransitionRecord: ...

    @abstractmethod
    def _record_skipped(self, transitions: Sequence[Transition], *, actor: str,
                        at: datetime) -> list[TransitionRecord | None]:
        """Skipped rows, each claiming its ``edge_key`` if set: None (nothing written)
        where that edge was claimed before, or by an earlier entry."""

    @abstractmethod
    def _move(self, record_id: int, wanted: RecordState, *, at: datetime,
              error: str | None = None, keep_claim: bool = False) -> None: ...

    def record_planned(self, transition: Transition, *, strategy: str, actor: str,
                       at: datetime) -> TransitionRecord:
        return self._record(transition, state=RecordState.PLANNED, strategy=strategy,
                            actor=actor, at=at, claim=transition.edge_key is not None)

    def record_blocked(self, transition: Transition, *, actor: str,
                       at: datetime) -> TransitionRecord:
        """Claims the edge when the entry carries ``edge_key``: decide() keeps the key on
        entries that consume their edge (held, dry run, missed, superseded, satisfied)
        and drops it on those retried next tick (deferred, staggered)."""
        return self._record(transition, state=RecordState.SKIPPED, strategy=None,
                            actor=actor, at=at, claim=transition.edge_key is not None)

    def record_blocked_many(self, transitions: Sequence[Transition], *, actor: str,
                            at: datetime) -> list[TransitionRecord | None]:
        """`record_blocked` for a batch: the same rows and claims (`Ledger`)."""
        protocol.check_instants(transitions, at=at)
        return self._record_skipped(transitions, actor=actor, at=at)

    def mark_applied(self, record_id: int, *, at: datetime) -> None:
        self._move(record_id, RecordState.APPLIED, at=at)

    def mark_verified(self, record_id: int, *, at: datetime) -> None:
        self._move(record_id, RecordState.VERIFIED, at=at)

    def mark_failed(self, record_id: int, *, at: datetime, error: str,
                    keep_claim: bool = False) -> None:
        self._move(record_id, RecordState.FAILED, at=at, error=error, keep_claim=keep_claim)

    def mark_abandoned(self, record_id: int, *, at: datetime, error: str) -> None:
        self._move(record_id, RecordState.ABANDONED, at=at, error=error)
