"""A watch-backed cache of one resource: LIST once, then WATCH, re-LIST periodically.

The reconcile loop reads the cache, so a tick costs no API calls at all; the cache
itself costs one LIST at start, one long-lived WATCH, and one LIST per resync (and after
a watch expires with 410 Gone). `calls` on the `Rest` client counts all of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from reclaimer.errors import ClusterError
from reclaimer.kube import rest

log = logging.getLogger("reclaimer.kube.cache")
Obj = dict[str, Any]
T = TypeVar("T")
STOP_WAIT = 0.05
"""Seconds `WatchCache.stop` waits for its thread (see there)."""


def uid_key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or name_key(obj))


def name_key(obj: Obj) -> str:
    """``namespace/name``: lets a reader look one object up by name."""
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def whole(obj: Obj) -> Obj:
    return obj


class WatchThread(threading.Thread):
    """The thread of one started `WatchCache`, with the flag that tells it to end.

    Each start gets its own thread and flag, so a cache started again after a stop (a
    kind whose CRD came back) watches again while the old thread, still in its long
    poll, ends on the old flag. ``stopping`` also lets a caller (the test suite) tell a
    thread still asked to watch from one that is merely finishing its last read."""

    def __init__(self, run: Callable[[threading.Event], None], *, name: str) -> None:
        self.stopping = threading.Event()
        super().__init__(target=run, args=(self.stopping,), daemon=True, name=name)


class WatchCache(Generic[T]):
    def __init__(self, client: rest.Rest, kind: rest.Kind, *,  # noqa: PLR0913 - one cache's knobs
                 trim: Callable[[Obj], T], label_selector: str | None = None,
                 resync_every: float = 300.0, watch_timeout: int = 60,
                 monotonic: Callable[[], float] = time.monotonic, retry_wait: float = 1.0,
                 key: Callable[[Obj], str] = uid_key, namespace: str | None = None) -> None:
        """``trim`` turns each object into what the reader needs (`whole`: all of it)
        before it is kept; ``key`` names an object in the cache (`get`); ``namespace``
        limits the LIST and WATCH to one namespace (None: cluster-wide)."""
        self.rest = client
        self._trim = trim
        self._key = key
        self.page_size = 500
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.resync_every = resync_every
        self.watch_timeout = watch_timeout
        self.retry_wait = retry_wait
        self._monotonic = monotonic
        self._items: dict[str, T] = {}
        self._version = ""
        self._listed_at = 0.0
        self._lock = threading.Lock()
        self._thread: WatchThread | None = None
        self.changed = threading.Event()

    def items(self) -> list[T]:
        with self._lock:
            return list(self._items.values())

    def get(self, key: str) -> T | None:
        """One entry by its cache key, as kept; never mutate it."""
        with self._lock:
            return self._items.get(key)

    def resync(self) -> None:
        """Replace the cache with a fresh LIST; raises a ClusterError if it fails.

        The LIST is read in pages of ``page_size`` and each page trimmed before the next
        is fetched, so 10,000 whole objects are never in memory at once.
        """
        items: dict[str, T] = {}
        token: str | None = None
        while True:
            page = self.rest.list(self.kind, self.namespace,
                                  label_selector=self.label_selector,
                                  limit=self.page_size, continue_token=token)
            items.update((self._key(o), self._trim(o)) for o in page.get("items") or [])
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if token is None:
                break
        with self._lock:
            self._items = items
            self._version = str(meta.get("resourceVersion", ""))
            self._listed_at = self._monotonic()
        self.changed.set()

    def start(self) -> None:
        """LIST, then WATCH on a thread of its own (a thread already watching is stopped)."""
        self.resync()
        self.stop()
        self._thread = WatchThread(self._run,
                                   name=f"watch-{self.kind.plural}-{self.namespace or '*'}")
        self._thread.start()

    def stop(self) -> None:
        """Ask the watch thread to end; wait only briefly. The thread is a daemon that is
        usually blocked in a long-poll read, which ends at its own timeout and then sees the
        flag: waiting for it gains nothing, and an inventory with three kinds in several
        namespaces would otherwise wait half a second per cache on every stop."""
        if self._thread is not None:
            self._thread.stopping.set()
            self._thread.join(timeout=STOP_WAIT)

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                if self._monotonic() - self._listed_at >= self.resync_every:
                    self.resync()
                self._watch_once(stopping)
            except ClusterError as exc:
                if stopping.is_set():
                    return
                log.warning("watch on %s failed, re-listing: %s", self.kind.plural, exc)
                stopping.wait(self.retry_wait)
                self._relist_quietly()

    def _relist_quietly(self) -> None:
        try:
            self.resync()
        except ClusterError as exc:
            log.warning("re-list of %s failed: %s", self.kind.plural, exc)

    def _watch_once(self, stopping: threading.Event) -> None:
        with self._lock:
            version = self._version
        for event in self.rest.watch(self.kind, namespace=self.namespace,
                                     resource_version=version,
                                     timeout_seconds=self.watch_timeout,
                                     label_selector=self.label_selector):
            if stopping.is_set():
                return
            if not self._apply(event):
                self.resync()
                return

    def _apply(self, event: Obj) -> bool:
        """Fold one event into the cache; False when the watch must restart from a LIST."""
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            return False
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        with self._lock:
            if kind in ("ADDED", "MODIFIED"):
                self._items[self._key(obj)] = self._trim(obj)
            elif kind == "DELETED":
                self._items.pop(self._key(obj), None)
            self._version = version or self._version
        self.changed.set()
        return True
