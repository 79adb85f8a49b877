"""What a leader does at the start of each term and before each chunk of writes (DESIGN §7).

- `WriteGuard` is the executor's ``guard``: no write starts once SIGTERM arrived, once
  the lease was not renewed within its safety margin (``leaseDuration − renewDeadline``),
  or once the tick has spent its budget (``leaseDuration − retryPeriod``), so
  a tick slowed by Prometheus, retries or LISTs never writes after a standby took over.
- `TermKeeper` notices a new term before a tick: the executor forgets rows it kept from
  an earlier term, GPU-hours count from the term's start (never the gap while another
  replica led), and `recover` settles what earlier terms and processes left pending,
  again on later ticks for rows another process may still have been writing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from reclaimer.errors import ClusterError, LedgerError, Refused
from reclaimer.executor.recover import Recovered, recover_pending
from reclaimer.service.loop import Reconciler
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.scheduler import Leadership

log = logging.getLogger("reclaimer.service")
UNREADABLE_RETRY = timedelta(minutes=10)
"""How often, within a term, a pending row whose InferenceService could not be read (a
403: outside watchNamespaces, an admission policy) is tried again. A single replica's
term is its life, so once a term would leave it until a restart; every tick would
LIST every ISVC every tick for it."""


def _any_schema() -> str | None:
    return None


class WriteGuard:
    def __init__(self, leadership: Leadership, *, stopping: threading.Event, budget: float,
                 metrics: ServiceMetrics,
                 monotonic: Callable[[], float] = time.monotonic,
                 schema: Callable[[], str | None] = _any_schema) -> None:
        """``schema`` is the ledger's `schema_refusal`: read when each tick begins."""
        self._leadership = leadership
        self._stopping = stopping
        self._budget = budget
        self._metrics = metrics
        self._monotonic = monotonic
        self._tick_started = monotonic()
        self._refused: str | None = None
        self._schema = SchemaWatch(schema)

    @property
    def schema_refusal(self) -> str | None:
        """The last tick's answer about the ledger's schema (readiness says it)."""
        return self._schema.refusal

    def begin_tick(self) -> None:
        self._tick_started = self._monotonic()
        self._refused = None
        self._schema.begin_tick()

    def __call__(self) -> str | None:
        """Why no write may start now, or None. A refusal holds until the next tick: a
        renewal that comes late, in the same term, must not let the tick write what
        follows a chunk it could not write (a later edge applied over missed ones the
        fence kept out of the ledger would end their search for good)."""
        if self._refused is None:
            self._refused = self._why_not()
        return self._refused

    def _why_not(self) -> str | None:
        if self._stopping.is_set():
            return "shutting down (SIGTERM)"
        left = self._leadership.valid_for()
        if math.isfinite(left):
            self._metrics.lease_time_left.set(left)
        if left <= 0:
            return "the leader lease was not renewed within its safety margin"
        if self._monotonic() - self._tick_started > self._budget:
            return f"the tick spent its {self._budget:g} s budget"
        return self._schema.refusal


class SchemaWatch:
    """The ledger's schema, read when a tick begins: a rolling upgrade migrates it
    under a leader running the older release, which must then write nothing
    (`schema_check.schema_refusal`). Not at the tick's first write: a migration that
    changed what this release reads fails the tick before any write, and readiness
    and the log must still say why; the writes that follow are fenced again in their
    own transactions (`store.SqlLedger._writing`). Said once when it starts and once
    when it ends, not at every tick."""

    def __init__(self, read: Callable[[], str | None]) -> None:
        self._read = read
        self.refusal: str | None = None

    def begin_tick(self) -> None:
        before, self.refusal = self.refusal, self._read()
        if self.refusal is not None and self.refusal != before:
            log.error("no writes: %s", self.refusal)
        elif self.refusal is None and before is not None:
            log.info("the ledger's schema is this release's again: writing again")


class TermKeeper:
    def __init__(self, reconciler: Reconciler, leadership: Leadership, *,
                 in_flight: timedelta, metrics: ServiceMetrics | None = None) -> None:
        self._reconciler = reconciler
        self._leadership = leadership
        self._in_flight = in_flight
        self._term: int | None = None
        self._recovery_due = False
        self._unreadable: dict[int, datetime] = {}
        """Rows whose service could not be read: the pass that last tried, by ``now``."""
        if metrics is not None:
            metrics.pending_unreadable.set_function(self._unreadable_now)

    def _unreadable_now(self) -> float:
        """Read at each scrape: only the leader settles rows, so only it counts them; a
        replica that lost the lease stops ticking, and its last count would stay beside
        the new leader's for as long as it lives."""
        return len(self._unreadable) if self._leadership.is_leader() else 0

    def before_tick(self, now: datetime) -> None:
        executor = self._reconciler.parts.executor
        term = self._leadership.term
        if term != self._term:
            self._term = term
            executor.begin_term()
            self._reconciler.begin_term(self._leadership.term_started_at or now)
            self._recovery_due, self._unreadable = True, {}
            log.info("leader term %d begins", term)
        if self._recovery_due:
            self._recovery_due = self._recover(now).stopped
        elif self._others_pending(now):
            try:
                self._recover(now)
            except (ClusterError, LedgerError, Refused) as exc:
                log.warning("pending rows of other processes not reconciled this tick "
                            "(the next tick tries again): %s", exc)

    def _recover(self, now: datetime) -> Recovered:
        """One pass. At a term's start a failure fails the tick (nothing acts before
        a pass has looked at what the last leader left), until one pass ran whole;
        the rows it left in flight (another process still writing them, a CLI waiting
        on its row for up to a day) are then found like any other process's. Later in
        the term a failure is logged and the tick goes on, as it did before those rows
        were looked for: one of them (a LIST that got a 500, a row its CLI moved
        meanwhile) must not cost every service its tick."""
        found = recover_pending(self._reconciler.parts.executor, at=now,
                                in_flight=self._in_flight, waiting={
                                    i for i in self._unreadable if self._waiting(i, now)})
        self._note_unreadable(found, now=now)
        if found.outcomes or found.left or found.unreadable:
            log.info("reconciled %d pending ledger rows, %d left for a later tick, %d "
                     "whose service cannot be read", len(found.outcomes), found.left,
                     len(found.unreadable))
        return found

    def _note_unreadable(self, found: Recovered, *, now: datetime) -> None:
        """Each row whose service could not be read is said once (a warning), then
        tried again every `UNREADABLE_RETRY`; a pass forgets the rows it settled. One
        it did not read (the guard stopped it, or every row was in flight again by a
        clock set back behind this process's first sight of them) keeps its last try."""
        for row_id, why in found.unreadable.items():
            if row_id not in self._unreadable:
                log.warning("pending row %d left: its InferenceService cannot be read (%s); "
                            "tried again every %d min", row_id, why,
                            UNREADABLE_RETRY // timedelta(minutes=1))
        settled = {o.record_id for o in found.outcomes}
        earlier = {i: t for i, t in self._unreadable.items() if i not in settled}
        self._unreadable = {**earlier, **dict.fromkeys(found.unreadable, now)}

    def _others_pending(self, now: datetime) -> bool:
        """A row another process left pending during this term (a `reclaimer start`
        cut off, an owner's stop through the API that nobody else verifies): one ledger
        read per tick, and recovery (with its LIST) only when there is one. A single
        replica has one term for its whole life; without this such a row would stay
        pending until the process restarts. A row whose service could not be read
        counts again `UNREADABLE_RETRY` after the pass that tried (or once the clock
        is behind that pass)."""
        executor = self._reconciler.parts.executor
        ours = executor.memory.ours()
        pending = {r.id for r in executor.ledger.pending() if r.id not in ours}
        self._unreadable = {i: t for i, t in self._unreadable.items() if i in pending}
        return any(not self._waiting(row_id, now) for row_id in pending)

    def _waiting(self, row_id: int, now: datetime) -> bool:
        tried = self._unreadable.get(row_id)
        return tried is not None and tried <= now < tried + UNREADABLE_RETRY

