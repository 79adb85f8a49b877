"""`reclaimer run` as a process on the real cluster, under the chart's RBAC, in one run.

Wed 2030-04-03, Berlin, 18:55 to 19:45 at 60x (about 50 s). The child authenticates
with the chart's ServiceAccount token only, reads backfilled exporter series from a
real Prometheus 2.42 and keeps its ledger in SQLite. In one namespace:

- ``dev``: a window policy (run 19:30-19:00): stopped at the 19:00 edge and started at
  19:30, both verified against the real pods;
- ``parked``: same policy, but held by ``reclaimer hold``: never stopped;
- ``quiet``: idle policy, no requests and an idle GPU: stopped for idleness;
- ``busy``: idle policy, a request a minute at 50 % GPU: never stopped.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef, Trigger
from tests.controlplane.cluster import ControlPlane
from tests.controlplane.world import RealWorld
from tests.e2e.harness import (
    REPO,
    Child,
    berlin,
    config,
    edge_of,
    held,
    history,
    http_port,
    wait_for,
)
from tests.e2e.policies import busy, quiet
from tests.e2e.stage import migrated_template, prometheus_data
from tests.fixtures.prometheus import running_prometheus

pytestmark = pytest.mark.timeout(420)

START = berlin(2030, 4, 3, 18, 55)
STOP_EDGE = berlin(2030, 4, 3, 19, 0)
START_EDGE = berlin(2030, 4, 3, 19, 30)
END = berlin(2030, 4, 3, 19, 45)
DATA_FROM = berlin(2030, 4, 3, 16, 0)
NAMES = ("dev", "parked", "quiet", "busy")


def policies(namespace: str) -> dict[str, str]:
    window = f"""\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {{name: evening-break}}
spec:
  namespaceSelector: {{matchNames: [{namespace}]}}
  selector: {{matchLabels: {{tier: dev}}}}
  timeZone: Europe/Berlin
  schedule: [{{start: "30 19 * * *", stop: "0 19 * * *"}}]
  busyAtStop: force
"""
    idle = f"""\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {{name: idle-30m}}
spec:
  namespaceSelector: {{matchNames: [{namespace}]}}
  selector: {{matchLabels: {{reclaim: idle}}}}
  idle: {{after: 30m, minUptime: 15m}}
"""
    return {"window.yaml": window, "idle.yaml": idle}


@dataclass(frozen=True)
class Run:
    world: RealWorld
    rows: dict[str, list[TransitionRecord]]
    log: str
    exit_code: int


def _rows(database: str, namespace: str) -> dict[str, list[TransitionRecord]]:
    found: dict[str, list[TransitionRecord]] = {name: [] for name in NAMES}
    for row in history(database):
        if row.transition.ref.namespace == namespace:
            found[row.transition.ref.name].append(row)
    return found


def _done(database: str, namespace: str) -> bool:
    rows = _rows(database, namespace)
    dev = [(r.transition.action, r.state.value) for r in rows["dev"] if not r.transition.blocked]
    quiet_ = [r.state.value for r in rows["quiet"] if not r.transition.blocked]
    return dev == [(Action.STOP, "verified"), (Action.START, "verified")] and \
        quiet_ == ["verified"]


def _services(world: RealWorld) -> None:
    for name in NAMES:
        labels = {"tier": "dev"} if name in ("dev", "parked") else {"reclaim": "idle"}
        world.create_isvc(name, labels=labels)
    for name in NAMES:
        world.wait_serving(name)


def _hold(database: str, ref: ServiceRef, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "reclaimer", "hold", str(ref), "--until",
                    "2030-04-04T12:00:00+00:00", "--reason", "demo tomorrow", "--db", database],
                   check=True, capture_output=True, env=env, cwd=REPO, timeout=60)


@pytest.fixture(scope="module")
def run(plane: ControlPlane, admin: client.ApiClient, policy_crd: str,
        chart_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("run")
    namespace = f"run-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(admin).create_namespace({"metadata": {"name": namespace}})
    world = RealWorld(plane=plane, admin=admin, namespace=namespace)
    _services(world)
    database = f"sqlite:///{migrated_template(workdir)}"
    policy_dir = workdir / "policies"
    policy_dir.mkdir()
    for name, text in policies(namespace).items():
        (policy_dir / name).write_text(text)
    scripts = {ServiceRef(namespace, n): quiet(DATA_FROM) for n in ("dev", "parked", "quiet")}
    scripts[ServiceRef(namespace, "busy")] = busy(DATA_FROM, until=END + timedelta(hours=1))
    data = prometheus_data(scripts, start=DATA_FROM, end=END + timedelta(minutes=30))
    timeline = held(START, speed=60.0, lead=12.0)
    with running_prometheus(data, workdir / "prometheus") as prometheus:
        _hold(database, ServiceRef(namespace, "parked"), {**timeline.env(), **_env()})
        settings = config(workdir, database=database, kubeconfig=chart_kubeconfig,
                          policies=policy_dir, prometheus=prometheus, http_port=http_port())
        child = Child(workdir, settings, timeline, identity="r1")
        try:
            child.wait_ticking(timeout=60)
            timeline.wait_until(END, timeout=120)
            wait_for(lambda: _done(database, namespace), timeout=120,
                     what="dev stopped and started, quiet stopped, all verified")
        finally:
            code = child.stop()
        yield Run(world=world, rows=_rows(database, namespace), log=child.log_text(),
                  exit_code=code)
    world.close()
    client.CoreV1Api(admin).delete_namespace(namespace)


def _env() -> dict[str, Any]:
    import os  # noqa: PLC0415

    return {**os.environ, "PYTHONPATH": str(REPO)}


def acted(rows: list[TransitionRecord]) -> list[TransitionRecord]:
    return [r for r in rows if not r.transition.blocked]


def test_the_stop_and_start_edges_are_applied_and_verified(run: Run) -> None:
    got = [(r.transition.action, r.transition.trigger, edge_of(r), r.state.value)
           for r in acted(run.rows["dev"])]
    assert got == [(Action.STOP, Trigger.SCHEDULE, STOP_EDGE, "verified"),
                   (Action.START, Trigger.SCHEDULE, START_EDGE, "verified")]


def test_the_scheduled_model_serves_again_after_its_start_edge(run: Run) -> None:
    run.world.wait_serving("dev")
    assert len(run.world.running_pods("dev")) == 1


def test_a_held_model_is_not_stopped(run: Run) -> None:
    assert acted(run.rows["parked"]) == []
    assert Action.STOP in {r.transition.action for r in run.rows["parked"] if r.transition.blocked}
    assert len(run.world.running_pods("parked")) == 1


def test_the_idle_model_is_stopped_from_prometheus_data(run: Run) -> None:
    [stop] = acted(run.rows["quiet"])
    assert (stop.transition.action, stop.transition.trigger, stop.state.value) == (
        Action.STOP, Trigger.IDLE, "verified")
    assert stop.transition.evidence
    assert run.world.live_pods("quiet") == []


def test_the_busy_model_keeps_running(run: Run) -> None:
    assert (run.rows["busy"], len(run.world.running_pods("busy"))) == ([], 1)


def test_the_chart_rbac_covered_every_call_of_the_run(run: Run) -> None:
    assert "Forbidden" not in run.log and '"status": 403' not in run.log


def test_reclaimer_run_exits_cleanly_on_sigterm(run: Run) -> None:
    """Against a real API server (long-lived watches over TLS), not just the sandbox."""
    assert run.exit_code == 0, run.log[-2000:]
