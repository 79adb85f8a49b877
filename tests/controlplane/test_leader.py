"""Two `reclaimer run` replicas on a real Lease; the leader is SIGKILLed mid-edge.

Tue 2030-04-09, Berlin, from 18:59:30 at 10x. Both replicas run under the chart's RBAC
and share a SQLite ledger; the Lease is ``reclaimer/reclaimer-leader`` on the real API
server (lease 6 s, renew deadline 4 s, retry 1 s: real seconds). When the first of three
ISVCs gets its stop, the Lease holder is killed (no shutdown code runs); the other
replica must take the Lease and finish the edge: each ISVC stopped once, every ledger
row settled, every pod gone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action
from tests.controlplane.cluster import ControlPlane
from tests.controlplane.world import STOP, RealWorld
from tests.e2e.harness import Child, berlin, config, edge_of, held, history, http_port, wait_for
from tests.e2e.policies import office_hours
from tests.e2e.stage import migrated_template
from tests.fixtures.prometheus import free_port

pytestmark = pytest.mark.timeout(420)

START = berlin(2030, 4, 9, 18, 59, 30)
STOP_EDGE = berlin(2030, 4, 9, 19, 0)
NAMES = ("a", "b", "c")
ELECTION = {"enabled": True, "namespace": "reclaimer", "name": "reclaimer-leader",
            "leaseDuration": "6s", "renewDeadline": "4s", "retryPeriod": "1s"}


@dataclass(frozen=True)
class Run:
    world: RealWorld
    roles: dict[str, str]
    killed: str
    holder_after: str
    settled: bool
    rows: list[TransitionRecord]


def role(child: Child) -> str | None:
    got = child.get("/readyz")
    return None if got is None else str(json.loads(got[1]).get("role"))


def _roles(children: list[Child]) -> dict[str, str] | None:
    for child in children:
        child.check_alive()
    roles = {c.identity: str(role(c)) for c in children}
    return roles if sorted(roles.values()) == ["follower", "leader"] else None


def _holder(admin: client.ApiClient) -> str:
    lease = client.CoordinationV1Api(admin).read_namespaced_lease("reclaimer-leader",
                                                                   "reclaimer")
    return str(lease.spec.holder_identity)


def _stopped(world: RealWorld, name: str) -> bool:
    notes = world.isvc(name)["metadata"].get("annotations") or {}
    return notes.get(STOP) == "true" or notes.get("serving.kserve.io/autoscalerClass") == \
        "external"


def _settled(database: str, namespace: str) -> bool:
    rows = [r for r in history(database) if r.transition.ref.namespace == namespace
            and not r.transition.blocked]
    return len(rows) == len(NAMES) and all(r.state.value == "verified" for r in rows)


def _settled_within(database: str, namespace: str, *, seconds: float) -> bool:
    """Whether every row of the edge is verified within ``seconds`` (many 1 s ticks)."""
    try:
        wait_for(lambda: _settled(database, namespace), timeout=seconds, what="rows verified")
    except AssertionError:
        return False
    return True


@pytest.fixture(scope="module")
def run(plane: ControlPlane, admin: client.ApiClient, policy_crd: str,
        chart_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("leader")
    namespace = f"lead-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": namespace}})
    world = RealWorld(plane=plane, admin=admin, namespace=namespace)
    world.serving(*NAMES)
    database = f"sqlite:///{migrated_template(workdir)}"
    policy_dir = workdir / "policies"
    policy_dir.mkdir()
    (policy_dir / "office-hours.yaml").write_text(
        office_hours(busy_at_stop="force", namespace=namespace))
    timeline = held(START, speed=10.0, lead=20.0)
    replicas = []
    for identity in ("replica-a", "replica-b"):
        settings = config(workdir, database=database, kubeconfig=chart_kubeconfig,
                          policies=policy_dir, prometheus=f"http://127.0.0.1:{free_port()}",
                          http_port=http_port(), leaderElection=ELECTION)
        replicas.append(Child(workdir, settings, timeline, identity=identity))
    try:
        roles = wait_for(lambda: _roles(replicas), timeout=60, what="a leader and a follower")
        assert timeline.now() < STOP_EDGE, "the replicas elected a leader only after the edge"
        wait_for(lambda: any(_stopped(world, n) for n in NAMES), timeout=60,
                 what="the first stop of the edge", poll=0.01)
        killed = _holder(admin)
        next(c for c in replicas if c.identity == killed).kill()
        wait_for(lambda: _holder(admin) not in ("", killed) or None, timeout=60,
                 what="the survivor to take the Lease")
        wait_for(lambda: all(_stopped(world, n) and not world.live_pods(n) for n in NAMES),
                 timeout=120, what="every service of the edge stopped, its pods gone")
        settled = _settled_within(database, namespace, seconds=20.0)
        yield Run(world=world, roles=roles, killed=killed, holder_after=_holder(admin),
                  settled=settled,
                  rows=[r for r in history(database) if r.transition.ref.namespace == namespace])
    finally:
        for child in replicas:
            child.stop()
        world.close()
        client.CoreV1Api(admin).delete_namespace(namespace)


def _states(run: Run) -> list[tuple[str, str, str, str | None]]:
    """What a failure shows: each row's service, state, actor and error."""
    return [(r.transition.ref.name, r.state.value, r.actor, r.error) for r in run.rows]


def test_one_replica_leads_and_the_other_follows(run: Run) -> None:
    assert sorted(run.roles.values()) == ["follower", "leader"]


def test_the_survivor_takes_the_lease_after_the_leader_is_killed(run: Run) -> None:
    assert run.holder_after != run.killed and run.holder_after.startswith("replica-")


def test_each_service_is_stopped_once_for_the_edge(run: Run) -> None:
    acted = sorted((r.transition.ref.name, r.transition.action, edge_of(r)) for r in run.rows
                   if not r.transition.blocked)
    assert acted == [(name, Action.STOP, STOP_EDGE) for name in NAMES], _states(run)


def test_the_new_leader_verifies_the_stops_the_killed_leader_applied(run: Run) -> None:
    assert run.settled, _states(run)


def test_no_ledger_row_is_left_planned(run: Run) -> None:
    assert [r for r in run.rows if r.state.value == "planned"] == [], _states(run)


def test_every_pod_of_the_stopped_services_is_gone(run: Run) -> None:
    assert {name: run.world.live_pods(name) for name in NAMES} == {n: [] for n in NAMES}
