"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules.

- A candidate takes the lease only when it is free or its record has not changed for
  ``lease_duration`` by the candidate's own monotonic clock (client-go compares the
  time it *observed* a change, never the holder's ``renewTime``, so clock skew between
  replicas cannot hand the lease out early).
- The holder renews every ``retry_period``; if it cannot renew for ``renew_deadline`` it
  stops acting. ``renew_deadline`` < ``lease_duration``, so the old leader has stopped
  before anyone else may start: no double actions.
- Writes carry the resourceVersion just read, so two candidates racing for a free lease
  get one success and one 409.
- Acting needs more than holding: `valid_for` says how long this holder may still
  write, counting from its last successful renewal a window of ``lease_duration -
  renew_deadline``, so a chunk started inside it ends (within ``renew_deadline``)
  before a standby could have taken the lease over (DESIGN §7).
- Each gain of the lease starts a new ``term`` (``term_started_at`` by the caller's
  clock): recovery and GPU-hour counting start again from it.
- `run` only renews; the caller releases the lease after its last write is recorded.

Defaults 15 s / 10 s / 2 s are client-go's. Holder identity is the pod name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reclaimer.config import LeaderElectionSettings
from reclaimer.errors import ClusterError, ConfigInvalid, NotFound
from reclaimer.kube import rest

log = logging.getLogger("reclaimer.lease")
Obj = dict[str, Any]


@dataclass(frozen=True)
class LeaseSettings:
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.identity:
            raise ConfigInvalid(key="leaderElection.identity",
                                message="empty; set it to the pod name")
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ConfigInvalid(key="leaderElection.renewDeadline",
                                message="need 0 < retryPeriod < renewDeadline < leaseDuration")


def lease_settings(config: LeaderElectionSettings, *, pod_name: str) -> LeaseSettings:
    """From the service config; identity defaults to the pod name (``POD_NAME``/hostname)."""
    return LeaseSettings(namespace=config.namespace, name=config.name,
                         identity=config.identity or pod_name,
                         lease_duration=config.lease_duration.total_seconds(),
                         renew_deadline=config.renew_deadline.total_seconds(),
                         retry_period=config.retry_period.total_seconds())


def _micro_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _after(now: datetime, previous: object) -> datetime:
    """A renewTime always later than the last one, so every renewal changes the record
    a standby watches, even when this clock stands still or stepped back (a standby
    that saw the same record for ``lease_duration`` would take a live lease)."""
    try:
        last = datetime.strptime(str(previous), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return now
    return max(now, last + timedelta(microseconds=1))


class LeaderElector:
    def __init__(self, client: rest.Rest, settings: LeaseSettings, *,
                 now: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rest = client
        self.settings = settings
        self._now = now
        self._monotonic = monotonic
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0
        self._renewed_at: float | None = None
        self._lock = threading.Lock()
        self.term = 0
        self.term_started_at: datetime | None = None

    def is_leader(self) -> bool:
        with self._lock:
            renewed = self._renewed_at
        return renewed is not None and (
            self._monotonic() - renewed < self.settings.renew_deadline)

    def valid_for(self) -> float:
        """Seconds this holder may still start writes: 0 when it may not."""
        with self._lock:
            renewed = self._renewed_at
        if renewed is None:
            return 0.0
        margin = self.settings.lease_duration - self.settings.renew_deadline
        return max(renewed + margin - self._monotonic(), 0.0)

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this replica holds the lease afterwards."""
        started = self._monotonic()
        try:
            won = self._attempt()
        except ClusterError as exc:
            log.info("lease %s: %s", self.settings.name, exc)
            won = False
        if won:
            gained = not self.is_leader()
            with self._lock:
                self._renewed_at = started
                if gained:
                    self.term += 1
                    self.term_started_at = self._now()
            if gained:
                log.info("lease %s acquired: leader term %d", self.settings.name, self.term)
        return won and self.is_leader()

    def _attempt(self) -> bool:
        s = self.settings
        try:
            lease = self.rest.get(rest.LEASE, s.namespace, s.name)
        except NotFound:
            self.rest.create(rest.LEASE, s.namespace, self._body(None))
            return True
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        self._observe(holder, str(spec.get("renewTime") or ""))
        expired = self._monotonic() - self._observed_at >= s.lease_duration
        if holder and holder != s.identity and not expired:
            return False
        self.rest.replace(rest.LEASE, s.namespace, s.name, self._body(lease))
        return True

    def _observe(self, holder: str, renew_time: str) -> None:
        record = (holder, renew_time)
        if record != self._observed:
            self._observed = record
            self._observed_at = self._monotonic()

    def _body(self, lease: Obj | None) -> Obj:
        s = self.settings
        spec = dict((lease or {}).get("spec") or {})
        now = _micro_time(_after(self._now(), spec.get("renewTime")))
        changing = spec.get("holderIdentity") != s.identity
        spec.update({"holderIdentity": s.identity, "leaseDurationSeconds":
                     int(s.lease_duration), "renewTime": now})
        if changing:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (
                1 if lease is not None else 0)
        meta: Obj = {"name": s.name, "namespace": s.namespace}
        if lease is not None:
            meta["resourceVersion"] = lease["metadata"]["resourceVersion"]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": spec}

    def release(self) -> None:
        """Give the lease up on shutdown so a successor need not wait out the duration."""
        if not self.is_leader():
            return
        s = self.settings
        with self._lock:
            self._renewed_at = None
        try:
            lease = self.rest.get(rest.LEASE, s.namespace, s.name)
            if (lease.get("spec") or {}).get("holderIdentity") == s.identity:
                lease["spec"]["holderIdentity"] = ""
                self.rest.replace(rest.LEASE, s.namespace, s.name, lease)
        except ClusterError as exc:
            log.info("lease %s not released: %s", s.name, exc)

    def run(self, stop: threading.Event) -> None:
        """Renew (or try to acquire) every ``retry_period`` until ``stop`` is set; the
        caller releases once its tick in flight is recorded (`release`)."""
        while not stop.is_set():
            self.try_acquire_or_renew()
            stop.wait(self.settings.retry_period)
