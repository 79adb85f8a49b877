"""Deletion and garbage collection by ownerReferences, done synchronously where the
real cluster's garbage collector does it asynchronously: dependents are gone by the
time the delete call returns (Background) or before the owner goes (Foreground)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kubesandbox import crds, objects
from kubesandbox.jsoncopy import deep_copy
from kubesandbox.storage import Storage
from kubesandbox.types import NAMESPACES, ResourceType

Obj = dict[str, Any]

FOREGROUND = "foregroundDeletion"


class Collector(Storage):
    """Starts deletions and cleans up after removals."""

    def _start_delete(self, rtype: ResourceType, old: Obj, propagation: str,
                      grace: int) -> Obj:
        meta = old["metadata"]
        dependents = self._dependents.get(meta["uid"])
        foreground = propagation == "Foreground" and bool(dependents)
        if not (meta.get("finalizers") or grace > 0 or foreground):
            return self._remove(rtype, old)
        if meta.get("deletionTimestamp") and not foreground:
            return old
        new = deep_copy(old)
        nmeta = new["metadata"]
        if not nmeta.get("deletionTimestamp"):
            nmeta["deletionTimestamp"] = objects.rfc3339(
                self.clock() + timedelta(seconds=grace))
            nmeta["deletionGracePeriodSeconds"] = grace
            nmeta["generation"] = int(nmeta.get("generation", 1)) + 1
        if foreground and FOREGROUND not in (nmeta.get("finalizers") or []):
            nmeta["finalizers"] = [*(nmeta.get("finalizers") or []), FOREGROUND]
        stored = self._update(rtype, old, new, dry_run=False)
        if foreground:
            self._collect(meta["uid"], "Foreground")
            self._release_foreground(meta["uid"])
        return stored

    def _after_removal(self, rtype: ResourceType, gone: Obj) -> None:
        meta = gone["metadata"]
        self._collect(meta["uid"], "Background")
        self._dependents.pop(meta["uid"], None)
        for ref in meta.get("ownerReferences") or []:
            self._release_foreground(ref["uid"])
        if rtype.storage_key == crds.CRD_KEY:
            for served in self.registry.unregister(*crds.storage_key(gone)):
                self._drop_all(served)
        if rtype.storage_key == NAMESPACES.storage_key:
            self._drop_namespace(meta["name"])

    def _collect(self, owner_uid: str, propagation: str) -> None:
        """GC: delete dependents that have no other live owner."""
        for uid in sorted(self._dependents.get(owner_uid, set())):
            ref = self._by_uid.get(uid)
            if ref is None:
                continue
            dep = self._find(*ref)
            owners = [r["uid"] for r in dep["metadata"].get("ownerReferences") or []]
            if any(o != owner_uid and o in self._by_uid for o in owners):
                continue
            if not dep["metadata"].get("deletionTimestamp"):
                self._start_delete(ref[0], dep, propagation, 0)

    def _release_foreground(self, owner_uid: str) -> None:
        ref = self._by_uid.get(owner_uid)
        if ref is None or any(u in self._by_uid for u in self._dependents.get(owner_uid, ())):
            return
        owner = self._find(*ref)
        finalizers = owner["metadata"].get("finalizers") or []
        if FOREGROUND in finalizers and owner["metadata"].get("deletionTimestamp"):
            new = deep_copy(owner)
            kept = [f for f in finalizers if f != FOREGROUND]
            if kept:
                new["metadata"]["finalizers"] = kept
            else:
                new["metadata"].pop("finalizers", None)
            self._update(ref[0], owner, new, dry_run=False)

    def _orphan(self, owner_uid: str) -> None:
        for uid in sorted(self._dependents.get(owner_uid, set())):
            ref = self._by_uid.get(uid)
            if ref is not None:
                dep = self._find(*ref)
                new = deep_copy(dep)
                kept = [r for r in dep["metadata"].get("ownerReferences") or []
                        if r["uid"] != owner_uid]
                if kept:
                    new["metadata"]["ownerReferences"] = kept
                else:
                    new["metadata"].pop("ownerReferences", None)
                self._update(ref[0], dep, new, dry_run=False)

    def _drop_all(self, rtype: ResourceType) -> None:
        for ns, bucket in list(self._data.get(rtype.storage_key, {}).items()):
            for name in list(bucket):
                self._remove(rtype, self._find(rtype, ns, name))

    def _drop_namespace(self, namespace: str) -> None:
        for rtype in self.registry.all():
            if rtype.namespaced:
                for name in list(self._data.get(rtype.storage_key, {}).get(namespace, {})):
                    self._remove(rtype, self._find(rtype, namespace, name))

