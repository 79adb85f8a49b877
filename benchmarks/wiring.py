"""The reconcile loop wired as `reclaimer run` wires it, with counters for the benchmarks.

Real parts throughout: `Rest`/`Inventory`/`KubeCluster`/`EventRecorder` against the
sandbox over HTTP, the SQL ledger on SQLite (the default database), `PrometheusSignals`
against a real Prometheus, policy files re-read by `FilePolicies`. Two thin wrappers
only observe: `TimedRest` notes when each stop/start annotation write returned, and
`DecideClock` times `decide()` on the calling thread's CPU clock (the sandbox lives in
another process, but the watch threads and the thread pool share this one).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import reclaimer.service.loop as loop_module
from reclaimer.executor.executor import Executor
from reclaimer.kube import rest as rest_module
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import Rest
from reclaimer.ledger import MemoryLedger, SqlLedger
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import DecideSettings, Plan, ServiceKind, ServiceState
from reclaimer.service import memory
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler
from reclaimer.signals import SignalSource

STOP = "serving.kserve.io/stop"
STOP_ASKED = (ServiceState.STOPPING, ServiceState.STOPPED)


class TimedRest(Rest):
    """`Rest` that records the ``perf_counter`` at which each stop-annotation PATCH returned."""

    def __init__(self, api_client: Any) -> None:
        super().__init__(api_client)
        self.stop_writes: list[float] = []
        self.start_writes: list[float] = []
        self.started: list[tuple[str, str]] = []

    def merge_patch(self, kind: rest_module.Kind, namespace: str | None, name: str,
                    body: dict[str, Any], *, subresource: str | None = None
                    ) -> dict[str, Any]:
        answer = super().merge_patch(kind, namespace, name, body, subresource=subresource)
        annotations = (body.get("metadata") or {}).get("annotations") or {}
        if kind == rest_module.ISVC and subresource is None and STOP in annotations:
            done = time.perf_counter()
            (self.stop_writes if annotations[STOP] == "true" else self.start_writes).append(done)
            if annotations[STOP] != "true":
                self.started.append((str(namespace), name))
        return answer


@dataclass
class DecideClock:
    """CPU seconds of each `decide()` call the loop made while installed."""

    cpu: list[float] = field(default_factory=list)

    @contextmanager
    def installed(self) -> Iterator[DecideClock]:
        original: Callable[..., Plan] = getattr(loop_module, "decide")  # noqa: B009

        def timed(*args: Any, **kwargs: Any) -> Plan:
            began = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu.append(time.thread_time() - began)

        setattr(loop_module, "decide", timed)  # noqa: B010
        try:
            yield self
        finally:
            setattr(loop_module, "decide", original)  # noqa: B010


class TimedSignals:
    """A `SignalSource` that counts and times the evaluations it passes through."""

    def __init__(self, inner: SignalSource) -> None:
        self.inner = inner
        self.seconds: list[float] = []
        self._lock = threading.Lock()

    def fetch(self, *, at: datetime, window: timedelta) -> Mapping[Any, Any]:
        return self.fetch_windows(at=at, windows=[window])[window]

    def fetch_windows(self, *, at: datetime, windows: Sequence[timedelta],
                      recent: timedelta | None = None,
                      kinds: Collection[ServiceKind] = (ServiceKind.INFERENCE_SERVICE,),
                      ) -> Mapping[Any, Any]:
        began = time.perf_counter()
        try:
            return self.inner.fetch_windows(at=at, windows=windows, recent=recent, kinds=kinds)
        finally:
            with self._lock:
                self.seconds.append(time.perf_counter() - began)


@dataclass
class Wired:
    reconciler: Reconciler
    rest: TimedRest
    inventory: Inventory
    ledger: Ledger
    signals: TimedSignals

    def close(self) -> None:
        self.reconciler.close()
        self.inventory.stop()
        self.ledger.close()


def sqlite_ledger(path: Path) -> SqlLedger:
    """Migrated by ``reclaimer db upgrade`` in a child process, then opened as the
    service opens it (`SqlLedger.open`, with its schema check): alembic, which the
    service no longer loads, stays out of the process whose RSS is measured."""
    url = f"sqlite:///{path}"
    subprocess.run([sys.executable, "-m", "reclaimer", "db", "upgrade", "--db", url],
                   check=True, capture_output=True)
    return SqlLedger.open(url)


def wire(url: str, workdir: Path, *, signals: SignalSource, workers: int = 8,
         decide: DecideSettings | None = None, ledger_kind: str = "sqlite") -> Wired:
    """Policies are read from ``workdir/policies``; the ledger is ``workdir/ledger.db``
    (``ledger_kind="memory"``: `MemoryLedger`, to tell the ledger's share apart)."""
    memory.tune_collector()  # as `reclaimer run` does at start
    rest = TimedRest(api_client_for_host(url))
    inventory = Inventory(rest)
    inventory.start()
    ledger: Ledger = (MemoryLedger() if ledger_kind == "memory"
                      else sqlite_ledger(workdir / "ledger.db"))
    executor = Executor(KubeCluster(rest, events=EventRecorder(rest)), ledger, actor="bench",
                        cached=inventory)
    timed = TimedSignals(signals)
    parts = LoopParts(inventory=inventory, signals=timed, ledger=ledger, executor=executor)
    settings = LoopSettings(policy_paths=(workdir / "policies",),
                            decide=decide or DecideSettings(), actor="bench", workers=workers)
    return Wired(reconciler=Reconciler(parts, settings=settings), rest=rest,
                 inventory=inventory, ledger=ledger, signals=timed)


def write_policies(workdir: Path, documents: Sequence[str]) -> None:
    folder = workdir / "policies"
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(documents):
        (folder / f"p{i:03d}.yaml").write_text(text)


def settle(inventory: Inventory, expected: int, *, timeout: float = 120.0,
           count: Callable[[Inventory], int] | None = None) -> None:
    """Wait until the watch-backed cache holds ``expected`` ISVCs."""
    counter = count or (lambda inv: len(inv.isvcs.items()))
    deadline = time.monotonic() + timeout
    while counter(inventory) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"inventory holds {counter(inventory)} of {expected} ISVCs")
        time.sleep(0.05)
