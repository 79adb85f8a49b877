"""Which namespaces reclaimer reads: all of them, or only a configured list.

Cluster-wide (the default), each resource costs one LIST and one WATCH across every
namespace, which needs a ClusterRole. With ``watchNamespaces`` set, each resource is
listed and watched in each listed namespace on its own, so a Role per namespace is all
the service account needs (helm/reclaimer ``watchNamespaces``), and a service outside
the list is never seen, so never acted on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from reclaimer.errors import ClusterError
from reclaimer.kube import rest
from reclaimer.kube.cache import Obj, WatchCache, uid_key

T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """Empty ``namespaces``: every namespace, through cluster-wide requests."""

    namespaces: tuple[str, ...] = ()

    @property
    def cluster_wide(self) -> bool:
        return not self.namespaces

    def targets(self) -> tuple[str | None, ...]:
        """The namespace of each LIST/WATCH to make (None: one cluster-wide request)."""
        return self.namespaces or (None,)

    def covers(self, namespace: str) -> bool:
        return self.cluster_wide or namespace in self.namespaces


EVERYWHERE = Scope()


class ScopedCache(Generic[T]):
    """One `WatchCache` per namespace, read as one: the keys carry the namespace (or a
    uid), so entries never collide."""

    def __init__(self, parts: Sequence[WatchCache[T]]) -> None:
        self.parts = tuple(parts)
        self.changed = threading.Event()
        for part in self.parts:
            part.changed = self.changed

    def items(self) -> list[T]:
        return [item for part in self.parts for item in part.items()]

    def get(self, key: str) -> T | None:
        for part in self.parts:
            found = part.get(key)
            if found is not None:
                return found
        return None

    def resync(self) -> None:
        for part in self.parts:
            part.resync()

    def start(self) -> None:
        """Every namespace or none: a namespace that cannot be listed (no Role there)
        fails the start, as a cluster-wide LIST without its ClusterRole would."""
        started: list[WatchCache[T]] = []
        try:
            for part in self.parts:
                part.start()
                started.append(part)
        except ClusterError:
            for part in started:
                part.stop()
            raise

    def stop(self) -> None:
        for part in self.parts:
            part.stop()


def watch_cache(client: rest.Rest, kind: rest.Kind, *, scope: Scope,  # noqa: PLR0913
                trim: Callable[[Obj], T], label_selector: str | None = None,
                resync_every: float = 300.0, monotonic: Callable[[], float] = time.monotonic,
                key: Callable[[Obj], str] = uid_key) -> WatchCache[T] | ScopedCache[T]:
    """A cluster-wide cache, or one cache per namespace of ``scope``."""
    def one(namespace: str | None) -> WatchCache[T]:
        return WatchCache(client, kind, trim=trim, label_selector=label_selector,
                          resync_every=resync_every, key=key, namespace=namespace,
                          monotonic=monotonic)
    if scope.cluster_wide:
        return one(None)
    return ScopedCache([one(namespace) for namespace in scope.namespaces])
