"""Inventory: one LIST at start, a watch keeps it current, a tick costs no API calls."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from reclaimer.kube import rest
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory, default_mode
from reclaimer.kube.trim import trim_isvc
from reclaimer.model import DeploymentMode, ServiceRef, ServiceState
from tests.fixtures.counting import count_calls
from tests.kube.conftest import NS, MakeRest, isvc

pytestmark = pytest.mark.integration


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


def _inventory(client: rest.Rest, started: list[Inventory]) -> Inventory:
    inventory = Inventory(client)
    inventory.start()
    started.append(inventory)
    return inventory


def test_start_costs_one_list_each_and_snapshots_cost_nothing(
        make_rest: MakeRest, started: list[Inventory]) -> None:
    handle, client = make_rest({"inferenceServices": [isvc(f"m{i}") for i in range(20)]})
    handle.request_log.clear()
    inventory = _inventory(client, started)
    for _ in range(50):
        assert len(inventory.snapshot()) == 20
    assert (handle.request_log.count(verb="list", resource="inferenceservices"),
            handle.request_log.count(verb="list", resource="llminferenceservices"),
            handle.request_log.count(verb="list", resource="inferencegraphs"),
            handle.request_log.count(verb="list", resource="pods"),
            handle.request_log.count(verb="get", resource="configmaps"),
            handle.request_log.count(verb="get", resource="deployments")) == (1, 1, 1, 3, 1, 1)
    assert client.calls.get("GET", 0) == 8  # a LIST per kind and per kind's pods
    assert str(inventory.kserve_version) == "0.16.0"


def test_a_snapshot_is_in_ref_order_without_comparing_refs(
        make_rest: MakeRest, started: list[Inventory],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Sorted by the refs' fields compared in C: comparing `ServiceRef` objects is a
    Python call per pair compared, up to n log n of them a tick (before: 0.19 s
    of CPU for 50,000 refs in no order)."""
    names = [f"m{i}" for i in (7, 3, 11, 0, 5, 9, 1)]
    _, client = make_rest({"inferenceServices": [isvc(n) for n in names]})
    inventory = _inventory(client, started)
    assert _until(lambda: len(inventory.snapshot()) == len(names))
    compared = count_calls(monkeypatch, ServiceRef, "__lt__")
    refs = [s.ref for s in inventory.snapshot()]
    monkeypatch.undo()
    assert (refs, len(compared)) == (sorted(ServiceRef(NS, n) for n in names), 0)


def test_a_large_list_is_read_in_pages(make_rest: MakeRest,
                                        started: list[Inventory]) -> None:
    handle, client = make_rest({"inferenceServices": [isvc(f"m{i}") for i in range(7)]})
    inventory = Inventory(client)
    inventory.isvcs.page_size = 3
    handle.request_log.clear()
    inventory.start()
    started.append(inventory)
    assert len(inventory.snapshot()) == 7
    assert handle.request_log.count(verb="list", resource="inferenceservices") == 3


def test_a_new_isvc_arrives_through_the_watch(make_rest: MakeRest,
                                              started: list[Inventory]) -> None:
    handle, client = make_rest({"inferenceServices": [isvc("first")]})
    inventory = _inventory(client, started)
    handle.apply({"podTerminationSeconds": 0, "namespaces": [NS],
                  "inferenceServices": [isvc("second")]})
    assert _until(lambda: len(inventory.snapshot()) == 2)
    assert handle.request_log.count(verb="list", resource="inferenceservices") == 1


def test_a_stop_shows_up_as_stopped(make_rest: MakeRest, started: list[Inventory]) -> None:
    handle, client = make_rest({"kserve": "0.16", "inferenceServices": [isvc("llama")]})
    inventory = _inventory(client, started)
    client.merge_patch(rest.ISVC, NS, "llama",
                       {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    handle.wait_idle(terminations=True)
    assert _until(lambda: inventory.snapshot()[0].state is ServiceState.STOPPED)


def test_gpus_are_counted_from_pods_and_kept_while_stopped(
        make_rest: MakeRest, started: list[Inventory]) -> None:
    handle, client = make_rest({"kserve": "0.16", "inferenceServices": [
        isvc("llama", gpus=2, minReplicas=2)]})
    inventory = _inventory(client, started)
    assert _until(lambda: inventory.snapshot()[0].gpus == 4)
    client.merge_patch(rest.ISVC, NS, "llama",
                       {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})
    handle.wait_idle(terminations=True)
    assert _until(lambda: not inventory.pods.items())
    assert inventory.snapshot()[0].gpus == 4


@pytest.mark.parametrize(("configured", "expected"), [
    pytest.param("Standard", DeploymentMode.STANDARD, id="standard"),
    pytest.param("Knative", DeploymentMode.KNATIVE, id="knative"),
    pytest.param("RawDeployment", DeploymentMode.STANDARD, id="old-name"),
])
def test_default_mode_comes_from_kserves_configmap(make_rest: MakeRest, configured: str,
                                                   expected: DeploymentMode) -> None:
    _, client = make_rest({"defaultDeploymentMode": configured})
    assert default_mode(client) is expected


def test_isvc_without_mode_gets_the_cluster_default(make_rest: MakeRest,
                                                    started: list[Inventory]) -> None:
    _, client = make_rest({"defaultDeploymentMode": "Standard",
                           "inferenceServices": [{"namespace": NS, "name": "plain"}]})
    inventory = _inventory(client, started)
    (service,) = inventory.snapshot()
    assert (service.ref, service.mode) == (ServiceRef(NS, "plain"), DeploymentMode.STANDARD)


def test_a_failed_watch_is_recovered_by_a_relist(make_rest: MakeRest,
                                                 started: list[Inventory]) -> None:
    handle, client = make_rest({"inferenceServices": [isvc("first")]})
    inventory = Inventory(client)
    inventory.isvcs.retry_wait = 0.01
    handle.faults.add("watch", "inferenceservices", status=500, times=2)
    inventory.start()
    started.append(inventory)
    handle.apply({"podTerminationSeconds": 0, "namespaces": [NS],
                  "inferenceServices": [isvc("second")]})
    assert _until(lambda: len(inventory.snapshot()) == 2)


@pytest.mark.parametrize(("name", "by_uid", "found"), [
    pytest.param("m1", True, True, id="by-uid"),
    pytest.param("m1", False, True, id="by-ref-alone"),
    pytest.param("nobody", False, False, id="absent"),
])
def test_one_cached_isvc_is_read_without_an_api_call(
        make_rest: MakeRest, started: list[Inventory], name: str, by_uid: bool,
        found: bool) -> None:
    handle, client = make_rest({"inferenceServices": [isvc(f"m{i}") for i in range(3)]})
    inventory = _inventory(client, started)
    uid = client.get(rest.ISVC, NS, "m1")["metadata"]["uid"] if by_uid else None
    handle.request_log.clear()
    obj = inventory.isvc(ServiceRef(NS, name), uid=uid)
    assert (obj is not None, len(handle.request_log)) == (found, 0)
    assert obj is None or obj["metadata"]["name"] == name


def test_a_uid_of_another_service_finds_nothing(make_rest: MakeRest,
                                                started: list[Inventory]) -> None:
    _, client = make_rest({"inferenceServices": [isvc("m0"), isvc("m1")]})
    inventory = _inventory(client, started)
    uid = client.get(rest.ISVC, NS, "m0")["metadata"]["uid"]
    assert inventory.isvc(ServiceRef(NS, "m1"), uid=uid) is None


def test_one_isvc_is_read_from_the_cache_as_trimmed(make_rest: MakeRest,
                                                    started: list[Inventory]) -> None:
    _, client = make_rest({"kserve": "0.16", "inferenceServices": [isvc("llama")]})
    inventory = _inventory(client, started)
    calls = client.total_calls
    assert inventory.isvc(ServiceRef(NS, "llama")) == trim_isvc(client.get(rest.ISVC, NS, "llama"))
    assert client.total_calls == calls + 1  # the GET above, for comparison, only


def test_one_isvc_follows_the_watch(make_rest: MakeRest, started: list[Inventory]) -> None:
    _, client = make_rest({"inferenceServices": [isvc("llama")]})
    inventory = _inventory(client, started)
    client.merge_patch(rest.ISVC, NS, "llama",
                       {"metadata": {"annotations": {"serving.kserve.io/stop": "true"}}})

    def annotated() -> bool:
        obj = inventory.isvc(ServiceRef(NS, "llama")) or {}
        annotations: dict[str, str] = obj["metadata"]["annotations"]
        return annotations.get("serving.kserve.io/stop") == "true"

    assert _until(annotated)


def test_the_executors_list_is_one_call_of_trimmed_isvcs(make_rest: MakeRest) -> None:
    _, client = make_rest({"kserve": "0.16", "inferenceServices": [isvc(f"m{i}")
                                                                   for i in range(3)]})
    whole = client.list(rest.ISVC).get("items") or []
    calls = client.total_calls
    assert KubeCluster(client).list_isvcs() == [trim_isvc(o) for o in whole]
    assert client.total_calls == calls + 1


def test_the_executors_list_keeps_only_the_refs_it_verifies(make_rest: MakeRest) -> None:
    _, client = make_rest({"kserve": "0.16", "inferenceServices": [isvc(f"m{i}")
                                                                   for i in range(3)]})
    calls = client.total_calls
    kept = KubeCluster(client).list_isvcs({ServiceRef(NS, "m1"), ServiceRef(NS, "gone")})
    assert ([o["metadata"]["name"] for o in kept], client.total_calls) == (["m1"], calls + 1)
