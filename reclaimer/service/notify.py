"""StopPlanned notices: the Event on the ISVC, and the webhook sinks (issue 19).

`Announcer.announce` runs inside the tick and does only quick things: it claims the
notice in the ledger (once per planned stop, across restarts and replicas; only the
leader ticks), writes the ``StopPlanned`` Event, and queues one delivery per sink.
`Notifier` delivers on its own thread, retrying with doubling backoff; a sink that is
down costs a metric and a log line, never a tick's time and never an action. Nothing
is written to the ISVC itself (an annotation would roll its pods, docs/design.md §3.8).

The generic body (docs/owners.md):

    {"kind": "StopPlanned", "service": "team-a/llama", "namespace": "team-a",
     "name": "llama", "action": "stop", "at": "2026-01-12T18:00:00+00:00",
     "trigger": "schedule", "reason": "...", "policy": "team-a/office",
     "snoozeUrl": "https://reclaimer.example/v1/namespaces/team-a/inferenceservices/llama:snooze"}
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from prometheus_client import CollectorRegistry, Counter

from reclaimer.ledger.records import NoticeRecord
from reclaimer.model import ServiceRef
from reclaimer.policy.notices import PlannedStop
from reclaimer.service.notify_config import NotifySettings, Sink

log = logging.getLogger("reclaimer.notify")
STOP_PLANNED = "StopPlanned"
QUEUE_SIZE = 1000


def snooze_url(base: str | None, ref: ServiceRef) -> str | None:
    if not base:
        return None
    return (f"{base.rstrip('/')}/v1/namespaces/{quote(ref.namespace)}/inferenceservices/"
            f"{quote(ref.name)}:snooze")


def body(stop: PlannedStop, *, fmt: str, snooze: str | None) -> dict[str, Any]:
    """The JSON a sink receives, by its ``format``."""
    generic = {"kind": STOP_PLANNED, "service": str(stop.ref), "namespace": stop.ref.namespace,
               "name": stop.ref.name, "action": "stop", "at": stop.at.isoformat(),
               "trigger": stop.trigger.value, "reason": stop.reason, "policy": stop.policy,
               "snoozeUrl": snooze}
    if fmt == "generic":
        return generic
    text = message(stop, snooze=snooze)
    if fmt == "slack":
        return {"text": text}
    return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
            "summary": f"{stop.ref} stops at {stop.at.isoformat()}", "text": text}


def message(stop: PlannedStop, *, snooze: str | None) -> str:
    how = (f"snooze: POST {snooze}?until=<RFC 3339>" if snooze
           else f"snooze: reclaimer hold {stop.ref} --until <time>")
    return f"{stop.ref} will be stopped at {stop.at.isoformat()}: {stop.reason}; {how}"


class EventSink(Protocol):
    def emit_event(self, ref: ServiceRef, uid: str, *, reason: str, message: str,
                   warning: bool, at: datetime) -> None: ...


class NoticeLedger(Protocol):
    def record_notice(self, notice: NoticeRecord) -> bool: ...


@dataclass(frozen=True)
class Delivery:
    sink: Sink
    payload: Mapping[str, Any]
    ref: ServiceRef


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter("reclaimer_notifications",
                            "Notifications by sink and outcome (delivered, failed, dropped).",
                            ["sink", "outcome"], registry=registry)
        self.planned = Counter("reclaimer_stop_planned_notices",
                               "StopPlanned notices announced, by trigger.", ["trigger"],
                               registry=registry)


Post = Callable[[str, bytes, float], int]


def post_json(url: str, data: bytes, timeout: float) -> int:
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


class Notifier:
    """One background thread and queue per sink, so a dead sink's retries never hold
    back another sink's notices; `submit` never blocks."""

    def __init__(self, settings: NotifySettings, metrics: NotifyMetrics, *,
                 post: Post = post_json) -> None:
        self.settings = settings
        self.metrics = metrics
        self._post = post
        self._stop = threading.Event()
        self._queues: dict[str, queue.Queue[Delivery | None]] = {
            sink.name: queue.Queue(maxsize=QUEUE_SIZE) for sink in settings.sinks}
        self._threads = [threading.Thread(target=self._run, args=(q,), daemon=True,
                                          name=f"reclaimer-notify-{name}")
                         for name, q in self._queues.items()]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, *, timeout: float = 5.0) -> None:
        self._stop.set()
        for each in self._queues.values():
            each.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout)

    def submit(self, delivery: Delivery) -> None:
        try:
            self._queues[delivery.sink.name].put_nowait(delivery)
        except queue.Full:
            self.metrics.sent.labels(sink=delivery.sink.name, outcome="dropped").inc()
            log.warning("notice for %s to sink %s dropped: queue full", delivery.ref,
                        delivery.sink.name)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery is done (tests, shutdown)."""
        done = threading.Event()

        def join() -> None:
            for each in self._queues.values():
                each.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    def _run(self, deliveries: queue.Queue[Delivery | None]) -> None:
        while True:
            delivery = deliveries.get()
            try:
                if delivery is None:
                    return
                self._deliver(delivery)
            finally:
                deliveries.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        data = json.dumps(dict(delivery.payload)).encode()
        wait, error = self.settings.backoff.total_seconds(), ""
        for attempt in range(self.settings.retries + 1):
            if attempt and self._stop.wait(wait * 2 ** (attempt - 1)):
                break
            try:
                status = self._post(delivery.sink.url, data, self.settings.timeout.total_seconds())
            except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts
                error = str(exc)
                continue
            if 200 <= status < 300:
                self.metrics.sent.labels(sink=delivery.sink.name, outcome="delivered").inc()
                return
            error = f"HTTP {status}"
        self.metrics.sent.labels(sink=delivery.sink.name, outcome="failed").inc()
        log.warning("notice for %s to sink %s failed after %d attempts: %s", delivery.ref,
                    delivery.sink.name, self.settings.retries + 1, error)


class Announcer:
    """Claim, Event, queue: what the tick does for each due `PlannedStop`."""

    def __init__(self, ledger: NoticeLedger, events: EventSink, notifier: Notifier, *,
                 api_url: str | None = None) -> None:
        self.ledger = ledger
        self.events = events
        self.notifier = notifier
        self.api_url = api_url

    def announce(self, stop: PlannedStop, *, at: datetime) -> bool:
        """False when the notice was already sent (the ledger holds its key)."""
        record = NoticeRecord(key=stop.key, ref=stop.ref, uid=stop.uid, policy=stop.policy,
                              trigger=stop.trigger, at=stop.at, sent_at=at)
        if not self.ledger.record_notice(record):
            return False
        snooze = snooze_url(self.api_url, stop.ref)
        self.events.emit_event(stop.ref, stop.uid, reason=STOP_PLANNED,
                               message=message(stop, snooze=snooze), warning=False, at=at)
        self.notifier.metrics.planned.labels(trigger=stop.trigger.value).inc()
        settings = self.notifier.settings
        for name in settings.unknown_sinks(stop.sinks):
            log.warning("policy %s names notify sink %r, which is not configured",
                        stop.policy, name)
        for sink in settings.for_policy(stop.sinks):
            self.notifier.submit(Delivery(sink=sink, ref=stop.ref,
                                          payload=body(stop, fmt=sink.format, snooze=snooze)))
        log.info("stop of %s planned at %s announced", stop.ref, stop.at.isoformat())
        return True

