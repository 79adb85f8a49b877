"""The chart's RBAC against the requests the real kube adapters make.

Every call `KubeCluster`, `LeaderElector`, `EventRecorder`, `Inventory` and
`PolicySource` can make is driven once against the sandbox API server (KServe 0.14, a
Standard-mode service, so the managed path runs too; the chart's own CRD and one
ReclaimPolicy); the sandbox's request log gives what each request needs. The chart must
allow all of it, and grant nothing that no request needed.

The end-to-end version (issue 8: run the e2e scenarios, then compare) reuses
`need_of`, `uncovered` and `unused` from tests/chart/rbac.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kubesandbox.world import World
from reclaimer.errors import NotFound
from reclaimer.kube.cache import WatchCache
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.policies import PolicySource
from reclaimer.kube.rest import POLICY as POLICY_KIND
from reclaimer.kube.rest import Rest
from reclaimer.kube.scope import EVERYWHERE, Scope, ScopedCache
from reclaimer.model import ServiceKind, ServiceRef
from tests.chart.crd import errors
from tests.chart.helm import NAMESPACE, Helm
from tests.chart.rbac import Grant, Need, grants, need_of, uncovered, unused
from tests.chart.scenario import SCENARIO, TEAM

pytestmark = pytest.mark.integration

def _clock() -> Iterator[datetime]:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    while True:
        yield at
        at += timedelta(seconds=5)


def _drive_cluster(rest: Rest, scope: Scope) -> None:
    cluster = KubeCluster(rest, scope=scope)
    ref = ServiceRef(TEAM, "llama")
    obj = cluster.get_isvc(ref)
    cluster.list_isvcs()
    cluster.pod_counts()
    cluster.list_component_deployments([TEAM])
    version = obj["metadata"]["resourceVersion"]
    cluster.patch_isvc(ref, {"metadata": {"resourceVersion": version}})
    cluster.patch_isvc_status(ref, {"status": {}})
    for deployment in cluster.component_deployments(ref):
        cluster.scale_deployment(TEAM, deployment["metadata"]["name"], 0)
    cluster.list_scalers(TEAM)
    for kind in (ServiceKind.LLM_INFERENCE_SERVICE, ServiceKind.INFERENCE_GRAPH):
        other = ServiceRef(TEAM, "chat", kind)
        with contextlib.suppress(NotFound):  # none exists; the request is what counts
            cluster.get_isvc(other)
        with contextlib.suppress(NotFound):
            cluster.patch_isvc(other, {"metadata": {"annotations": {"x": None}}})
    cluster.namespace_isvcs(TEAM)  # ModelMesh: the users of a runtime
    with contextlib.suppress(NotFound):  # none exists; the request is what counts
        cluster.get_serving_runtime(TEAM, "triton")
    with contextlib.suppress(NotFound):
        cluster.patch_serving_runtime(TEAM, "triton", {"spec": {"replicas": 0}})
    cluster.runtime_workload(TEAM, "modelmesh-serving-triton")
    with contextlib.suppress(NotFound):  # none exists; the request is what counts
        cluster.patch_scaled_object(TEAM, "llama-predictor", {"metadata": {"annotations": {
            "autoscaling.keda.sh/paused-replicas": "0"}}})
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for _ in range(2):  # the second one bumps the first Event's count (a PATCH)
        cluster.emit_event(ref, obj["metadata"]["uid"], reason="Reclaimed", message="m",
                           warning=False, at=at)


def _drive_lease(rest: Rest) -> None:
    clock = _clock()
    ticks = iter(range(10_000))
    settings = LeaseSettings(NAMESPACE, "reclaimer-leader", "reclaimer-0")
    elector = LeaderElector(rest, settings, now=lambda: next(clock),
                            monotonic=lambda: float(next(ticks)))
    assert elector.try_acquire_or_renew()  # GET (404), CREATE
    assert elector.try_acquire_or_renew()  # GET, UPDATE


def _drive_inventory(rest: Rest, scope: Scope) -> None:
    inventory = Inventory(rest, scope=scope)
    holders = [*vars(inventory).values(),
               *(c for o in inventory.others.values() for c in (o.services, o.pods))]
    caches = [part for c in holders if isinstance(c, WatchCache | ScopedCache)
              for part in (c.parts if isinstance(c, ScopedCache) else (c,))]
    for cache in caches:
        cache.watch_timeout = 1  # the server ends each watch after a second
    inventory.start()
    inventory.resync()
    inventory.stop()  # each watch still ends (and is logged) when its second is up


def _drive_policies(rest: Rest, scope: Scope) -> None:
    source = PolicySource(rest, scope=scope)
    for cache in getattr(source.cache, "parts", (source.cache,)):
        cache.watch_timeout = 1
    source.start()
    (obj,) = source.read().objects
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert source.write_status(obj, error=None, matched=1,
                               next_transition=at + timedelta(hours=10), at=at)
    source.stop()


def _needs(world: World, expected_calls: int) -> list[Need]:
    """The server logs a request after answering it: wait until all are in."""
    deadline = time.monotonic() + 10
    while len(world.request_log) < expected_calls and time.monotonic() < deadline:
        time.sleep(0.05)
    return [need_of(r) for r in world.request_log.entries()]


@pytest.fixture(scope="module")
def managed_grants(helm: Helm) -> set[Grant]:
    return grants(helm.template(set_values=["config.executor.strategy=managed"]))


@pytest.fixture(scope="module")
def watched_grants(helm: Helm) -> set[Grant]:
    return grants(helm.template(set_values=["config.executor.strategy=managed",
                                            f"watchNamespaces={{{TEAM}}}"]))


def _drive_all(scope: Scope) -> Iterator[tuple[list[Need], dict[str, object]]]:
    """(what every request needed, the ReclaimPolicy after its status was written)."""
    world = World.start(port=0, scenario=SCENARIO)
    api_client = api_client_for_host(world.url)
    try:
        world.wait_idle()
        client = Rest(api_client)
        _drive_cluster(client, scope)
        _drive_lease(client)
        _drive_inventory(client, scope)
        _drive_policies(client, scope)
        needs = _needs(world, client.total_calls)
        # Read back after the log is taken: this GET is the test's, not the service's.
        stored: dict[str, object] = client.get(POLICY_KIND, TEAM, "office-hours")
        yield needs, stored
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
        world.stop()


@pytest.fixture(scope="module")
def drive() -> Iterator[tuple[list[Need], dict[str, object]]]:
    yield from _drive_all(EVERYWHERE)


@pytest.fixture(scope="module")
def watched_needs() -> Iterator[list[Need]]:
    """The same drive with watchNamespaces [team-a]: per-namespace LISTs and WATCHes."""
    for needs, _ in _drive_all(Scope((TEAM,))):
        yield needs


@pytest.fixture(scope="module")
def adapter_needs(drive: tuple[list[Need], dict[str, object]]) -> list[Need]:
    return drive[0]


def test_every_adapter_request_is_allowed(
    managed_grants: set[Grant], adapter_needs: list[Need]
) -> None:
    assert uncovered(managed_grants, adapter_needs) == []


def test_nothing_granted_that_no_request_needs(
    managed_grants: set[Grant], adapter_needs: list[Need]
) -> None:
    assert unused(managed_grants, adapter_needs) == set()


def test_the_drive_reached_every_adapter(adapter_needs: list[Need]) -> None:
    verbs = {(n.resource, n.verb) for n in adapter_needs}
    assert {("inferenceservices", "watch"), ("pods", "watch"), ("leases", "update"),
            ("events", "patch"), ("deployments/scale", "patch"),
            ("configmaps", "get"), ("reclaimpolicies", "watch"),
            ("reclaimpolicies/status", "patch")} <= verbs


def test_status_the_service_writes_fits_the_crd_schema(
    drive: tuple[list[Need], dict[str, object]]
) -> None:
    stored = drive[1]
    status = stored["status"]
    assert isinstance(status, dict) and status["matchedServices"] == 1
    assert errors(stored) == []


def test_the_check_bites_when_a_grant_is_missing(
    helm: Helm, adapter_needs: list[Need]
) -> None:
    """With strategy native the chart drops the Deployment and ServingRuntime rules; the
    managed and ModelMesh calls the drive made are then reported as not allowed."""
    native = grants(helm.template(set_values=["config.executor.strategy=native"]))
    missing = {(n.resource, n.verb) for n in uncovered(native, adapter_needs)}
    assert missing == {("deployments", "list"), ("deployments/scale", "patch"),
                       ("scaledobjects", "list"), ("scaledobjects", "patch"),
                       ("horizontalpodautoscalers", "list"), ("rollouts", "list"),
                       ("servingruntimes", "get"), ("servingruntimes", "patch"),
                       ("deployments", "get")}


def test_watched_namespaces_need_no_cluster_scope(watched_needs: list[Need]) -> None:
    assert [n for n in watched_needs if n.scope == "cluster"] == []


def test_every_watched_request_is_allowed_by_the_namespaced_roles(
    watched_grants: set[Grant], watched_needs: list[Need]
) -> None:
    assert uncovered(watched_grants, watched_needs) == []


def test_namespaced_roles_grant_nothing_that_no_request_needs(
    watched_grants: set[Grant], watched_needs: list[Need]
) -> None:
    assert unused(watched_grants, watched_needs) == set()


def test_namespaced_roles_refuse_the_cluster_wide_requests(
    watched_grants: set[Grant], adapter_needs: list[Need]
) -> None:
    """Without the scope the service would LIST/WATCH cluster-wide, which the Roles of
    watchNamespaces do not allow: the check bites."""
    missing = {(n.resource, n.verb) for n in uncovered(watched_grants, adapter_needs)}
    assert {("inferenceservices", "list"), ("pods", "watch")} <= missing
