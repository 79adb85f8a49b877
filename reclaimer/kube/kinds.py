"""The watch caches of one KServe kind, which the cluster may not serve at all.

InferenceGraph needs KServe 0.16's CRD, LLMInferenceService 0.17's, and many clusters
have neither. A kind whose LIST answers 404 is *absent*: nothing of it is observed, one
log line says so, and every resync asks again (the CRD may be installed later), saying
so once when it appears or goes away. Any other failure is raised, as for
InferenceServices: not knowing what runs is no state to act from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from reclaimer.errors import NotFound
from reclaimer.kserve import KINDS
from reclaimer.kube import rest
from reclaimer.kube.cache import name_key
from reclaimer.kube.scope import Scope, watch_cache
from reclaimer.kube.trim import KeptIsvc, PodShare, keep_pod
from reclaimer.model import ServiceKind

Obj = dict[str, Any]
log = logging.getLogger("reclaimer.inventory")


class KindCaches:
    """The services of one kind and their pods; empty while the kind is absent."""

    def __init__(self, client: rest.Rest, kind: ServiceKind, *, scope: Scope,
                 keep: Callable[[Obj], KeptIsvc], resync_every: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self.present = False
        self._watching = False
        self._reported: bool | None = None
        info = KINDS[kind]
        self.services = watch_cache(client, rest.SERVICE_KINDS[kind], scope=scope,
                                    resync_every=resync_every, monotonic=monotonic,
                                    trim=keep, key=name_key)
        self.pods = watch_cache(client, rest.POD, scope=scope,
                                label_selector=info.pod_selector, resync_every=resync_every,
                                monotonic=monotonic,
                                trim=lambda pod: keep_pod(pod, kind))

    def start(self) -> None:
        """LIST and WATCH the kind from now until `stop`, if the cluster serves it."""
        self._watching = True
        self._appear()

    def resync(self) -> None:
        """A fresh LIST. A kind that appears is watched from here only between `start`
        and `stop`: an inventory never started (a one-off read) or stopped only lists,
        and leaves no watch running that nothing would ever stop."""
        if not self.present:
            self._appear()
            return
        try:
            self.services.resync()
        except NotFound:
            self._halt()
            self._report(present=False)
            return
        self.pods.resync()

    def stop(self) -> None:
        self._watching = False
        self._halt()

    def _appear(self) -> None:
        """The kind's first LIST (then its watches, while started); absent on a 404."""
        try:
            if self._watching:
                self.services.start()
            else:
                self.services.resync()
        except NotFound:
            self._report(present=False)
            return
        if self._watching:
            self.pods.start()
        else:
            self.pods.resync()
        self._report(present=True)

    def _halt(self) -> None:
        """End the watches (stopping caches never started is harmless)."""
        self.services.stop()
        self.pods.stop()

    def kept(self) -> list[KeptIsvc]:
        return self.services.items() if self.present else []

    def pod_shares(self) -> list[PodShare]:
        return self.pods.items() if self.present else []

    def get(self, key: str) -> KeptIsvc | None:
        return self.services.get(key) if self.present else None

    def _report(self, *, present: bool) -> None:
        self.present = present
        if self._reported is present:
            return
        if present:
            log.info("%s is served: observing it", self.kind.value)
        else:
            log.info("%s is not served by this cluster (its CRD is absent): not observed",
                     self.kind.value)
        self._reported = present
