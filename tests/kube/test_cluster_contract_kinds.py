"""The `Cluster` port's contract for the kinds beyond InferenceService (issue 15):
`KubeCluster` on the sandbox's KServe 0.17 over HTTP and the in-memory fake keep an
LLMInferenceService and an InferenceGraph apart from an InferenceService of the same
name, in reads, writes, LISTs, pod counts and Events (tests/kube/test_cluster_contract.py
has the rest of the contract, on InferenceServices)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from reclaimer.errors import NotFound
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.isvc import ref_of
from reclaimer.kube.ports import Cluster, Obj
from reclaimer.kube.rest import Rest
from reclaimer.model import ServiceKind, ServiceRef
from tests.executor.test_other_kinds import GRAPH_OBJ, LLM_OBJ
from tests.fixtures.memory_cluster import MemoryCluster, isvc_object
from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.timeout(30)
NS = "team-a"
ISVC = ServiceRef(NS, "chat")
LLM = ServiceRef(NS, "chat", ServiceKind.LLM_INFERENCE_SERVICE)
GRAPH = ServiceRef(NS, "pipeline", ServiceKind.INFERENCE_GRAPH)
AT = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
NOTE = "example.com/note"


class Kinds:
    """A port and the Events behind it: ISVC ``chat`` (1 pod), LLMInferenceService
    ``chat`` (2 workload pods) and InferenceGraph ``pipeline`` (1 router pod)."""

    def __init__(self, cluster: Cluster, events: Callable[[], list[Obj]]) -> None:
        self.cluster = cluster
        self.events = events


def _memory() -> Kinds:
    fake = MemoryCluster()
    fake.put_isvc(isvc_object(NS, "chat", uid="uid-isvc"), pods=1)
    for obj, uid, pods in ((LLM_OBJ, "uid-llm", 2), (GRAPH_OBJ, "uid-graph", 1)):
        stored: dict[str, Any] = {**obj, "metadata": {**obj["metadata"], "uid": uid},
                                  "status": {"conditions": []}}
        fake.put_isvc(stored, pods=pods)
    return Kinds(fake, lambda: fake.events)


@pytest.fixture(params=["memory", pytest.param("sandbox", marks=pytest.mark.integration)])
def world(request: pytest.FixtureRequest) -> Iterator[Kinds]:
    if request.param == "memory":
        yield _memory()
        return
    make_sandbox: Callable[..., SandboxHandle] = request.getfixturevalue("make_sandbox")
    handle = make_sandbox({"kserve": "0.17", "podTerminationSeconds": 0, "namespaces": [NS],
                           "inferenceServices": [{"namespace": NS, "name": "chat",
                                                  "mode": "Standard", "gpus": 1}],
                           "objects": [LLM_OBJ, GRAPH_OBJ]})
    handle.wait_idle()
    api = api_client_for_host(handle.url)
    rest = Rest(api)
    yield Kinds(KubeCluster(rest), lambda: list(
        rest.request("GET", f"/api/v1/namespaces/{NS}/events")["items"]))
    api.close()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("ref", [pytest.param(ISVC, id="isvc"), pytest.param(LLM, id="llmisvc"),
                                 pytest.param(GRAPH, id="ig")])
def test_get_returns_the_object_of_the_kind_asked(world: Kinds, ref: ServiceRef) -> None:
    assert ref_of(world.cluster.get_isvc(ref)) == ref


def test_get_of_a_missing_service_of_a_kind_is_not_found(world: Kinds) -> None:
    with pytest.raises(NotFound):
        world.cluster.get_isvc(ServiceRef(NS, "pipeline", ServiceKind.LLM_INFERENCE_SERVICE))


def test_a_patch_changes_that_kind_only(world: Kinds) -> None:
    world.cluster.patch_isvc(LLM, {"metadata": {"annotations": {NOTE: "x"}}})
    notes = [(world.cluster.get_isvc(ref)["metadata"].get("annotations") or {}).get(NOTE)
             for ref in (LLM, ISVC)]
    assert notes == ["x", None]


@pytest.mark.parametrize(("refs", "listed"), [
    pytest.param({LLM}, {LLM}, id="only-the-kind-asked"),
    pytest.param({LLM, GRAPH, ISVC}, {LLM, GRAPH, ISVC}, id="every-kind"),
    pytest.param({ServiceRef(NS, "chat", ServiceKind.INFERENCE_GRAPH)}, set(), id="missing"),
])
def test_list_keeps_the_kinds_apart(world: Kinds, refs: set[ServiceRef],
                                    listed: set[ServiceRef]) -> None:
    assert {ref_of(obj) for obj in world.cluster.list_isvcs(refs)} == listed


def test_a_list_without_refs_covers_the_kinds_asked_before(world: Kinds) -> None:
    before = {ref_of(obj) for obj in world.cluster.list_isvcs()}
    world.cluster.get_isvc(LLM)
    after = {ref_of(obj) for obj in world.cluster.list_isvcs()}
    assert (before, after) == ({ISVC}, {ISVC, LLM})


def test_pods_are_counted_per_kind_once_asked(world: Kinds) -> None:
    before = dict(world.cluster.pod_counts())
    world.cluster.list_isvcs({LLM, GRAPH})
    assert (before, dict(world.cluster.pod_counts())) == (
        {ISVC: 1}, {ISVC: 1, LLM: 2, GRAPH: 1})


def test_an_event_names_the_kind(world: Kinds) -> None:
    uid = world.cluster.get_isvc(LLM)["metadata"]["uid"]
    world.cluster.emit_event(LLM, uid, reason="Reclaimed", message="contract", warning=False,
                             at=AT)
    world.cluster.emit_event(ISVC, "uid-other", reason="Reclaimed", message="contract",
                             warning=False, at=AT)
    kinds = sorted((e["involvedObject"]["kind"], e["count"]) for e in world.events()
                   if e["reason"] == "Reclaimed")
    assert kinds == [("InferenceService", 1), ("LLMInferenceService", 1)]
