"""What every ledger store says alike about recording: planned and blocked entries.

Both stores keep one ``_record`` primitive; which entries claim their edge is a rule of
the contract, not of a store, so it is written once here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.model import Transition


class RecordingStore(ABC):
    @abstractmethod
    def _record(self, transition: Transition, *, state: RecordState, strategy: str | None,
                actor: str, at: datetime, claim: bool) -> TransitionRecord: ...

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
