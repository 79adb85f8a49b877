"""``watchNamespaces``: reclaimer lists and watches only the configured namespaces.

Counted from the sandbox's request log: with a scope set, no request is ever
cluster-wide (a Role per namespace is then enough), and a service outside the scope
is neither read nor acted on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.kube import rest
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.policies import PolicySource
from reclaimer.kube.scope import Scope
from reclaimer.model import ServiceRef
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle
from tests.kube.conftest import MakeRest, policy_crd
from tests.service.loop_world import FRIDAY_STOP, build, quiet, scenario

pytestmark = pytest.mark.integration

WATCHED = Scope(("team-a", "team-b"))
READ_RESOURCES = ("inferenceservices", "pods", "reclaimpolicies", "deployments")
DEV = {"tier": "dev"}
EVERY_DEV_SERVICE = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: every-dev-service}
spec:
  selector: {matchLabels: {tier: dev}}
  timeZone: Europe/Berlin
  schedule: [{start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}]
  busyAtStop: force
"""


def _policy(namespace: str) -> dict[str, object]:
    return {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
            "metadata": {"name": "p", "namespace": namespace},
            "spec": {"idle": {"after": "30m"}}}


def _scenario() -> dict[str, object]:
    return {"namespaces": ["team-a", "team-b", "team-c"],
            "inferenceServices": [{"namespace": ns, "name": "m", "mode": "Standard", "gpus": 1}
                                  for ns in ("team-a", "team-b", "team-c")],
            "objects": [policy_crd(), *(_policy(ns) for ns in ("team-a", "team-c"))]}


def _until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _cluster_wide_reads(handle: SandboxHandle) -> int:
    return sum(handle.request_log.count(verb=verb, resource=resource, namespace=None)
               for verb in ("list", "watch") for resource in READ_RESOURCES)


@pytest.fixture
def scoped(make_rest: MakeRest) -> Iterator[tuple[SandboxHandle, rest.Rest, Inventory]]:
    handle, client = make_rest(_scenario())
    handle.wait_idle()
    handle.request_log.clear()
    inventory = Inventory(client, scope=WATCHED)
    inventory.start()
    try:
        yield handle, client, inventory
    finally:
        inventory.stop()


def test_scoped_inventory_never_lists_or_watches_cluster_wide(
        scoped: tuple[SandboxHandle, rest.Rest, Inventory]) -> None:
    handle, client, inventory = scoped
    inventory.resync()
    cluster = KubeCluster(client, scope=WATCHED)
    cluster.list_isvcs()
    cluster.pod_counts()
    # the pods of InferenceServices, LLMInferenceServices, InferenceGraphs, per namespace
    assert _until(lambda: handle.request_log.count(verb="watch", resource="pods") == 6)
    assert _cluster_wide_reads(handle) == 0
    per_namespace = [handle.request_log.count(verb="list", resource="inferenceservices",
                                              namespace=ns) for ns in WATCHED.namespaces]
    assert per_namespace == [3, 3]  # start, resync, list_isvcs


def test_service_outside_the_scope_is_not_in_the_inventory(
        scoped: tuple[SandboxHandle, rest.Rest, Inventory]) -> None:
    _, _, inventory = scoped
    assert sorted(str(s.ref) for s in inventory.snapshot()) == ["team-a/m", "team-b/m"]


def test_service_created_outside_the_scope_is_not_seen_by_the_watch(
        scoped: tuple[SandboxHandle, rest.Rest, Inventory]) -> None:
    _, client, inventory = scoped
    for namespace in ("team-c", "team-b"):
        client.create(rest.ISVC, namespace, {
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "late", "namespace": namespace},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "x"}}}}})
    assert _until(lambda: ServiceRef("team-b", "late") in {s.ref for s in inventory.snapshot()})
    assert ServiceRef("team-c", "late") not in {s.ref for s in inventory.snapshot()}


def test_scoped_verification_lists_only_the_namespaces_it_verifies(
        scoped: tuple[SandboxHandle, rest.Rest, Inventory]) -> None:
    handle, client, _ = scoped
    handle.request_log.clear()
    found = KubeCluster(client, scope=WATCHED).list_isvcs({ServiceRef("team-a", "m")})
    assert [o["metadata"]["namespace"] for o in found] == ["team-a"]
    assert [r.namespace for r in handle.request_log.entries(verb="list")] == ["team-a"]


def test_scoped_policy_source_reads_only_the_watched_namespaces(make_rest: MakeRest) -> None:
    handle, client = make_rest(_scenario())
    handle.request_log.clear()
    source = PolicySource(client, scope=WATCHED)
    source.start()
    try:
        namespaces = [o["metadata"]["namespace"] for o in source.read().objects]
    finally:
        source.stop()
    assert namespaces == ["team-a"]
    assert _cluster_wide_reads(handle) == 0


def test_the_count_bites_without_a_scope(make_rest: MakeRest) -> None:
    """The same start cluster-wide makes the requests the scoped tests count as zero."""
    handle, client = make_rest(_scenario())
    handle.request_log.clear()
    inventory = Inventory(client)
    inventory.start()
    inventory.stop()
    assert _cluster_wide_reads(handle) >= 2


def test_schedule_edge_leaves_a_service_outside_the_scope_alone(
        make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    """A policy matching every dev service, one in team-a and one in team-c: with
    watchNamespaces [team-a] only team-a's is stopped, and no request names team-c."""
    sandbox = make_sandbox(scenario(("team-a", "llama", DEV), ("team-c", "llama", DEV)))
    inside, outside = ServiceRef("team-a", "llama"), ServiceRef("team-c", "llama")
    sandbox.wait_idle()
    sandbox.request_log.clear()
    world = build(sandbox, tmp_path, policies={"every": EVERY_DEV_SERVICE},
                  scripts={inside: quiet(), outside: quiet()}, scope=Scope(("team-a",)))
    try:
        world.tick(FRIDAY_STOP)
        world.tick(FRIDAY_STOP + timedelta(seconds=30))
    finally:
        world.close()
    assert (sandbox.request_log.count(namespace="team-c"), _cluster_wide_reads(sandbox)) == (0, 0)
    assert [r.transition.ref for r in world.ledger.history()] == [inside]
    annotations = (world.rest.get(rest.ISVC, "team-c", "llama")["metadata"]
                   .get("annotations") or {})
    assert "serving.kserve.io/stop" not in annotations
