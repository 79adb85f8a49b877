"""A sandbox API server preloaded with a fleet, in its own process, for the scale benchmarks.

The service's peak RSS and CPU are the figures that matter, so the sandbox (store,
HTTP server, 10,000 ISVCs with their pods) runs in a child process started with
``spawn``: nothing of it is counted in the benchmark process's ``ru_maxrss`` (its
modules are imported in the child only) and it does not compete for the benchmark's
GIL. Objects go straight into ``Store.create`` (as ``benchmarks/sandbox_scale.py``
does), with the status KServe 0.16 writes (``Ready`` and
``Stopped=False``, so the executor picks the native strategy), and one predictor pod per
running ISVC requesting one GPU. There is no KServe simulator: every figure here is the
service's side of a tick (observe, decide, the API writes), and no verification
completes, which a tick never waits for anyway (the follow-up checks with two LISTs).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the sandbox is the child's: not imported by the measured process
    from kubesandbox.store import Store

STOP = "serving.kserve.io/stop"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
CREATED = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class Fleet:
    """``isvcs`` ISVCs named ``model-NNNNN`` spread round-robin over ``team-NNN`` namespaces."""

    isvcs: int
    namespaces: int
    stopped: bool = False

    def namespace(self, i: int) -> str:
        return f"team-{i % self.namespaces:03d}"

    def refs(self) -> Iterator[tuple[int, str, str]]:
        for i in range(self.isvcs):
            yield i, self.namespace(i), f"model-{i:05d}"


def pod_name(name: str) -> str:
    return f"{name}-predictor-7d9f8-abcde"


def conditions(stopped: bool) -> list[dict[str, str]]:
    """As KServe 0.16 writes them (``kserve_stop.md`` §2.7): ``Stopped`` never has a
    reason (one with a reason is not KServe's evidence of its native stop); a stopped
    service's readiness conditions are False with reason ``Stopped``."""
    ready = {"status": "False", "reason": "Stopped"} if stopped else {"status": "True"}
    out = [{"type": t, **ready, "lastTransitionTime": CREATED}
           for t in ("IngressReady", "PredictorReady", "Ready")]
    out.append({"type": "Stopped", "status": "True" if stopped else "False",
                "lastTransitionTime": CREATED})
    return out


def _isvc(name: str, *, stopped: bool) -> dict[str, Any]:
    annotations = {"serving.kserve.io/deploymentMode": "RawDeployment"}
    if stopped:
        annotations[STOP] = "true"
    return {"metadata": {"name": name, "labels": {"tier": "dev"}, "annotations": annotations},
            "spec": {"predictor": {"minReplicas": 1, "model": {
                "modelFormat": {"name": "vllm"}, "storageUri": f"s3://models/{name}",
                "resources": {"limits": {"nvidia.com/gpu": "1"}}}}}}


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": pod_name(name),
                         "labels": {ISVC_LABEL: name, "component": "predictor"}},
            "spec": {"containers": [{"name": "kserve-container", "image": "vllm:0.6",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}


def preload(store: Store, fleet: Fleet) -> None:
    from kubesandbox import types  # noqa: PLC0415 - module docstring

    for _, ns, name in fleet.refs():
        made = store.create(types.INFERENCESERVICES, _isvc(name, stopped=fleet.stopped),
                            namespace=ns)
        status = {"deploymentMode": "RawDeployment", "conditions": conditions(fleet.stopped)}
        store.replace(types.INFERENCESERVICES, {**made, "status": status},
                      subresource="status")
        if not fleet.stopped:
            store.create(types.PODS, _pod(name), namespace=ns)


def _serve(fleet: Fleet, conn: Connection) -> None:
    """Child process: preload, serve, report the URL, then wait for the word to stop."""
    from kubesandbox.server import ApiServer  # noqa: PLC0415 - module docstring
    from kubesandbox.store import Store  # noqa: PLC0415

    store = Store()
    started = time.perf_counter()
    preload(store, fleet)
    server = ApiServer(store)
    server.start()
    conn.send((server.url, time.perf_counter() - started))
    with suppress(EOFError):
        conn.recv()
    server.stop()
    store.close()


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    preload_seconds: float


@contextmanager
def sandbox(fleet: Fleet) -> Iterator[RunningSandbox]:
    """The fleet served on 127.0.0.1 by a child process, stopped on exit."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(fleet, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(600):
            raise RuntimeError("sandbox child did not start within 600 s")
        url, seconds = ours.recv()
        yield RunningSandbox(url=url, preload_seconds=seconds)
    finally:
        if process.is_alive():
            ours.send("stop")
            process.join(timeout=30)
        if process.is_alive():
            process.terminate()
            process.join()
