"""JSON encoding with a per-object cache.

Stored objects never change once stored (every write stores a new dict), so the bytes
of an object at a given uid and resourceVersion never change either; a LIST of 10,000
objects then mostly joins cached bytes instead of re-encoding megabytes each time.
"""

from __future__ import annotations

import json
import threading
from typing import Any

Obj = dict[str, Any]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class EncodeCache:
    """(uid, resourceVersion, apiVersion) -> bytes; dropped wholesale when it outgrows
    ``limit`` entries (stale versions are never read again, so they only cost memory)."""

    def __init__(self, limit: int = 250_000) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], bytes] = {}
        self._limit = limit

    def encode(self, obj: Obj) -> bytes:
        meta = obj.get("metadata") or {}
        key = (str(meta.get("uid")), str(meta.get("resourceVersion")),
               str(obj.get("apiVersion")))
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            found = dumps(obj)
            with self._lock:
                if len(self._cache) >= self._limit:
                    self._cache.clear()
                self._cache[key] = found
        return found

    def encode_list(self, envelope: Obj, items: list[Obj]) -> bytes:
        """``envelope`` with ``"items"`` set to ``items``, encoded."""
        head = dumps({**envelope, "items": []})
        assert head.endswith(b'"items":[]}')
        return head[:-3] + b"[" + b",".join(self.encode(o) for o in items) + b"]}"
