"""The inventory observes LLMInferenceServices and InferenceGraphs where the cluster
serves them, and nothing breaks where it does not (issue 15 items 2-3)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reclaimer.kube import rest
from reclaimer.kube.cache import WatchThread
from reclaimer.kube.inventory import Inventory
from reclaimer.model import ServiceKind, ServiceRef, ServiceState
from tests.kube.conftest import NS, MakeRest, isvc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
LLM = ServiceRef(NS, "chat", ServiceKind.LLM_INFERENCE_SERVICE)
ISVC = ServiceRef(NS, "chat")
GPU = {"nvidia.com/gpu": "1"}
LLM_OBJ = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
           "metadata": {"name": "chat", "namespace": NS},
           "spec": {"replicas": 2, "template": {"containers": [
               {"name": "main", "image": "vllm/vllm-openai:latest",
                "resources": {"limits": GPU, "requests": GPU}}]}}}


def _until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def started() -> Iterator[list[Inventory]]:
    inventories: list[Inventory] = []
    yield inventories
    for inventory in inventories:
        inventory.stop()


def _world(make_rest: MakeRest, kserve: str = "0.17") -> tuple[Any, rest.Rest]:
    handle, client = make_rest({"kserve": kserve, "objects": [LLM_OBJ],
                                "inferenceServices": [isvc("chat", gpus=1)]})
    handle.wait_idle()
    return handle, client


def _states(inventory: Inventory) -> dict[ServiceRef, tuple[ServiceState, int | None]]:
    return {s.ref: (s.state, s.gpus) for s in inventory.snapshot()}


def test_namesakes_of_two_kinds_are_two_services(make_rest: MakeRest,
                                                  started: list[Inventory]) -> None:
    _, client = _world(make_rest)
    inventory = Inventory(client)
    inventory.start()
    started.append(inventory)
    assert _states(inventory) == {ISVC: (ServiceState.RUNNING, 1),
                                  LLM: (ServiceState.RUNNING, 2)}


def test_a_stopped_llm_inference_service_is_stopped(make_rest: MakeRest,
                                                    started: list[Inventory]) -> None:
    handle, client = _world(make_rest)
    inventory = Inventory(client)
    inventory.start()
    started.append(inventory)
    client.merge_patch(rest.SERVICE_KINDS[LLM.kind], NS, "chat",
                       {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    handle.wait_idle(terminations=True)
    assert _until(lambda: _states(inventory)[LLM] == (ServiceState.STOPPED, 2), timeout=60)
    assert _states(inventory)[ISVC] == (ServiceState.RUNNING, 1)


def test_a_stopped_service_keeps_the_gpus_it_held_while_a_last_pod_lingers(
        make_rest: MakeRest, started: list[Inventory]) -> None:
    """Its pods go one watch event at a time: a count taken between them is no
    measure of what the stop gave back (the CI flake of 2026-12-06)."""
    handle, client = _world(make_rest)
    inventory = Inventory(client)
    inventory.start()
    started.append(inventory)
    assert _until(lambda: _states(inventory)[LLM] == (ServiceState.RUNNING, 2))
    client.merge_patch(rest.SERVICE_KINDS[LLM.kind], NS, "chat",
                       {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    handle.wait_idle(terminations=True)
    assert _until(lambda: _states(inventory)[LLM][0] is ServiceState.STOPPED)
    client.create(rest.POD, NS, _lingering_llm_pod())
    assert _until(lambda: _llm_pods(inventory) == 1)
    assert _states(inventory)[LLM] == (ServiceState.STOPPED, 2)


def _lingering_llm_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "chat-kserve-last", "namespace": NS,
                         "labels": {"app.kubernetes.io/name": "chat",
                                    "app.kubernetes.io/part-of": "llminferenceservice",
                                    "app.kubernetes.io/component":
                                        "llminferenceservice-workload"}},
            "spec": {"containers": [{"name": "main", "image": "vllm/vllm-openai:latest",
                                     "resources": {"limits": GPU, "requests": GPU}}]}}


def _llm_pods(inventory: Inventory) -> int:
    return sum(1 for o in inventory.others.values() for s in o.pod_shares() if s)


def test_an_absent_crd_is_one_log_line_and_nothing_else(
        make_rest: MakeRest, started: list[Inventory], caplog: pytest.LogCaptureFixture) -> None:
    handle, client = _world(make_rest, kserve="0.16")
    for plural in ("llminferenceservices", "inferencegraphs"):
        handle.world.store.registry.unregister("serving.kserve.io", plural)
    caplog.set_level(logging.INFO, logger="reclaimer.inventory")
    inventory = Inventory(client)
    inventory.start()
    started.append(inventory)
    inventory.resync()
    inventory.resync()
    lines = [r.getMessage() for r in caplog.records if "not served" in r.getMessage()]
    assert (list(_states(inventory)), lines) == ([ISVC], [
        "LLMInferenceService is not served by this cluster (its CRD is absent): not observed",
        "InferenceGraph is not served by this cluster (its CRD is absent): not observed"])


def _watching() -> list[str]:
    return sorted(t.name for t in threading.enumerate()
                  if isinstance(t, WatchThread) and not t.stopping.is_set())


def test_a_resync_of_an_inventory_never_started_lists_every_kind_and_watches_none(
        make_rest: MakeRest) -> None:
    """A one-off read (``Inventory(...).resync()``, as tools and tests do) started the
    LLMInferenceService and InferenceGraph watches, which nothing ever stopped: they
    polled a server long gone for the rest of the process."""
    _, client = _world(make_rest)
    before = _watching()
    inventory = Inventory(client)
    inventory.resync()
    assert (_states(inventory), _watching()) == (
        {ISVC: (ServiceState.RUNNING, 1), LLM: (ServiceState.RUNNING, 2)}, before)


def test_a_stopped_inventory_starts_no_watch_when_a_kind_appears(make_rest: MakeRest) -> None:
    handle, client = _world(make_rest)
    registry = handle.world.store.registry
    gone = registry.unregister("serving.kserve.io", "llminferenceservices")
    inventory = Inventory(client)
    inventory.start()
    inventory.stop()
    before = _watching()
    for rtype in gone:
        registry.register(rtype)
    inventory.resync()
    assert (LLM in _states(inventory), _watching()) == (True, before)


def test_a_kind_whose_crd_comes_back_is_watched_again(make_rest: MakeRest,
                                                      started: list[Inventory]) -> None:
    """Its caches were started again after their stop, and a restarted cache's thread
    saw the old stop flag and ended at once: the kind was only re-listed every resync."""
    handle, client = _world(make_rest)
    inventory = Inventory(client)
    inventory.start()
    started.append(inventory)
    registry = handle.world.store.registry
    gone = registry.unregister("serving.kserve.io", "llminferenceservices")
    inventory.resync()
    assert LLM not in _states(inventory)
    for rtype in gone:
        registry.register(rtype)
    inventory.resync()
    client.merge_patch(rest.SERVICE_KINDS[LLM.kind], NS, "chat",
                       {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    assert _until(lambda: _states(inventory)[LLM][0] is ServiceState.STOPPED, timeout=30)
