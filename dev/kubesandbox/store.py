"""Thread-safe in-memory object store: the etcd plus registry of the sandbox API server.

Objects are plain JSON dicts, copied on the way in and out. Stored dicts are never
mutated (every write stores a new dict), so watch events and the HTTP layer may share
them read-only. One RLock guards everything; indexes are dicts per (type, namespace),
so a namespaced get/patch is O(1) and a list is O(objects of that type).

Semantics, as the real API server (k8s.io/apiserver registry/generic):

- one global resourceVersion counter; every change bumps it and emits one WatchEvent;
- a no-op write keeps the resourceVersion and emits nothing;
- kinds with a status subresource ignore ``status`` on create and on main-resource
  writes, and ignore everything but ``status`` on status writes;
- ``generation`` starts at 1 and bumps only when non-metadata, non-status content
  changes (and when graceful deletion starts);
- delete: an object with finalizers, or deleted with ``grace_seconds > 0``, only gets
  ``deletionTimestamp`` ("Terminating"); it is removed when its last finalizer goes, or
  when a controller calls ``finalize()`` (the kubelet's confirmation for pods);
- garbage collection by ownerReferences: Background removes dependents right after the
  owner, Foreground holds the owner (finalizer ``foregroundDeletion``) until they are
  gone, Orphan strips the owner reference from dependents;
- creating a CustomResourceDefinition serves its kind; deleting it removes the kind.
"""

from __future__ import annotations

import bisect
import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubesandbox import apierror, crds, managed, objects, patch, scale
from kubesandbox.apierror import ApiError
from kubesandbox.events import Subscription, WatchEvent
from kubesandbox.gc import FOREGROUND, Collector
from kubesandbox.jsoncopy import deep_copy
from kubesandbox.selectors import combine, field_selector, label_selector, single_name
from kubesandbox.types import NAMESPACES, Registry, ResourceType

__all__ = ["FOREGROUND", "ApiError", "Store", "Subscription", "WatchEvent"]

Obj = dict[str, Any]
Admission = Callable[[ResourceType, "Obj | None", Obj], None]
BUILTIN_GROUPS = frozenset({"", "apps", "autoscaling", "coordination.k8s.io",
                            "events.k8s.io", "apiextensions.k8s.io"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store(Collector):
    """See the module docstring for the semantics; ApiError carries the HTTP status."""

    def __init__(self, registry: Registry | None = None, *, history: int = 10_000,
                 clock: Callable[[], datetime] = _utcnow,
                 auto_namespaces: bool = True) -> None:
        super().__init__(registry, history=history, clock=clock,
                         auto_namespaces=auto_namespaces)
        self.admission: list[Admission] = []
        """Validating webhooks: called with (type, old or None, new) on every create and
        spec write, before storage; they raise ApiError to deny (KServe's webhook)."""

    def _admit(self, rtype: ResourceType, old: Obj | None, new: Obj) -> None:
        for hook in list(self.admission):
            hook(rtype, old, new)

    # ---- reads -------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def compacted_resource_version(self) -> int:
        """Watches and continue tokens from before this are 410 Expired."""
        return self._events.compacted_rv

    @property
    def subscriptions(self) -> int:
        """Open subscriptions, HTTP watches included (for leak checks in tests)."""
        return self._events.subscriber_count()

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            return deep_copy(self._find(rtype, namespace, name))

    def peek(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        """The stored object itself, without a copy: for in-process readers (the
        simulator) that only read. Mutating it corrupts the store; copy first."""
        with self._lock:
            return self._find(rtype, namespace, name)

    def list(self, rtype: ResourceType, namespace: str | None = None, *,
             label_selector: str | None = None,
             field_selector: str | None = None) -> tuple[builtins.list[Obj], str]:
        items, rv = self.select(rtype, namespace, label_selector=label_selector,
                                field_selector=field_selector)
        return [deep_copy(o) for o in items], rv

    def select(self, rtype: ResourceType, namespace: str | None = None, *,
               label_selector: str | None = None, field_selector: str | None = None,
               after: tuple[str, str] | None = None,
               limit: int | None = None) -> tuple[builtins.list[Obj], str]:
        """Shared (read-only) matches sorted by (namespace, name), starting past ``after``;
        with ``limit``, up to ``limit + 1`` items, so the caller knows whether more remain."""
        match = self.matcher(rtype, label_selector, field_selector)
        pinned = single_name(field_selector)
        with self._lock:
            buckets = self._buckets(rtype, namespace)
            keys = self._ordered(rtype, namespace)
            start = bisect.bisect_right(keys, after) if after is not None else 0
            out: builtins.list[Obj] = []
            for at in range(start, len(keys)):
                ns, name = keys[at]
                if pinned is not None and name != pinned:
                    continue
                obj = buckets[ns][name]
                if match is None or match(obj):
                    out.append(obj)
                    if limit is not None and len(out) > limit:
                        break
            return out, str(self._rv)

    def matcher(self, rtype: ResourceType, labels: str | None,
                fields: str | None) -> Callable[[Obj], bool] | None:
        return combine(label_selector(labels), field_selector(fields, rtype.plural))

    def subscribe(self, since: int | None = None) -> Subscription:
        """Every change to every object from now on (or replayed from ``since``).

        Raises ApiError 410 Expired when ``since`` is older than the retained history.
        """
        with self._lock:
            try:
                return self._events.subscribe(since)
            except LookupError:
                raise ApiError(410, f"too old resource version: {since} "
                               f"({self._events.compacted_rv})", reason="Expired") from None

    def open_watch(self, rtype: ResourceType, namespace: str | None, *,
                   resource_version: str | None, label_selector: str | None = None,
                   field_selector: str | None = None) -> tuple[builtins.list[Obj],
                                                               Subscription, int]:
        """Atomically: the objects to send as synthetic ADDED events (none when resuming),
        a subscription for what follows, and the resourceVersion it starts after."""
        with self._lock:
            if resource_version in (None, "", "0"):
                items, _ = self.select(rtype, namespace, label_selector=label_selector,
                                       field_selector=field_selector)
                return items, self._events.subscribe(None), self._rv
            try:
                since = int(str(resource_version))
            except ValueError:
                raise ApiError(400, f"resourceVersion: Invalid value: {resource_version!r}"
                               ) from None
            return [], self.subscribe(since), since

    def close(self) -> None:
        """Ends every subscription (the server is shutting down)."""
        self._events.close_all()

    # ---- writes ------------------------------------------------------------------
    def create(self, rtype: ResourceType, obj: Obj, *, namespace: str | None = None,
               dry_run: bool = False, manager: str | None = None) -> Obj:
        """``manager``: the field manager to record in managedFields (None: record none)."""
        objects.check_type(rtype, obj)
        with self._lock:
            ns = objects.resolve_namespace(rtype, obj, namespace)
            now = self.clock()
            new = objects.prepare_create(rtype, obj, ns, now)
            objects.validate(rtype, new)
            self._admit(rtype, None, new)
            managed.track(None, new, manager=manager, api_version=rtype.api_version,
                          subresource=None, now=now)
            name = new["metadata"]["name"]
            if name in self._bucket(rtype, ns):
                raise apierror.already_exists(rtype.group, rtype.plural, name)
            if rtype.storage_key == crds.CRD_KEY:
                new = crds.accept(self.registry, new)
            if dry_run:
                return new
            self._ensure_namespace(rtype, ns)
            self._put(rtype, ns, new)
            if rtype.storage_key == crds.CRD_KEY:
                crds.serve(self.registry, new)
            self._emit("ADDED", rtype, new)
            return deep_copy(new)

    def replace(self, rtype: ResourceType, obj: Obj, *, subresource: str | None = None,
                dry_run: bool = False, namespace: str | None = None,
                manager: str | None = None) -> Obj:
        """PUT. 409 Conflict when ``metadata.resourceVersion`` is set and stale."""
        meta = obj.get("metadata") or {}
        with self._lock:
            ns = objects.resolve_namespace(rtype, obj, namespace)
            old = self._find(rtype, ns, str(meta.get("name", "")))
            self._precondition(rtype, old, meta.get("resourceVersion"), meta.get("uid"))
            if subresource == "scale":
                new = scale.from_scale(old, obj)
                self._track(rtype, old, new, manager, subresource)
                return scale.to_scale(self._update(rtype, old, new, dry_run=dry_run))
            if subresource is None:
                objects.check_type(rtype, obj)
            new = objects.merge_update(rtype, old, obj, subresource)
            if subresource is None:
                self._admit(rtype, old, new)
            self._track(rtype, old, new, manager, subresource)
            return deep_copy(self._update(rtype, old, new, dry_run=dry_run))

    def patch(  # noqa: PLR0913 - mirrors the PATCH request's parameters
            self, rtype: ResourceType, namespace: str | None, name: str, body: Any, *,
            patch_type: str, subresource: str | None = None,
            resource_version: str | None = None, dry_run: bool = False,
            manager: str | None = None) -> Obj:
        """PATCH with ``patch_type`` "merge" | "json" | "strategic" (built-in kinds only)."""
        if patch_type == "strategic" and rtype.group not in BUILTIN_GROUPS:
            raise ApiError(415, f"the body of the request was in an unknown format - "
                           f"accepted media types include: application/json-patch+json, "
                           f"application/merge-patch+json (strategic merge patch is not "
                           f"supported for {rtype.plural}.{rtype.group})")
        with self._lock:
            old = self._find(rtype, namespace, name)
            self._precondition(rtype, old, resource_version, None)
            view = scale.to_scale(old) if subresource == "scale" else old
            patched = _apply(patch_type, view, body)
            if not isinstance(patched, dict):
                raise ApiError(422, "the patch must leave a JSON object")
            pmeta = patched.get("metadata") or {}
            if pmeta.get("resourceVersion") != view["metadata"].get("resourceVersion"):
                self._precondition(rtype, old, pmeta.get("resourceVersion"), None)
            pmeta.update(name=name, **({"namespace": namespace} if namespace else {}))
            patched["metadata"] = pmeta
            return self.replace(rtype, patched, subresource=subresource, dry_run=dry_run,
                                namespace=namespace, manager=manager)

    def delete(  # noqa: PLR0913 - mirrors DeleteOptions
            self, rtype: ResourceType, namespace: str | None, name: str, *,
            propagation: str = "Background", grace_seconds: int | None = None,
            preconditions: dict[str, Any] | None = None, dry_run: bool = False) -> Obj:
        """DELETE; returns the object as last stored (Terminating, or gone)."""
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise ApiError(400, f"propagationPolicy: Unsupported value: {propagation!r}")
        with self._lock:
            old = self._find(rtype, namespace, name)
            pre = preconditions or {}
            self._precondition(rtype, old, pre.get("resourceVersion"), pre.get("uid"))
            if dry_run:
                return deep_copy(old)
            if propagation == "Orphan":
                self._orphan(old["metadata"]["uid"])
            result = self._start_delete(rtype, old, propagation, grace_seconds or 0)
            return deep_copy(result)

    def delete_collection(self, rtype: ResourceType, namespace: str | None = None, *,
                          label_selector: str | None = None,
                          field_selector: str | None = None,
                          propagation: str = "Background",
                          dry_run: bool = False) -> builtins.list[Obj]:
        with self._lock:
            items, _ = self.select(rtype, namespace, label_selector=label_selector,
                                   field_selector=field_selector)
            return [self.delete(rtype, o["metadata"].get("namespace"), o["metadata"]["name"],
                                propagation=propagation, dry_run=dry_run) for o in items]

    def finalize(self, rtype: ResourceType, namespace: str | None, name: str) -> None:
        """Remove a Terminating object now, whatever its finalizers (the kubelet's
        'container is gone' for a pod deleted with a grace period)."""
        with self._lock:
            self._remove(rtype, self._find(rtype, namespace, name))

    # ---- internals ---------------------------------------------------------------
    def _track(self, rtype: ResourceType, old: Obj, new: Obj, manager: str | None,
               subresource: str | None) -> None:
        managed.track(old, new, manager=manager, api_version=rtype.api_version,
                      subresource=subresource, now=self.clock())

    def _ensure_namespace(self, rtype: ResourceType, ns: str) -> None:
        if not ns or ns in self._data.get(NAMESPACES.storage_key, {}).get("", {}):
            return
        if not self.auto_namespaces:
            raise apierror.not_found("", "namespaces", ns)
        self.create(NAMESPACES, {"metadata": {"name": ns}})


def _apply(patch_type: str, target: Obj, body: Any) -> Any:
    if patch_type == "merge":
        return patch.merge_patch(target, body)
    if patch_type == "json":
        return patch.json_patch(target, body)
    if patch_type == "strategic":
        return patch.strategic_merge(target, body)
    raise ApiError(415, f"unsupported patch type {patch_type!r}")
