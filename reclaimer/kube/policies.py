"""ReclaimPolicy custom resources: listed and watched, parsed, and their status written.

Each CR is parsed on its own with the one schema (`reclaimer.policy.schema`), so an
invalid CR never stops the valid ones. Status goes through the ``status`` subresource:
a ``Valid`` condition (False with the error message naming the field), the number of
services the policy governs now, and its next schedule edge. An unchanged status is not
rewritten, so a steady cluster costs no writes per tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reclaimer.errors import PolicyInvalid
from reclaimer.kube import rest
from reclaimer.kube.cache import whole
from reclaimer.kube.scope import EVERYWHERE, Scope, watch_cache
from reclaimer.model import Policy
from reclaimer.policy.schema import parse_policy

Obj = dict[str, Any]


@dataclass(frozen=True)
class ReadPolicies:
    valid: tuple[Policy, ...]
    invalid: tuple[PolicyInvalid, ...]
    objects: tuple[Obj, ...]


def source_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"ReclaimPolicy {meta.get('namespace')}/{meta.get('name')}"


def _document(obj: Obj) -> Obj:
    """What the schema checks: server-set metadata (uid, managedFields...) left out."""
    meta = obj.get("metadata") or {}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
            "spec": obj.get("spec")}


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def desired_status(obj: Obj, *, error: PolicyInvalid | None, matched: int,
                   next_transition: datetime | None, at: datetime) -> Obj:
    meta, old = obj.get("metadata") or {}, obj.get("status") or {}
    valid = "False" if error else "True"
    cond = {"type": "Valid", "status": valid, "reason": "Invalid" if error else "Valid",
            "message": f"{error.field}: {error.message}" if error else "policy is valid",
            "observedGeneration": int(meta.get("generation") or 0),
            "lastTransitionTime": _time(at)}
    previous = next((c for c in old.get("conditions") or [] if c.get("type") == "Valid"), None)
    if previous is not None and previous.get("status") == valid:
        cond["lastTransitionTime"] = previous.get("lastTransitionTime") or cond[
            "lastTransitionTime"]
    status: Obj = {"observedGeneration": int(meta.get("generation") or 0),
                   "matchedServices": matched, "conditions": [cond]}
    if next_transition is not None:
        status["nextTransition"] = _time(next_transition)
    return status


class PolicySource:
    def __init__(self, client: rest.Rest, *, resync_every: float = 300.0,
                 scope: Scope = EVERYWHERE,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """``scope``: the namespaces whose ReclaimPolicies are read."""
        self.rest = client
        self.cache = watch_cache(client, rest.POLICY, scope=scope, trim=whole,
                                 resync_every=resync_every, monotonic=monotonic)

    def start(self) -> None:
        self.cache.start()

    def stop(self) -> None:
        self.cache.stop()

    def read(self) -> ReadPolicies:
        valid, invalid = [], []
        objects = sorted(self.cache.items(), key=source_of)
        for obj in objects:
            try:
                valid.append(parse_policy(_document(obj), source=source_of(obj), index=0,
                                          cluster=True))
            except PolicyInvalid as exc:
                invalid.append(exc)
            except Exception as exc:  # one CR's fault is its own (DESIGN §3.7)
                invalid.append(PolicyInvalid(source=source_of(obj), document=0,
                                             field="(document)",
                                             message=f"cannot be read: {type(exc).__name__}"))
        return ReadPolicies(tuple(valid), tuple(invalid), tuple(objects))

    def write_status(self, obj: Obj, *, error: PolicyInvalid | None, matched: int,
                     next_transition: datetime | None, at: datetime) -> bool:
        """Patch the status subresource unless it already says this; True if written."""
        new = desired_status(obj, error=error, matched=matched,
                             next_transition=next_transition, at=at)
        if new == (obj.get("status") or {}):
            return False
        meta = obj["metadata"]
        body = {"status": {"nextTransition": None, **new}}
        self.rest.merge_patch(rest.POLICY, meta["namespace"], meta["name"], body,
                              subresource="status")
        return True

    def publish(self, read: ReadPolicies, *, matched: dict[str, int],
                next_edges: dict[str, datetime | None], at: datetime) -> int:
        """Write every CR's status; ``matched``/``next_edges`` are keyed by `Policy.key`."""
        errors = {exc.source: exc for exc in read.invalid}
        written = 0
        for obj in read.objects:
            meta = obj["metadata"]
            key = f"{meta['namespace']}/{meta['name']}"
            written += self.write_status(obj, error=errors.get(source_of(obj)),
                                         matched=matched.get(key, 0),
                                         next_transition=next_edges.get(key), at=at)
        return written
