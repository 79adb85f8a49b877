"""Watch events: a bounded history for resuming, and per-subscriber queues for live ones.

The history is what lets a client resume a watch from a resourceVersion; once an
event has fallen out of it, resuming from before it is 410 Gone, as with etcd
compaction.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from kubesandbox.jsoncopy import deep_copy
from kubesandbox.types import ResourceType

Obj = dict[str, Any]


@dataclass(frozen=True)
class WatchEvent:
    """One change. ``object`` is shared with the store and must not be mutated;
    ``Subscription.get`` hands out copies."""

    type: str
    rtype: ResourceType
    object: Obj
    resource_version: int
    old_object: Obj | None = None

    @property
    def namespace(self) -> str | None:
        ns = self.object.get("metadata", {}).get("namespace")
        return ns if isinstance(ns, str) else None

    def copy(self) -> WatchEvent:
        return WatchEvent(self.type, self.rtype, deep_copy(self.object),
                          self.resource_version,
                          None if self.old_object is None else deep_copy(self.old_object))


class Subscription:
    """Every event after the moment of subscribing, in order, until closed."""

    def __init__(self, log: EventLog, backlog: list[WatchEvent]) -> None:
        self._log = log
        self._queue: queue.SimpleQueue[WatchEvent | None] = queue.SimpleQueue()
        for event in backlog:
            self._queue.put(event)
        self.closed = False

    def put(self, event: WatchEvent | None) -> None:
        self._queue.put(event)

    def get_shared(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event without copying; for the HTTP layer, which only serialises."""
        if self.closed:
            return None
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event (a private copy), or None on timeout or once closed."""
        event = self.get_shared(timeout)
        return None if event is None else event.copy()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._log.unsubscribe(self)
            self._queue.put(None)


class EventLog:
    """Bounded history plus fan-out; callers hold the store lock when appending."""

    def __init__(self, history: int) -> None:
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._subs: list[Subscription] = []
        self._subs_lock = threading.Lock()
        self.compacted_rv = 0

    def append(self, event: WatchEvent) -> None:
        if len(self._history) == self._history.maxlen and self._history:
            self.compacted_rv = self._history[0].resource_version
        self._history.append(event)
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            sub.put(event)

    def subscribe(self, since: int | None = None) -> Subscription:
        """Subscribe; with ``since``, first replay the retained events after it.

        Raises LookupError when events after ``since`` were already dropped.
        """
        backlog: list[WatchEvent] = []
        if since is not None:
            if since < self.compacted_rv:
                raise LookupError(since)
            backlog = [e for e in self._history if e.resource_version > since]
        sub = Subscription(self, backlog)
        with self._subs_lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._subs_lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def subscriber_count(self) -> int:
        with self._subs_lock:
            return len(self._subs)

    def close_all(self) -> None:
        with self._subs_lock:
            subs = list(self._subs)
        for sub in subs:
            sub.close()
