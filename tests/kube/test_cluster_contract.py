"""The `Cluster` port's contract: `KubeCluster` on the sandbox over HTTP and the
in-memory fake (`tests.fixtures.memory_cluster`) behave alike.

The executor's fast unit tests (tests/executor/test_on_memory_cluster.py) trust the
fake for exactly what is asserted here: precondition conflicts, merge-patch semantics,
subresources, NotFound where a child is missing, Events folded into a count, and the
error type each HTTP status becomes. What KServe does with a change is not the port's
business and is not asserted: the fake does nothing, the sandbox simulates KServe.
LLMInferenceServices and InferenceGraphs: tests/kube/test_cluster_contract_kinds.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest

from reclaimer.errors import (
    ClusterError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    TooManyRequests,
)
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.ports import Cluster, Obj, RuntimeWorkload
from reclaimer.kube.rest import Rest
from reclaimer.model import ServiceRef
from tests.fixtures.memory_cluster import MemoryCluster, isvc_object, owned_by
from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.timeout(30)
NS = "team-a"
LLAMA = ServiceRef(NS, "llama")
BERT = ServiceRef(NS, "bert")
GONE = ServiceRef(NS, "gone")
AT = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
NOTE = "example.com/note"


class World(Protocol):
    """One implementation of the port, and the test's hands on the world behind it:
    ``llama`` (Standard: Deployment ``llama-predictor`` at 1 replica, KServe's HPA, one
    pod) and ``bert`` (Knative, one pod) in ``team-a``."""

    cluster: Cluster

    def fail(self, verb: str, resource: str, *, status: int, times: int = 1,
             retry_after: int | None = None) -> None: ...

    def events(self) -> list[Obj]: ...


class SandboxWorld:
    def __init__(self, handle: SandboxHandle, rest: Rest) -> None:
        self.handle = handle
        self.rest = rest
        self.cluster: Cluster = KubeCluster(rest)

    def fail(self, verb: str, resource: str, *, status: int, times: int = 1,
             retry_after: int | None = None) -> None:
        self.handle.faults.add(verb, resource, status=status, times=times,
                               retry_after=retry_after)

    def events(self) -> list[Obj]:
        return list(self.rest.request("GET", f"/api/v1/namespaces/{NS}/events")["items"])


class FakeWorld:
    def __init__(self) -> None:
        self.fake = MemoryCluster()
        self.cluster: Cluster = self.fake
        llama = isvc_object(NS, "llama", uid="uid-llama", mode="Standard")
        self.fake.put_isvc(llama, pods=1)
        self.fake.put_deployment(owned_by(llama, "Deployment", "llama-predictor",
                                          spec={"replicas": 1}))
        self.fake.put_scaler(owned_by(llama, "HorizontalPodAutoscaler", "llama-predictor",
                                      spec={"scaleTargetRef": {"kind": "Deployment",
                                                               "name": "llama-predictor"}}))
        self.fake.put_isvc(isvc_object(NS, "bert", uid="uid-bert", mode="Knative"), pods=1)

    def fail(self, verb: str, resource: str, *, status: int, times: int = 1,
             retry_after: int | None = None) -> None:
        self.fake.fail(verb, resource, status=status, times=times, retry_after=retry_after)

    def events(self) -> list[Obj]:
        return self.fake.events


@pytest.fixture(params=["memory", pytest.param("sandbox", marks=pytest.mark.integration)])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "memory":
        yield FakeWorld()
        return
    make_sandbox: Callable[..., SandboxHandle] = request.getfixturevalue("make_sandbox")
    handle = make_sandbox({
        "kserve": "0.14", "podTerminationSeconds": 0, "namespaces": [NS],
        "inferenceServices": [{"namespace": NS, "name": "llama", "mode": "Standard", "gpus": 1},
                              {"namespace": NS, "name": "bert", "mode": "Knative", "gpus": 1}]})
    handle.wait_idle()
    api = api_client_for_host(handle.url)
    yield SandboxWorld(handle, Rest(api))
    api.close()  # type: ignore[no-untyped-call]


def _version(obj: Obj) -> str:
    return str(obj["metadata"]["resourceVersion"])


def _note(cluster: Cluster, value: str | None, *, version: str | None = None) -> Obj:
    meta: dict[str, Any] = {"annotations": {NOTE: value}}
    if version is not None:
        meta["resourceVersion"] = version
    return cluster.patch_isvc(LLAMA, {"metadata": meta})


def test_get_returns_the_isvc_with_its_identity(world: World) -> None:
    meta = world.cluster.get_isvc(LLAMA)["metadata"]
    identity = (meta["namespace"], meta["name"], bool(meta["uid"]), bool(meta["resourceVersion"]))
    assert identity == (NS, "llama", True, True)


def test_get_of_a_missing_isvc_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.cluster.get_isvc(GONE)


@pytest.mark.parametrize(("refs", "listed"), [
    pytest.param(None, {LLAMA, BERT}, id="all"),
    pytest.param({LLAMA}, {LLAMA}, id="only-those-asked"),
    pytest.param({BERT, GONE}, {BERT}, id="a-missing-one-is-left-out"),
    pytest.param(set(), set(), id="none-asked"),
])
def test_list_returns_the_isvcs_asked_for(world: World, refs: set[ServiceRef] | None,
                                          listed: set[ServiceRef]) -> None:
    found = world.cluster.list_isvcs(refs)
    assert {ServiceRef(o["metadata"]["namespace"], o["metadata"]["name"]) for o in found} == listed


def test_list_keeps_what_the_executor_reads(world: World) -> None:
    (obj,) = world.cluster.list_isvcs({LLAMA})
    assert (sorted(obj), "predictor" in obj["spec"], "conditions" in obj["status"]) == (
        ["apiVersion", "kind", "metadata", "spec", "status"], True, True)


def test_a_patch_merges_and_returns_the_new_object(world: World) -> None:
    before = world.cluster.get_isvc(LLAMA)
    patched = _note(world.cluster, "x", version=_version(before))
    annotations = patched["metadata"]["annotations"]
    assert (annotations[NOTE], annotations["serving.kserve.io/deploymentMode"],
            _version(patched) != _version(before)) == ("x", "Standard", True)


def test_a_patch_is_read_back(world: World) -> None:
    patched = _note(world.cluster, "x")
    assert world.cluster.get_isvc(LLAMA)["metadata"]["annotations"][NOTE] == (
        patched["metadata"]["annotations"][NOTE])


def test_a_null_in_a_patch_removes_the_annotation(world: World) -> None:
    _note(world.cluster, "x")
    removed = _note(world.cluster, None)
    assert NOTE not in (removed["metadata"].get("annotations") or {})


def test_a_patch_with_a_stale_resource_version_is_a_conflict(world: World) -> None:
    stale = _version(world.cluster.get_isvc(LLAMA))
    _note(world.cluster, "newer")
    with pytest.raises(Conflict):
        _note(world.cluster, "older", version=stale)
    assert world.cluster.get_isvc(LLAMA)["metadata"]["annotations"][NOTE] == "newer"


def test_a_patch_of_a_missing_isvc_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.cluster.patch_isvc(GONE, {"metadata": {"annotations": {NOTE: "x"}}})


def _stopped(obj: Obj) -> list[Obj]:
    return [c for c in obj["status"].get("conditions") or [] if c.get("type") == "Stopped"]


def _status_body(version: str) -> Obj:
    condition = {"type": "Stopped", "status": "True", "reason": "Reclaimed",
                 "message": "contract", "lastTransitionTime": "2026-03-02T19:00:00Z"}
    return {"metadata": {"resourceVersion": version}, "status": {"conditions": [condition]}}


def test_a_status_patch_writes_the_condition_and_nothing_else(world: World) -> None:
    before = world.cluster.get_isvc(LLAMA)
    body = _status_body(_version(before)) | {"metadata": {
        "resourceVersion": _version(before), "annotations": {NOTE: "ignored"}}}
    patched = world.cluster.patch_isvc_status(LLAMA, body)
    assert ([c["reason"] for c in _stopped(patched)], NOTE in patched["metadata"]["annotations"]
            ) == (["Reclaimed"], False)


def test_a_status_patch_with_a_stale_resource_version_is_a_conflict(world: World) -> None:
    stale = _version(world.cluster.get_isvc(LLAMA))
    _note(world.cluster, "newer")
    with pytest.raises(Conflict):
        world.cluster.patch_isvc_status(LLAMA, _status_body(stale))


def test_pods_are_counted_per_isvc(world: World) -> None:
    assert dict(world.cluster.pod_counts()) == {LLAMA: 1, BERT: 1}


@pytest.mark.parametrize(("refs", "counted"), [
    pytest.param({LLAMA}, {LLAMA: 1}, id="only-those-asked"),
    pytest.param({BERT, GONE}, {BERT: 1}, id="a-missing-one-is-left-out"),
    pytest.param({ServiceRef("team-b", "llama")}, {}, id="a-namesake-elsewhere-is-not-it"),
    pytest.param(set(), {}, id="none-asked"),
])
def test_pods_are_counted_for_the_services_asked(world: World, refs: set[ServiceRef],
                                                 counted: dict[ServiceRef, int]) -> None:
    assert dict(world.cluster.pod_counts(refs)) == counted


@pytest.mark.parametrize("names", [
    pytest.param({"llama"}, id="one"),
    pytest.param({"llama", "gone"}, id="a-missing-one-is-left-out"),
    pytest.param({"gone"}, id="none-there"),
])
def test_component_deployments_of_the_isvcs_named(world: World, names: set[str]) -> None:
    everything = world.cluster.list_component_deployments([NS])
    found = world.cluster.list_component_deployments([NS], names=names)
    assert (LLAMA in everything, found) == (
        True, {ref: d for ref, d in everything.items() if ref.name in names})


def test_component_deployments_are_the_isvcs_own(world: World) -> None:
    found = world.cluster.component_deployments(LLAMA)
    assert [(d["metadata"]["name"], d["spec"]["replicas"]) for d in found] == [
        ("llama-predictor", 1)]


def test_component_deployments_of_a_namespace_are_keyed_by_their_isvc(world: World) -> None:
    """One LIST per namespace for verification (`FollowUp`): each Deployment under the
    ISVC its label names (the sandbox also has ``bert``'s Knative revision)."""
    found = world.cluster.list_component_deployments([NS])
    assert set(found) <= {LLAMA, BERT}
    assert [(d["metadata"]["name"], d["spec"]["replicas"]) for d in found[LLAMA]] == [
        ("llama-predictor", 1)]


def test_component_deployments_of_other_namespaces_are_not_listed(world: World) -> None:
    assert world.cluster.list_component_deployments(["team-b"]) == {}


def test_a_scale_is_seen_by_the_next_namespace_list(world: World) -> None:
    world.cluster.scale_deployment(NS, "llama-predictor", 0)
    found = world.cluster.list_component_deployments([NS])
    assert [d["spec"]["replicas"] for d in found[LLAMA]] == [0]


def test_a_scale_with_a_stale_resource_version_is_a_conflict(world: World) -> None:
    (deployment,) = world.cluster.component_deployments(LLAMA)
    world.cluster.scale_deployment(NS, "llama-predictor", 2)
    with pytest.raises(Conflict):
        world.cluster.scale_deployment(NS, "llama-predictor", 0,
                                       resource_version=_version(deployment))


def test_a_scale_with_the_current_resource_version_is_written(world: World) -> None:
    (deployment,) = world.cluster.component_deployments(LLAMA)
    world.cluster.scale_deployment(NS, "llama-predictor", 0,
                                   resource_version=_version(deployment))
    assert [d["spec"]["replicas"] for d in world.cluster.component_deployments(LLAMA)] == [0]


def test_a_scale_to_zero_is_seen_by_the_next_list(world: World) -> None:
    world.cluster.scale_deployment(NS, "llama-predictor", 0)
    assert [d["spec"]["replicas"] for d in world.cluster.component_deployments(LLAMA)] == [0]


def test_a_missing_deployment_is_already_at_zero(world: World) -> None:
    world.cluster.scale_deployment(NS, "gone-predictor", 0)


def test_a_missing_deployment_cannot_be_scaled_up(world: World) -> None:
    with pytest.raises(NotFound):
        world.cluster.scale_deployment(NS, "gone-predictor", 1)


def test_scalers_without_keda_or_argo_are_kserves_hpa_alone(world: World) -> None:
    scalers = world.cluster.list_scalers(NS)
    assert (scalers.scaled_objects, [h["metadata"]["name"] for h in scalers.hpas],
            scalers.rollouts) == ((), ["llama-predictor"], ())


def test_a_patch_of_a_missing_scaled_object_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.cluster.patch_scaled_object(NS, "llama-predictor",
                                          {"metadata": {"annotations": {NOTE: "x"}}})


def _emit(cluster: Cluster, message: str = "stopped") -> None:
    cluster.emit_event(LLAMA, "uid", reason="Reclaimed", message=message, warning=False, at=AT)


def _seen(world: World) -> list[tuple[str, str, str, int]]:
    return sorted((e["involvedObject"]["name"], e["reason"], e["message"], e["count"])
                  for e in world.events())


def test_a_repeated_event_is_one_event_with_a_count(world: World) -> None:
    _emit(world.cluster)
    _emit(world.cluster)
    _emit(world.cluster, "another")
    assert _seen(world) == [("llama", "Reclaimed", "another", 1),
                            ("llama", "Reclaimed", "stopped", 2)]


def test_a_failed_event_write_is_lost_not_raised(world: World) -> None:
    world.fail("create", "events", status=500)
    _emit(world.cluster)
    assert _seen(world) == []


@pytest.mark.parametrize(("status", "error"), [
    pytest.param(409, Conflict, id="409-conflict"),
    pytest.param(429, TooManyRequests, id="429-too-many"),
    pytest.param(500, ServerError, id="500-server"),
    pytest.param(503, ServerError, id="503-unavailable"),
    pytest.param(403, Forbidden, id="403-forbidden"),
    pytest.param(422, Invalid, id="422-invalid"),
])
@pytest.mark.parametrize("call", [
    pytest.param(lambda c: c.get_isvc(LLAMA), id="get"),
    pytest.param(lambda c: c.patch_isvc(LLAMA, {"metadata": {"annotations": {NOTE: "x"}}}),
                 id="patch"),
    pytest.param(lambda c: c.scale_deployment(NS, "llama-predictor", 0), id="scale"),
])
def test_each_status_is_raised_as_its_type(world: World, status: int,
                                           error: type[ClusterError],
                                           call: Callable[[Cluster], object]) -> None:
    world.fail("*", "*", status=status)
    with pytest.raises(error):
        call(world.cluster)


def test_a_retry_after_is_carried(world: World) -> None:
    world.fail("get", "inferenceservices", status=429, retry_after=7)
    with pytest.raises(TooManyRequests) as raised:
        world.cluster.get_isvc(LLAMA)
    assert raised.value.retry_after == 7.0


def test_a_fault_is_used_up(world: World) -> None:
    world.fail("get", "inferenceservices", status=500, times=2)
    failures = 0
    for _ in range(3):
        try:
            world.cluster.get_isvc(LLAMA)
        except ServerError:
            failures += 1
    assert failures == 2


def test_a_status_in_a_main_resource_patch_is_ignored(world: World) -> None:
    before = world.cluster.get_isvc(LLAMA)
    body = _status_body(_version(before))
    body["metadata"]["annotations"] = {NOTE: "x"}
    patched = world.cluster.patch_isvc(LLAMA, body)
    assert (_stopped(patched) == _stopped(before), patched["metadata"]["annotations"][NOTE]) == (
        True, "x")


class _DecodeCounting(Rest):
    """The real adapter, counting the LIST items it decodes per resource."""

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self.decoded: dict[str, int] = {}

    def list_items(self, kind: Any, *, namespace: str | None = None,
                   label_selector: str | None = None) -> Iterator[Obj]:
        for item in super().list_items(kind, namespace=namespace, label_selector=label_selector):
            self.decoded[kind.plural] = self.decoded.get(kind.plural, 0) + 1
            yield item


@pytest.mark.integration
def test_verification_decodes_only_the_pods_of_the_services_asked(
        world: World) -> None:
    if not isinstance(world, SandboxWorld):
        pytest.skip("the sandbox's HTTP answers are what is decoded")
    counting = _DecodeCounting(world.rest.api_client)
    KubeCluster(counting).pod_counts({LLAMA})
    assert counting.decoded == {"pods": 1}
def test_namespace_isvcs_are_every_isvc_of_the_namespace(world: World) -> None:
    assert sorted(o["metadata"]["name"] for o in world.cluster.namespace_isvcs(NS)) == [
        "bert", "llama"]


def test_a_missing_serving_runtime_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.cluster.get_serving_runtime(NS, "absent")


def test_a_patch_of_a_missing_serving_runtime_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.cluster.patch_serving_runtime(NS, "absent", {"spec": {"replicas": 0}})


def test_a_missing_runtime_deployment_has_no_replicas_and_no_pods(world: World) -> None:
    assert world.cluster.runtime_workload(NS, "modelmesh-serving-absent") == RuntimeWorkload()
