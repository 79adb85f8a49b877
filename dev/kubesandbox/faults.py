"""Test hooks of the API server: fault injection and a bounded request log.

Verbs are Kubernetes RBAC verbs (get, list, watch, create, update, patch, delete,
deletecollection), so the log can be held against a Role's rules.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

ALWAYS = -1
"""``times: -1``: the fault never wears out."""
SPEC_KEYS = frozenset({"verb", "resource", "namespace", "name", "status", "times", "delay",
                       "retryAfter", "message"})


@dataclass(frozen=True)
class RequestRecord:
    verb: str
    group: str
    version: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    code: int
    method: str
    path: str


@dataclass
class Fault:
    """The next ``times`` requests matching (verb, resource, namespace, name) are
    delayed by ``delay`` seconds and/or fail with ``status``; None matches anything."""

    verb: str
    resource: str
    namespace: str | None
    name: str | None
    status: int | None
    times: int
    retry_after: int | None
    delay: float | None
    message: str | None = None

    def matches(self, verb: str, resource: str, namespace: str | None,
                name: str | None) -> bool:
        return (self.verb in ("*", verb) and self.resource in ("*", resource)
                and self.namespace in (None, namespace) and self.name in (None, name))


class FaultInjector:
    """Faults apply in the order added; each is used up after ``times`` matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, verb: str, resource_plural: str, namespace: str | None = None,  # noqa: PLR0913 - the fault's match and effect
            name: str | None = None, *, status: int | None = None, times: int = 1,
            retry_after: int | None = None, delay: float | None = None,
            message: str | None = None) -> Fault:
        if status is None and delay is None:
            raise ValueError("a fault needs a status, a delay, or both")
        if times < 1 and times != ALWAYS:
            raise ValueError(f"times must be at least 1 (or -1: always), got {times}")
        fault = Fault(verb, resource_plural, namespace, name, status, times, retry_after,
                      delay, message)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, verb: str, resource: str, namespace: str | None,
             name: str | None) -> Fault | None:
        """The first matching fault, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(verb, resource, namespace, name):
                    if fault.times == ALWAYS:
                        return fault
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> int:
        """Uses left; a fault with ``times: -1`` counts once."""
        with self._lock:
            return sum(max(f.times, 1) for f in self._faults)

    def listed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


_FILTERS = frozenset(f.name for f in fields(RequestRecord))


class RequestLog:
    """The last ``size`` requests, oldest first."""

    def __init__(self, size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=size)

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def entries(self, **match: object) -> list[RequestRecord]:
        """Records whose fields equal every given keyword, e.g. ``verb="patch"``."""
        unknown = set(match) - _FILTERS
        if unknown:
            raise TypeError(f"unknown request log fields: {sorted(unknown)}")
        with self._lock:
            records = list(self._records)
        return [r for r in records if all(getattr(r, k) == v for k, v in match.items())]

    def count(self, **match: object) -> int:
        return len(self.entries(**match))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def fault_kwargs(spec: Any, path: str) -> dict[str, Any]:
    """``FaultInjector.add`` arguments from a scenario entry or an admin request body,
    ``{verb, resource, namespace, name, status, times, delay}``; ValueError names the field.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"{path}: must be a mapping")
    for key in spec:
        if key not in SPEC_KEYS:
            allowed = ", ".join(sorted(SPEC_KEYS))
            raise ValueError(f"{path}.{key}: unknown field (allowed: {allowed})")
    out: dict[str, Any] = {"verb": _text(spec, "verb", path, required=True),
                           "resource_plural": _text(spec, "resource", path, required=True),
                           "namespace": _text(spec, "namespace", path),
                           "name": _text(spec, "name", path),
                           "status": _number(spec, "status", path, int),
                           "times": _number(spec, "times", path, int),
                           "delay": _number(spec, "delay", path, float),
                           "retry_after": _number(spec, "retryAfter", path, int),
                           "message": _text(spec, "message", path)}
    if out["times"] is None:
        out["times"] = 1
    if out["status"] is None and out["delay"] is None:
        raise ValueError(f"{path}: a fault needs a status, a delay, or both")
    if out["times"] < 1 and out["times"] != ALWAYS:
        raise ValueError(f"{path}.times: must be at least 1, or -1 for always")
    return out


def _text(spec: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
    value = spec.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}.{key}: required, a non-empty string" if required
                         else f"{path}.{key}: must be a string")
    return value


def _number(spec: Mapping[str, Any], key: str, path: str, kind: type) -> Any:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            kind is int and not isinstance(value, int)) or (kind is float and value < 0):
        raise ValueError(f"{path}.{key}: must be {'an integer' if kind is int else 'a number >= 0'}"
                         f", got {value!r}")
    return kind(value)
