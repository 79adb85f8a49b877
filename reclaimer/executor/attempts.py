"""Which planned row a retry may reuse, and which failed decisions wait (docs/design.md §5).

A decision's identity is its edge (one schedule edge is one decision, however often it
is tried) or, without an edge, the instant it was decided: an idle verdict is a new
decision each tick, with that tick's evidence. So a row planned for one decision is
never reused for another: a transiently failed attempt keeps its planned row for the
same decision only, and a kept row whose decision is not taken again is closed
``abandoned`` with the reason, never left ``planned`` to be picked up hours later.

A permanent failure (`errors.PERMANENT`) fails its decision once. An edge keeps its
claim in the ledger, so `decide()` does not plan it again and the next edge tries; a
decision without an edge (idle, manual) is remembered here and not tried again for the
same service until ``retry_after`` has passed, or an edge of that service comes, or the
refusal the strategy checks before acting is lifted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.model import Transition

ServiceKey = tuple[str, str, str]
"""(namespace, name, action): at most one kept row per service and action."""


def service_key(t: Transition) -> ServiceKey:
    return (t.ref.namespace, t.ref.name, t.action.value)


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


class Attempts:
    """The executor's memory between ticks; every method is thread-safe."""

    def __init__(self, *, retry_after: timedelta) -> None:
        self._lock = threading.Lock()
        self._kept: dict[ServiceKey, Kept] = {}
        self._rejected: dict[ServiceKey, Rejection] = {}
        self.retry_after = retry_after

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
        key = service_key(t)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and record_id in (None, kept.record_id):
                del self._kept[key]

    def kept_ids(self) -> frozenset[int]:
        """The planned rows kept for a retry: not for a recovery to settle."""
        with self._lock:
            return frozenset(k.record_id for k in self._kept.values())

    def clear(self) -> None:
        """A new term as leader: another leader may have settled what was kept, and a
        rejection remembered in an earlier term is tried again once."""
        with self._lock:
            self._kept.clear()
            self._rejected.clear()

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


def _why(acting: Transition | None, blocked: Transition | None) -> str:
    if acting is not None:
        return (f"superseded by the {acting.trigger.value} decision at "
                f"{acting.at.isoformat()} ({acting.reason.value})")
    if blocked is not None:
        return f"the decision was not taken again: {blocked.reason.value}: {blocked.blocked}"
    return "the decision was not taken again"
