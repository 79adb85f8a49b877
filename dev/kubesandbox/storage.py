"""Storage tables of the sandbox store: objects per (type, namespace), the uid and
owner indexes, and the primitive writes that bump resourceVersion and emit events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubesandbox import apierror, objects
from kubesandbox.events import EventLog, WatchEvent
from kubesandbox.jsoncopy import deep_copy
from kubesandbox.types import Registry, ResourceType

Obj = dict[str, Any]
Bucket = dict[str, Obj]
Ref = tuple[ResourceType, str, str]


class Storage:
    """Callers hold ``_lock``; stored dicts are replaced, never mutated."""

    def __init__(self, registry: Registry | None, *, history: int,
                 clock: Callable[[], datetime],
                 auto_namespaces: bool) -> None:
        self.registry = registry or Registry()
        self.clock = clock
        self.auto_namespaces = auto_namespaces
        self._lock = threading.RLock()
        self._data: dict[tuple[str, str], dict[str, Bucket]] = {}
        self._by_uid: dict[str, Ref] = {}
        self._dependents: dict[str, set[str]] = {}
        self._rv = 0
        self._events = EventLog(history)
        self._order: dict[tuple[str, str], list[tuple[str, str]]] = {}
        """Per type, every (namespace, name) sorted: kept between LISTs and dropped when
        an object is created or removed, so a LIST read in pages sorts its keys once, not
        once per page (a page is then O(limit), as etcd's range read from the key)."""

    def _buckets(self, rtype: ResourceType, namespace: str | None) -> dict[str, Bucket]:
        per_ns = self._data.get(rtype.storage_key, {})
        if namespace and rtype.namespaced:
            return {namespace: per_ns[namespace]} if namespace in per_ns else {}
        return per_ns

    def _ordered(self, rtype: ResourceType, namespace: str | None) -> list[tuple[str, str]]:
        """The keys of `_buckets` in (namespace, name) order; the caller must not change it."""
        if namespace and rtype.namespaced:
            names = self._buckets(rtype, namespace).get(namespace, {})
            return sorted((namespace, n) for n in names)
        keys = self._order.get(rtype.storage_key)
        if keys is None:
            keys = sorted((ns, n) for ns, b in self._buckets(rtype, None).items() for n in b)
            self._order[rtype.storage_key] = keys
        return keys

    def _bucket(self, rtype: ResourceType, namespace: str) -> Bucket:
        return self._data.setdefault(rtype.storage_key, {}).setdefault(namespace, {})

    def _find(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        ns = (namespace or "") if rtype.namespaced else ""
        found = self._data.get(rtype.storage_key, {}).get(ns, {}).get(name)
        if found is None:
            raise apierror.not_found(rtype.group, rtype.plural, name)
        if found.get("apiVersion") != rtype.api_version:
            return {**found, "apiVersion": rtype.api_version}
        return found

    def _precondition(self, rtype: ResourceType, old: Obj, rv: Any, uid: Any) -> None:
        meta = old["metadata"]
        if (rv and str(rv) != meta["resourceVersion"]) or (uid and uid != meta["uid"]):
            raise apierror.conflict(rtype.group, rtype.plural, meta["name"])

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, kind: str, rtype: ResourceType, obj: Obj, old: Obj | None = None) -> None:
        self._events.append(WatchEvent(kind, rtype, obj, self._rv, old))

    def _put(self, rtype: ResourceType, ns: str, new: Obj) -> None:
        meta = new["metadata"]
        meta["resourceVersion"] = self._next_rv()
        bucket = self._bucket(rtype, ns)
        if meta["name"] not in bucket:
            self._order.pop(rtype.storage_key, None)
        bucket[meta["name"]] = new
        self._by_uid[meta["uid"]] = (rtype, ns, meta["name"])
        for ref in meta.get("ownerReferences") or []:
            self._dependents.setdefault(ref["uid"], set()).add(meta["uid"])

    def _update(self, rtype: ResourceType, old: Obj, new: Obj, *, dry_run: bool) -> Obj:
        objects.validate(rtype, new)
        if objects.same_state(old, new) or dry_run:
            return old if not dry_run else new
        meta = new["metadata"]
        if (meta.get("deletionTimestamp") and not meta.get("finalizers")
                and old["metadata"].get("finalizers")):
            return self._remove(rtype, new)
        self._unindex_owners(old)
        self._put(rtype, meta.get("namespace", ""), new)
        self._emit("MODIFIED", rtype, new, old)
        return new

    def _unindex_owners(self, obj: Obj) -> None:
        for ref in obj["metadata"].get("ownerReferences") or []:
            self._dependents.get(ref["uid"], set()).discard(obj["metadata"]["uid"])

    def _remove(self, rtype: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if rtype.namespaced else ""
        self._bucket(rtype, ns).pop(meta["name"], None)
        self._order.pop(rtype.storage_key, None)
        self._by_uid.pop(meta["uid"], None)
        self._unindex_owners(obj)
        gone = deep_copy(obj)
        gone["metadata"]["resourceVersion"] = self._next_rv()
        self._emit("DELETED", rtype, gone)
        self._after_removal(rtype, gone)
        return gone

    def _after_removal(self, rtype: ResourceType, gone: Obj) -> None:
        """Hook for garbage collection once an object is gone."""
