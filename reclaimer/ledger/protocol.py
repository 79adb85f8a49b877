"""The ledger contract, one Protocol for the SQL store and the in-memory one.

Every timestamp is a parameter: the ledger never reads the clock, so replaying a week
in a test is a loop over instants.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from reclaimer.errors import ArgumentInvalid, LedgerError, RowSettled
from reclaimer.ledger.records import (
    RESTORE_INFO_VERSION,
    NoticeRecord,
    RecordState,
    Report,
    TransitionRecord,
)
from reclaimer.model import Hold, LedgerView, ServiceKind, ServiceRef, Transition, Trigger

DEFAULT_EDGE_HORIZON = timedelta(days=8)
BLOCKED_CHUNK = 500
"""Blocked entries per transaction of `Ledger.record_blocked_many`: a first tick at
10,000 ISVCs has 6,580 of them, and one transaction of them all would hold SQLite's
write lock (a CLI's `stop` waits on it) for the whole batch."""

# Which state a record may move to from which; anything else is a bug in the caller.
MOVES: Mapping[RecordState, frozenset[RecordState]] = {
    RecordState.APPLIED: frozenset({RecordState.PLANNED}),
    RecordState.VERIFIED: frozenset({RecordState.PLANNED, RecordState.APPLIED}),
    RecordState.FAILED: frozenset({RecordState.PLANNED, RecordState.APPLIED}),
    RecordState.ABANDONED: frozenset({RecordState.PLANNED, RecordState.APPLIED}),
}


@dataclass(frozen=True)
class PlannedEntry:
    """One transition of a chunk claimed in one transaction (`Ledger.record_planned_many`).

    ``restore`` is saved for the transition's (ref, uid) in that same transaction, so it
    is on disk before any API call that needs it. ``record_id`` names a planned row kept
    from an earlier attempt at the same decision (a retry of the same edge): no row is
    added; the kept row takes this attempt's time, trigger, reason, evidence, GPUs and
    actor, so it tells the attempt that acted (docs/design.md §6), and its restore info is
    saved again; an actor other than the one that planned it is kept in the evidence
    (`reused_evidence`).
    """

    transition: Transition
    strategy: str
    restore: Mapping[str, Any] | None = None
    record_id: int | None = None


class Ledger(Protocol):
    def record_planned(self, transition: Transition, *, strategy: str, actor: str,
                       at: datetime) -> TransitionRecord:
        """Written before any API call, so a crash leaves a row to reconcile. Claims
        ``edge_key`` if set; raises `EdgeAlreadyClaimed` (and writes nothing) when
        another replica claimed it first."""
        ...

    def record_planned_many(self, entries: Sequence[PlannedEntry], *, actor: str,
                            at: datetime) -> list[int | None]:
        """`record_planned` and `save_restore_info` for a chunk, in one transaction.

        Returns each entry's record id in order; None where the edge was already claimed
        (by another replica, or by an earlier entry of the chunk), or where an entry's
        kept row (``record_id``) is no longer planned (settled meanwhile): nothing of
        that entry is written, its restore info included. Refuses the whole chunk (`LedgerError`,
        nothing written) when any entry is invalid."""
        ...

    def record_blocked(self, transition: Transition, *, actor: str,
                       at: datetime) -> TransitionRecord:
        """A decision not acted on (state ``skipped``); claims ``edge_key`` if set."""
        ...

    def record_blocked_many(self, transitions: Sequence[Transition], *, actor: str,
                            at: datetime) -> list[TransitionRecord | None]:
        """`record_blocked` for a tick's entries, in order, in one transaction per
        `BLOCKED_CHUNK` of them: one per entry was most of a first tick's wall.

        Returns each entry's record; None where its edge was already claimed (by another
        replica, or by an earlier entry of the batch): that entry alone writes nothing,
        where `record_blocked` raises `EdgeAlreadyClaimed`. Refuses the whole batch
        (`LedgerError`, nothing written) when any instant is naive; a database failing
        midway keeps the chunks committed before it, as single calls would have."""
        ...

    def record_external(self, transition: Transition, *, field_manager: str,
                        at: datetime, key: str) -> TransitionRecord | None:
        """Someone else changed the stop state (state ``observed``); feeds `view()`.

        Claims ``key``, which every replica derives alike for one change: None, and
        nothing written, where it was booked before (by another replica that observed
        the same change), so the change and its GPU-hours count once."""
        ...

    def mark_applied(self, record_id: int, *, at: datetime) -> None: ...

    def mark_applied_many(self, record_ids: Sequence[int], *, at: datetime) -> None:
        """`mark_applied` for a chunk in one transaction; a row that may not move (or
        does not exist) refuses the whole chunk with `LedgerError`, nothing moved."""
        ...

    def mark_verified(self, record_id: int, *, at: datetime) -> None: ...

    def record_gpus(self, record_id: int, gpus: int | None) -> None:
        """The GPUs a transition freed, once its strategy knows better than the decision
        did (a ModelMesh stop: its runtime's GPUs, or 0); `report` counts these."""
        ...

    def mark_failed(self, record_id: int, *, at: datetime, error: str,
                    keep_claim: bool = False) -> None:
        """Ends the row and gives its edge back, so a later tick may try again; with
        ``keep_claim`` (a permanent failure: the request would be refused again) the
        row keeps its edge, so the edge fails once and the next edge tries (docs/design.md §5)."""
        ...

    def mark_abandoned(self, record_id: int, *, at: datetime, error: str) -> None: ...

    def pending(self) -> list[TransitionRecord]:
        """Rows planned or applied but not finished, oldest first: what a crash left."""
        ...

    def stops_in_force(self) -> list[TransitionRecord]:
        """Each service's last effective transition where it is a stop of ours, applied or
        verified and not superseded, whoever made it (the service, the CLI, another
        replica): the stops a leader keeps asserted (DESIGN §5). One query."""
        ...

    def view(self, now: datetime) -> LedgerView:
        """Edge keys claimed within the edge horizon before ``now``, the last effective
        transition per service, holds still active at ``now``."""
        ...

    def history(self, *, namespace: str | None = None, name: str | None = None,  # noqa: PLR0913 - filters
                since: datetime | None = None, trigger: Trigger | None = None,
                limit: int | None = None,
                until: datetime | None = None,
                kind: ServiceKind | None = None) -> list[TransitionRecord]:
        """Newest first; ``since`` inclusive, ``until`` exclusive; ``kind`` one KServe kind."""
        ...

    def hold(self, ref: ServiceRef, *, until: datetime, reason: str, who: str,
             now: datetime) -> Hold: ...

    def release(self, ref: ServiceRef) -> bool: ...

    def save_restore_info(self, ref: ServiceRef, uid: str, info: Mapping[str, Any], *,
                          at: datetime) -> None: ...

    def load_restore_info(self, ref: ServiceRef, uid: str) -> Mapping[str, Any] | None: ...

    def report(self, *, since: datetime, now: datetime) -> Report: ...

    def record_notice(self, notice: NoticeRecord) -> bool:
        """Claims ``notice.key``; False (nothing written) when it was already sent, by
        this process before a restart or by another replica."""
        ...

    def notices(self, *, since: datetime) -> list[NoticeRecord]:
        """Notices whose planned stop is at or after ``since``, oldest first."""
        ...

    def schema_refusal(self) -> str | None:
        """Why this process must not write here now: the schema is not the one this
        release migrates to (a newer release's `db upgrade` ran), or cannot be read."""
        ...

    def close(self) -> None: ...


def check_move(record_id: int, current: RecordState, wanted: RecordState) -> None:
    if current not in MOVES[wanted]:
        raise RowSettled(f"transition {record_id} is {current.value}; "
                         f"it cannot become {wanted.value}", state=current.value)


def restore_documents(entries: Sequence[PlannedEntry], *,
                      at: datetime) -> list[dict[str, Any] | None]:
    """Each entry's restore document, after checking every instant: a chunk is refused
    whole, before anything is written, if any entry could not be stored."""
    check_instants([e.transition for e in entries], at=at)
    return [None if e.restore is None else restore_document(e.transition.ref, e.restore)
            for e in entries]


def check_instants(transitions: Sequence[Transition], *, at: datetime) -> None:
    """Every instant of a batch checked before any of it is written (`utc`)."""
    utc(at)
    for transition in transitions:
        utc(transition.at)


def check_hold(ref: ServiceRef, *, until: datetime, reason: str, now: datetime) -> None:
    """A hold must end in the future and say why; the message names the argument."""
    if until <= now:
        raise ArgumentInvalid(f"--until: {until.isoformat()} is not after now "
                              f"({now.isoformat()}); a hold must end in the future")
    if not reason.strip():
        raise ArgumentInvalid(f"--reason: a hold on {ref} needs a reason")


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise ArgumentInvalid(f"--limit: {limit} must be at least 1")


def restore_document(ref: ServiceRef, info: Mapping[str, Any]) -> dict[str, Any]:
    """The stored JSON: the caller's keys plus ``version``, proven serialisable now
    rather than when a start needs it back."""
    document = {**info, "version": RESTORE_INFO_VERSION}
    try:
        return dict(json.loads(json.dumps(document)))
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"restore info for {ref} is not plain JSON: {exc}") from exc


def readable_restore(ref: ServiceRef, document: Mapping[str, Any]) -> Mapping[str, Any]:
    """Refuse restore info written by a newer release rather than misread it."""
    version = document.get("version")
    if not isinstance(version, int) or version > RESTORE_INFO_VERSION:
        raise LedgerError(f"restore info for {ref} has version {version!r}; this release "
                          f"reads up to {RESTORE_INFO_VERSION}")
    return document


def plain_evidence(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """Evidence as the JSON the database will hold, in both stores alike: instants as
    RFC 3339, durations as seconds, enums as their values."""
    return dict(json.loads(json.dumps(dict(evidence), default=_plain)))


PLANNED_BY = "plannedBy"
"""Evidence key of a kept row reused by another process: who wrote it planned first."""


def reused_evidence(evidence: Mapping[str, Any], *, before: Mapping[str, Any] | None,
                    planner: str, actor: str) -> dict[str, Any]:
    """The evidence of a kept planned row that ``actor`` reuses (`PlannedEntry`): the row
    names ``actor``, who finishes it, and keeps who planned it first (a dead leader,
    whose untouched edge row the next leader's decision reuses) under `PLANNED_BY`."""
    plain = plain_evidence(evidence)
    first = (before or {}).get(PLANNED_BY) or planner
    if first != actor:
        plain[PLANNED_BY] = first
    return plain


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def utc(instant: datetime) -> datetime:
    """Every stored instant is aware UTC; a naive one is a caller bug, refused early."""
    if instant.tzinfo is None:
        raise LedgerError(f"naive datetime {instant.isoformat()}: the ledger needs aware instants")
    return instant.astimezone(UTC)
