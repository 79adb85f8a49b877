"""Carry out planned transitions: ledger first, then the API, then the outcome.

A tick's transitions go through in chunks (`ExecutorOptions.chunk_size`), each a short
pipeline: prepare every transition (read the ISVC, pick the strategy, no writes); write
the chunk's planned rows, edge claims and restore information in ONE ledger
transaction; make the API calls on the pool; mark the chunk applied in one more
transaction; Events last, once every chunk is written. So the order of docs/design.md §5/§6
holds per transition (restore info and a planned row on disk before any change, a crash
leaves planned rows that `recover` resolves), while the ledger costs two transactions
per chunk instead of three per transition, and memory stays bounded by the chunk.

The ISVC is read from the inventory's watch cache when it holds it: the PATCH carries
the copy's resourceVersion, so a stale copy gets a 409 and the transition is retried
next tick from a fresh GET; nothing newer is ever overwritten. Verification is not waited
for here: `FollowUp.run` checks everything awaiting once per tick with two LIST calls.

Errors are classed once (`errors.TRANSIENT`, `errors.PERMANENT`). Transient failures
(409, 429 beyond the inline budget, 5xx after backoff, API down) keep the planned row
for the same decision only (`memory`): a retry of that decision reuses it, a newer
decision gets its own row and the old one is closed ``abandoned`` with the reason, so
every record carries the time and evidence of the decision that acted. A permanent
failure (403, 422, a refusal) fails its decision once: one ``failed`` row, one Event.

The parts meet here and nowhere else: `prepare.Preparer` reads, `chunk.Chunk` claims,
writes and marks, `settle.Settle` closes what is not applied, `followup.FollowUp`
verifies; each gets its collaborators in its constructor, and what is remembered from
one tick to the next (kept rows, rejections, the follow-up set) is `memory.Memory`'s.

``guard`` is asked before each chunk of writes whether this process may still act (its
lease renewed within the safety margin, no SIGTERM, the tick within its budget;
docs/design.md §7); when it says no, the rest of the tick is left for the next leader's decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor as Pool
from datetime import datetime
from typing import TypeVar

from reclaimer.errors import LedgerError, Transient
from reclaimer.executor.base import Context
from reclaimer.executor.chunk import Chunk
from reclaimer.executor.followup import FollowUp
from reclaimer.executor.memory import Memory, Stale
from reclaimer.executor.outcome import (
    ExecutorOptions,
    Outcome,
    OutcomeKind,
    outcome,
)
from reclaimer.executor.partial import close_stop
from reclaimer.executor.prepare import Preparer
from reclaimer.executor.settle import Settle
from reclaimer.executor.stops_in_place import StopsInPlace
from reclaimer.kube.events import DEFERRED
from reclaimer.kube.kserve_version import KServeVersion
from reclaimer.kube.ports import CachedIsvcs, Cluster
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import Action, Reason, ServiceRef, Transition

log = logging.getLogger("reclaimer.executor")
T = TypeVar("T")
Guard = Callable[[], str | None]
"""Why this process may not write now, or None when it may."""


def always_allowed() -> str | None:
    return None


class Executor(StopsInPlace):
    """The parts and the wiring; what is remembered between ticks is `memory`'s, which
    managed stops are in place is `StopsInPlace`'s."""

    def __init__(self, cluster: Cluster, ledger: Ledger, *, actor: str,
                 options: ExecutorOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 cached: CachedIsvcs | None = None) -> None:
        """``cached``: the inventory, whose watch cache saves a GET per transition."""
        self.cluster = cluster
        self.ledger = ledger
        self.actor = actor
        self.options = options or ExecutorOptions()
        self.detected_version: KServeVersion | None = None
        """The cluster's KServe as the inventory read it; the configured one wins."""
        self.cached = cached
        self._sleep = sleep
        self.memory = Memory(retry_after=self.options.retry_rejected_after)
        self.ctx = Context(cluster=cluster, ledger=ledger, call=self.call,
                           may_write=self._may_write, actor=actor)
        self.followup = FollowUp(self.ctx, memory=self.memory,
                                 timeout=self.options.verify_timeout)
        self.settle = Settle(cluster=cluster, ledger=ledger, memory=self.memory,
                             verify_timeout=self.options.verify_timeout)
        self.guard: Guard = always_allowed

    @property
    def attempts(self) -> Memory:
        """The memory, by its older name (tests read kept rows through it)."""
        return self.memory

    def call(self, fn: Callable[[], T]) -> T:
        return self.options.retry.run(fn, sleep=self._sleep)

    def apply(self, transition: Transition, *, at: datetime) -> Outcome:
        """One transition (the CLI's manual stop and start): a chunk of one."""
        return self.apply_many([transition], at=at)[0]

    def _may_write(self) -> str | None:
        """The guard as it is set now (the service sets it after construction)."""
        return self.guard()

    def apply_many(self, transitions: Sequence[Transition], *, at: datetime,
                   pool: Pool | None = None) -> list[Outcome]:
        """Outcomes in the order of ``transitions``; API calls on ``pool`` if given."""
        stale = self.memory.stale(transitions, whole_plan=False)
        self.close_stale(stale, at=at, decided=transitions)
        unclosed = self._unclosed(stale)
        if unclosed:
            return self._after_unclosed(transitions, unclosed, at=at, pool=pool)
        chunk = self._chunk(at=at, pool=pool)
        size = self.options.chunk_size
        outcomes: list[Outcome] = []
        try:
            for start in range(0, len(transitions), size):
                why = self.guard()
                if why is not None:
                    log.warning("%d transitions not acted on: %s",
                                len(transitions) - start, why)
                    return outcomes + [outcome(t, OutcomeKind.SKIPPED, None,
                                               f"not acted on: {why}")
                                       for t in transitions[start:]]
                outcomes += chunk.run(transitions[start:start + size])
        finally:
            chunk.emit_events()
        return outcomes

    def _unclosed(self, stale: Sequence[Stale]) -> dict[ServiceRef, int]:
        """The services whose replaced row could not be closed (kept again)."""
        kept = self.memory.kept_ids()
        return {item.key[0]: item.record_id for item in stale if item.record_id in kept}

    def _after_unclosed(self, transitions: Sequence[Transition], unclosed: Mapping[
            ServiceRef, int], *, at: datetime, pool: Pool | None) -> list[Outcome]:
        """A new decision never acts over an earlier row of its service that is not
        settled (the ledger refused to close it, or the guard forbade putting it back):
        it waits for a later tick; the others act."""
        acting = [t for t in transitions if t.ref not in unclosed]
        done = iter(self.apply_many(acting, at=at, pool=pool) if acting else [])
        return [next(done) if t.ref not in unclosed else outcome(
            t, OutcomeKind.SKIPPED, None, f"not acted on: its earlier planned row "
            f"{unclosed[t.ref]} is not settled yet") for t in transitions]

    def _chunk(self, *, at: datetime, pool: Pool | None) -> Chunk:
        prepare = Preparer(self.ctx, memory=self.memory, settle=self.settle,
                           options=self.options, cached=self.cached,
                           kserve_version=self.kserve_version)
        return Chunk(self.ctx, prepare=prepare, settle=self.settle, actor=self.actor, at=at,
                     pool=pool)

    def follow_up(self, *, at: datetime) -> list[Outcome]:
        """Verify what is awaited and re-assert the stops held: once per tick."""
        return self.followup.run(at=at)

    def starts_in_flight(self) -> int:
        """Starts applied and not yet verified (``maxConcurrentStarts`` counts them)."""
        return sum(1 for item in self.memory.awaiting() if item.action is Action.START)

    def settling(self) -> frozenset[ServiceRef]:
        """Services whose change this process is still following up: held or awaited."""
        return frozenset({*self.memory.held(), *(a.ref for a in self.memory.awaiting())})

    def begin_term(self) -> None:
        """Leadership (re)gained: rows kept for a retry or awaiting verification in an
        earlier term may have been settled by another leader since; `recover` reads
        them from the ledger again."""
        self.memory.clear()

    def apply_all(self, transitions: Iterable[Transition], *, at: datetime) -> list[Outcome]:
        """A plan's entries: actionable ones applied, busy-deferred ones announced.

        Other blocked entries (held, dry run, breaker) are recorded by the caller with
        ``ledger.record_blocked`` and touch nothing here.
        """
        entries = list(transitions)
        outcomes = self.apply_many([t for t in entries if t.actionable], at=at)
        for transition in entries:
            if not transition.actionable:
                self.announce_blocked(transition, at=at)
        return outcomes

    def announce_blocked(self, transition: Transition, *, at: datetime) -> bool:
        """A Deferred Event for a stop put off because the service is busy (docs/design.md §3.4).

        Repeats each tick fold into one Event with a count; other blocked entries (held,
        dry run, breaker) are only in the ledger. True when an Event was emitted.
        """
        if transition.reason is not Reason.DEFERRED_BUSY:
            return False
        message = (f"stop deferred: {transition.blocked or 'busy'} "
                   f"(policy {transition.policy or '-'})")
        self.cluster.emit_event(transition.ref, transition.uid, reason=DEFERRED,
                                message=message, warning=False, at=at)
        return True

    def settle_retries(self, decided: Sequence[Transition], *, at: datetime) -> list[Outcome]:
        """Close the kept rows whose decision this tick's plan (``decided``: every entry,
        blocked and missed ones included) does not take again: superseded, satisfied,
        held, deferred, or no longer decided at all. Before the plan's blocked entries
        are recorded, so those claim their edge instead of finding it taken."""
        return self.close_stale(self.memory.stale(decided, whole_plan=True), at=at,
                                decided=decided)

    def close_stale(self, stale: Sequence[Stale], *, at: datetime,
                    decided: Sequence[Transition] = ()) -> list[Outcome]:
        """A kept stop row closed while no stop of that service is ``decided`` now may
        have begun a managed stop: `partial.close_stop` puts it back (a stop decided
        now finishes it instead, resuming from its restore information; but a stop
        that failed and is still being put back is put back and recorded first, so the
        new decision acts on a settled service). Closing any row is a write: when the
        guard forbids it (lease past its margin, SIGTERM, a schema another release
        migrated), the row stays kept for a later tick, or the next term's recovery; so
        it does when putting back fails transiently (DESIGN §5: a 409 storm is retried, never a
        terminal row over a half-stopped service)."""
        stopping = {t.ref: t.uid for t in decided if t.actionable and t.action is Action.STOP}
        closed = []
        for item in stale:
            if (done := self._close_kept(item, at=at, stopping=stopping)) is not None:
                closed.append(done)
        return closed

    def _close_kept(self, item: Stale, *, at: datetime,
                    stopping: Mapping[ServiceRef, str]) -> Outcome | None:
        """One kept row of `close_stale` closed, or None when it is kept again for a
        later tick (the guard forbids putting back now, or closing failed transiently)."""
        ref, action = item.key
        kind, why = OutcomeKind.ABANDONED, item.why
        undo = action == Action.STOP.value
        if (not_now := self.guard()) is not None:
            log.warning("kept row %d of %s not closed now: %s", item.record_id, ref,
                        not_now)
            self.memory.keep_again(item)
            return None
        try:
            if undo:
                done = close_stop(self.ctx, item.record_id, ref, why=item.why, at=at,
                                  stopping=stopping.get(ref))
                kind, why = (OutcomeKind.FAILED if done.failed else kind), done.error
            else:
                self.ledger.mark_abandoned(item.record_id, at=at, error=item.why)
        except (LedgerError, Transient) as exc:  # a later tick closes it (puts back)
            log.warning("kept row %d of %s not closed now: %s", item.record_id, ref, exc)
            self.memory.keep_again(item)
            return None
        log.info("%s %s: planned row %d %s (%s)", action, ref, item.record_id,
                 kind.value, why)
        return Outcome(ref=ref, action=Action(action), kind=kind,
                       record_id=item.record_id, message=why)

    @property
    def kserve_version(self) -> KServeVersion | None:
        return self.options.kserve_version or self.detected_version

    def retried_edge_keys(self) -> frozenset[str]:
        """Edges claimed by a planned row that a transient failure left for a retry.

        The ledger counts a claimed edge as done, so `decide()` would never plan it
        again and the stop or start would be lost; the loop hides these claims from its
        view, the edge is planned again (holds and newer edges still apply), and the
        retry reuses its planned row, or `settle_retries` closes it."""
        return self.memory.retried_edge_keys()

    def retried_record_ids(self) -> frozenset[int]:
        """Planned rows this process keeps for a retry: not for `recover` to settle."""
        return self.memory.kept_ids()
