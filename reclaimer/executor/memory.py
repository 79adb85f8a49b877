"""What the executor remembers between ticks, in one place behind one lock.

Four things, all of this process's term as leader (docs/design.md §5, §7):

- **kept rows**: a planned row left by a transient failure, reused by a retry of the
  same decision only. A decision's identity is its edge (one schedule edge is one
  decision, however often it is tried) or, without an edge, the instant it was decided:
  an idle verdict is a new decision each tick, with that tick's evidence. A kept row
  whose decision is not taken again is closed ``abandoned`` with the reason, never left
  ``planned`` to be picked up hours later.
- **rejections**: a permanent failure (`errors.PERMANENT`) fails its decision once. An
  edge keeps its claim in the ledger, so `decide()` does not plan it again; a decision
  without an edge (idle, manual) is remembered here and not tried again for the same
  service until ``retry_after`` has passed, or an edge of that service comes, or the
  refusal the strategy checked before acting is lifted.
- **the follow-up set**: applied rows awaiting verification, and the managed stops
  whose Stopped condition is kept asserted (`followup.FollowUp` does the I/O).
- **pending rows first seen**: when this process first saw another actor's row
  pending, by its own clock (`recover`).

Every method takes the lock once, so a change that touches several of these (a
transition applied: its kept row and rejection forgotten, its row awaited) is seen
whole by the pool's other threads, and nothing outside this class holds the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.executor.outcome import Awaiting, HeldStop
from reclaimer.model import Action, ServiceRef, Transition

ServiceKey = tuple[ServiceRef, str]
"""(service, action): at most one kept row per service (of one kind) and action."""


def service_key(t: Transition) -> ServiceKey:
    return (t.ref, t.action.value)


def decision_of(t: Transition) -> str:
    """The edge, or the instant of a decision that has none."""
    return t.edge_key if t.edge_key is not None else f"decided at {t.at.isoformat()}"


@dataclass(frozen=True)
class Kept:
    """A planned row left by a transient failure, for a retry of the same decision."""

    record_id: int
    decision: str
    edge_key: str | None


@dataclass(frozen=True)
class Stale:
    """A kept row whose decision is not taken again: close it ``abandoned`` with ``why``."""

    key: ServiceKey
    record_id: int
    why: str
    kept: Kept | None = None
    """What was kept, to keep it again when the row may not be closed now (`keep_again`)."""


@dataclass(frozen=True)
class Rejection:
    """A decision without an edge that failed permanently, not tried again for a while."""

    uid: str
    at: datetime
    error: str
    refusal: str | None = None
    """The strategy's own check before acting, when that is what failed: once it no
    longer says so (the user removed the annotation in the way), the service is tried
    again at once."""


class Memory:
    """The executor's memory between ticks; every method is thread-safe."""

    def __init__(self, *, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._kept: dict[ServiceKey, Kept] = {}
        self._rejected: dict[ServiceKey, Rejection] = {}
        self._awaiting: dict[int, Awaiting] = {}
        self._held: dict[ServiceRef, HeldStop] = {}
        self._seen: dict[int, datetime] = {}

    # Kept rows: a transient failure's planned row, for a retry of the same decision.

    def keep(self, t: Transition, record_id: int) -> None:
        with self._lock:
            self._kept[service_key(t)] = Kept(record_id, decision_of(t), t.edge_key)

    def adopt(self, key: ServiceKey, record_id: int, *, edge_key: str) -> None:
        """An earlier process's planned row of an edge, left untouched on the cluster
        (`recover`): kept like a retry, so the edge's next decision reuses the row and
        its claim instead of planning the edge a second time."""
        with self._lock:
            self._kept[key] = Kept(record_id, edge_key, edge_key)

    def reusable(self, t: Transition) -> int | None:
        """The kept row of this very decision, if any."""
        with self._lock:
            kept = self._kept.get(service_key(t))
        return kept.record_id if kept is not None and kept.decision == decision_of(t) else None

    def drop(self, t: Transition, record_id: int | None = None) -> None:
        """Forget the kept row of ``t``'s service and action (``record_id``: only that one)."""
        with self._lock:
            self._drop(service_key(t), record_id)

    def _drop(self, key: ServiceKey, record_id: int | None) -> None:
        kept = self._kept.get(key)
        if kept is not None and record_id in (None, kept.record_id):
            del self._kept[key]

    def kept_ids(self) -> frozenset[int]:
        """The planned rows kept for a retry: not for a recovery to settle."""
        with self._lock:
            return frozenset(k.record_id for k in self._kept.values())

    def retried_edge_keys(self) -> frozenset[str]:
        with self._lock:
            return frozenset(k.edge_key for k in self._kept.values() if k.edge_key is not None)

    def stale(self, decided: Sequence[Transition], *, whole_plan: bool) -> list[Stale]:
        """Kept rows that ``decided`` does not take again, removed from memory.

        ``whole_plan``: ``decided`` is a tick's whole plan (blocked entries included), so
        a kept row with no actionable entry of its decision is stale; otherwise (a
        chunk) only rows that another decision for the same service replaces."""
        acting = {service_key(t): t for t in decided if t.actionable}
        blocked = {service_key(t): t for t in decided if not t.actionable}
        found: list[Stale] = []
        with self._lock:
            for key, kept in list(self._kept.items()):
                now = acting.get(key)
                if now is not None and decision_of(now) == kept.decision:
                    continue
                if now is None and not whole_plan:
                    continue
                found.append(Stale(key, kept.record_id, _why(now, blocked.get(key)), kept))
                del self._kept[key]
        return found

    def keep_again(self, item: Stale) -> None:
        """A stale row that may not be closed yet (its closing needs cluster writes the
        guard forbids now): kept as it was, so a later tick closes it, or a new term
        forgets it and recovery settles it."""
        if item.kept is not None:
            with self._lock:
                self._kept.setdefault(item.key, item.kept)

    # Rejections: a permanent failure of a decision without an edge waits.

    def reject(self, t: Transition, rejection: Rejection) -> None:
        """Remember a permanent failure of a decision without an edge."""
        if t.edge_key is None:
            with self._lock:
                self._rejected[service_key(t)] = rejection

    def rejected(self, t: Transition, *, uid: str, at: datetime) -> Rejection | None:
        """The permanent failure that keeps ``t`` from being tried now, if any. An edge
        is always tried (it is the next edge), and clears what an earlier one left."""
        key = service_key(t)
        with self._lock:
            found = self._rejected.get(key)
            if found is None:
                return None
            if t.edge_key is not None or found.uid != uid or at - found.at >= self.retry_after:
                del self._rejected[key]
                return None
            return found

    def lift(self, refs: Iterable[Transition]) -> None:
        """The services acted on since, or whose refusal is gone: try them again."""
        with self._lock:
            for t in refs:
                self._rejected.pop(service_key(t), None)

    # The follow-up set: rows awaiting verification, managed stops kept asserted.

    def applied(self, t: Transition, item: Awaiting, *, managed_stop: bool) -> None:
        """``t`` is applied as ``item``'s row: its kept row and rejection are
        forgotten, its row awaits verification, its stop is held or released."""
        key = service_key(t)
        with self._lock:
            self._drop(key, item.record_id)
            self._rejected.pop(key, None)
            self._track(item, managed_stop=managed_stop)

    def track(self, item: Awaiting, *, managed_stop: bool) -> None:
        """Await ``item`` (a row found applied at start-up, `recover`)."""
        with self._lock:
            self._track(item, managed_stop=managed_stop)

    def _track(self, item: Awaiting, *, managed_stop: bool) -> None:
        self._awaiting[item.record_id] = item
        if item.action is Action.STOP and managed_stop:
            self._held[item.ref] = HeldStop(item.ref, item.uid, item.strategy, item.message)
        else:
            self._held.pop(item.ref, None)

    def awaiting(self) -> list[Awaiting]:
        with self._lock:
            return list(self._awaiting.values())

    def settled(self, record_id: int) -> None:
        """A row verified, failed or abandoned: no longer awaited."""
        with self._lock:
            self._awaiting.pop(record_id, None)

    def held(self) -> dict[ServiceRef, HeldStop]:
        """Managed stops kept asserted."""
        with self._lock:
            return dict(self._held)

    def hold(self, held: Mapping[ServiceRef, HeldStop]) -> None:
        """Exactly these stops are in force (the ledger's, `FollowUp.refresh_held`)."""
        with self._lock:
            self._held = dict(held)

    def release(self, ref: ServiceRef) -> None:
        """The stop of ``ref`` is no longer in place (started by hand, or gone)."""
        with self._lock:
            self._held.pop(ref, None)

    def ours(self) -> frozenset[int]:
        """Rows this process is still acting on: kept for a retry or awaited."""
        with self._lock:
            return frozenset(k.record_id for k in self._kept.values()) | self._awaiting.keys()

    # Pending rows of other actors, by this process's own clock (`recover`).

    def first_seen(self, record_id: int, *, at: datetime) -> datetime:
        """When this process first saw the row pending (``at`` if now)."""
        with self._lock:
            return self._seen.setdefault(record_id, at)

    def seen(self, record_id: int) -> bool:
        """Whether `recover` has looked at the row already."""
        with self._lock:
            return record_id in self._seen

    def forget_seen(self, live: Collection[int]) -> None:
        """Rows no longer pending are forgotten."""
        with self._lock:
            self._seen = {i: t for i, t in self._seen.items() if i in live}

    def clear(self) -> None:
        """A new term as leader: another leader may have settled what was kept or
        awaited, which `recover` reads from the ledger again, and a rejection
        remembered in an earlier term is tried again once."""
        with self._lock:
            self._kept.clear()
            self._rejected.clear()
            self._awaiting.clear()


def _why(acting: Transition | None, blocked: Transition | None) -> str:
    if acting is not None:
        return (f"superseded by the {acting.trigger.value} decision at "
                f"{acting.at.isoformat()} ({acting.reason.value})")
    if blocked is not None:
        return f"the decision was not taken again: {blocked.reason.value}: {blocked.blocked}"
    return "the decision was not taken again"
