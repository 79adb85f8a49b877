"""Streaming a watch: JSON lines ``{"type": ..., "object": ...}`` in HTTP chunks.

As the real server: a watch from a resourceVersion too old for the retained history
answers 200 and then one ERROR event carrying a 410 Expired Status (client-go and the
Python client turn that into a relist); an object leaving a selector is sent as
DELETED and one entering it as ADDED; bookmarks carry the resourceVersion of the last
event this watch has consumed, so resuming from a bookmark never skips an event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from kubesandbox import printers
from kubesandbox.apierror import ApiError
from kubesandbox.events import Subscription, WatchEvent
from kubesandbox.handlers import ENCODED, Request, as_table, with_version
from kubesandbox.routing import Route
from kubesandbox.store import Store

Obj = dict[str, Any]
Write = Callable[[bytes], None]
POLL = 0.2


def _line(kind: str, obj: Obj) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


class WatchStream:
    """One client's watch; ``run`` returns when it times out, the client goes away, or
    the server stops."""

    def __init__(self, store: Store, route: Route, req: Request, *, stop: threading.Event,
                 bookmark_interval: float) -> None:
        self.store, self.route, self.stop = store, route, stop
        fields = req.query.get("fieldSelector")
        if route.name:
            fields = ",".join(filter(None, [fields, f"metadata.name={route.name}"]))
        self.labels, self.fields = req.query.get("labelSelector"), fields
        self.match = store.matcher(route.rtype, self.labels, fields)
        self.resource_version = req.query.get("resourceVersion")
        timeout = req.int_param("timeoutSeconds")
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.bookmarks = req.flag("allowWatchBookmarks")
        self.req = req
        self.table = printers.wants_table(req.headers.get("accept", ""))
        self.sent_headers = False
        self.bookmark_interval = bookmark_interval
        self.items: list[Obj] = []
        self.sub: Subscription | None = None
        self.last_rv = 0
        self.expired: ApiError | None = None

    def open(self) -> None:
        """Subscribe before the response starts, so a watcher that has its 200 is
        already subscribed. A bad resourceVersion raises (an HTTP error); a too-old one
        becomes the ERROR event, as on the real server."""
        try:
            self.items, self.sub, self.last_rv = self.store.open_watch(
                self.route.rtype, self.route.namespace,
                resource_version=self.resource_version, label_selector=self.labels,
                field_selector=self.fields)
        except ApiError as exc:
            if exc.code != 410:
                raise
            self.expired = exc

    def run(self, write: Write, *, client_gone: Callable[[], bool] = lambda: False) -> None:
        """``client_gone`` is polled while idle, so an abandoned watch does not hold a
        thread and a subscription until its timeout."""
        self.client_gone = client_gone
        if self.expired is not None or self.sub is None:
            write(_line("ERROR", (self.expired or ApiError(500, "watch not open")).status()))
            return
        for obj in self.items:
            write(self._line("ADDED", obj))
        self._follow(self.sub, self.last_rv, write)

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close()

    def _remaining(self) -> float:
        return POLL if self.deadline is None else min(POLL, self.deadline - time.monotonic())

    def _follow(self, sub: Subscription, last_rv: int, write: Write) -> None:
        next_bookmark = time.monotonic() + self.bookmark_interval
        while not self.stop.is_set() and self._remaining() > 0:
            event = sub.get_shared(timeout=self._remaining())
            if event is not None:
                last_rv = event.resource_version
                translated = self._translate(event)
                if translated is not None:
                    write(self._line(translated, event.object))
            elif self.client_gone():
                return
            elif self.bookmarks and time.monotonic() >= next_bookmark:
                write(_line("BOOKMARK", self._bookmark(last_rv)))
                next_bookmark = time.monotonic() + self.bookmark_interval

    def _line(self, kind: str, obj: Obj) -> bytes:
        """One event; as a one-row Table when kubectl asked for tables (column
        definitions only in the first, as the real server saves bandwidth)."""
        if not self.table:
            encoded = ENCODED.encode(with_version(self.route, obj))
            return b'{"type":"' + kind.encode() + b'","object":' + encoded + b"}\n"
        rv = obj["metadata"]["resourceVersion"]
        table = as_table(self.store, self.route, self.req, [obj], rv,
                         headers=not self.sent_headers)
        self.sent_headers = True
        return _line(kind, table)

    def _bookmark(self, rv: int) -> Obj:
        return {"kind": self.route.rtype.kind, "apiVersion": self.route.rtype.api_version,
                "metadata": {"resourceVersion": str(rv)}}

    def _matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        ns = obj.get("metadata", {}).get("namespace")
        if self.route.namespace and self.route.rtype.namespaced and ns != self.route.namespace:
            return False
        return self.match is None or self.match(obj)

    def _translate(self, event: WatchEvent) -> str | None:
        """The event type this watcher sees, or None when the change is not its business."""
        if event.rtype.storage_key != self.route.rtype.storage_key:
            return None
        now = self._matches(event.object)
        if event.type != "MODIFIED":
            return event.type if now else None
        before = self._matches(event.old_object)
        if now:
            return "MODIFIED" if before else "ADDED"
        return "DELETED" if before else None
