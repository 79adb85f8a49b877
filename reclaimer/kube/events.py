"""core/v1 Events on InferenceServices, the way client-go's recorder writes them.

A repeat of the same (object, reason, message) bumps ``count`` and ``lastTimestamp`` on
the existing Event instead of creating another, so a service deferred every tick for an
hour shows one Event with a count, not 120. Events are best effort: the ledger is the
record, so a failed Event write is logged and never fails a transition.
"""

from __future__ import annotations

import itertools
import logging
import threading
from datetime import UTC, datetime

from reclaimer import kserve
from reclaimer.errors import ClusterError, NotFound
from reclaimer.kube import rest
from reclaimer.model import ServiceRef

log = logging.getLogger("reclaimer.events")

COMPONENT = "reclaimer"
RECLAIMED = "Reclaimed"
RESTORED = "Restored"
DEFERRED = "Deferred"
RECLAIM_FAILED = "ReclaimFailed"
MAX_MESSAGE = 1024


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(self, client: rest.Rest, *, instance: str = COMPONENT) -> None:
        self.rest = client
        self.instance = instance
        self._seen: dict[tuple[str, str, str, str], tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count()

    def emit(self, ref: ServiceRef, uid: str, *, reason: str, message: str,
             warning: bool = False, at: datetime) -> None:
        message = message[:MAX_MESSAGE]
        key = (ref.namespace, uid or ref.name, reason, message)
        with self._lock:
            seen = self._seen.get(key)
        try:
            if seen is not None and self._bump(ref, seen, at):
                with self._lock:
                    self._seen[key] = (seen[0], seen[1] + 1)
                return
            name = self._create(ref, uid, reason=reason, message=message, warning=warning,
                                at=at)
        except ClusterError as exc:
            log.warning("event %s on %s not written: %s", reason, ref, exc)
            return
        with self._lock:
            self._seen[key] = (name, 1)

    def _bump(self, ref: ServiceRef, seen: tuple[str, int], at: datetime) -> bool:
        name, count = seen
        try:
            self.rest.merge_patch(rest.EVENT, ref.namespace, name,
                                  {"count": count + 1, "lastTimestamp": _timestamp(at)})
        except NotFound:
            return False
        return True

    def _create(self, ref: ServiceRef, uid: str, *, reason: str, message: str,
                warning: bool, at: datetime) -> str:
        name = f"{ref.name}.{int(at.timestamp() * 1e9):x}{next(self._serial):x}"
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ref.namespace},
            "involvedObject": {"apiVersion": kserve.KINDS[ref.kind].api_version,
                               "kind": ref.kind.value, "namespace": ref.namespace,
                               "name": ref.name, "uid": uid},
            "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
            "count": 1, "firstTimestamp": _timestamp(at), "lastTimestamp": _timestamp(at),
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
            "reportingInstance": self.instance, "action": reason,
        }
        self.rest.create(rest.EVENT, ref.namespace, body)
        return name
