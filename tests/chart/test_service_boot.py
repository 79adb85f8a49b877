"""The chart's containers, run as processes the way the pod runs them, boot the service.

The default (SQLite) render is taken literally: its config file, its environment (with
the downward-API POD_NAME filled in), the init container's `db upgrade`, then the main
container's `run --config`. Only what a cluster provides is swapped for local parts:
the API server is the sandbox (RECLAIMER_KUBECONFIG), the PVC is a temporary directory
(database.sqlite.mountPath), the probe port is a free one, and Prometheus is a closed
port (signals unknown: nothing is idle-stopped). The service's clock is the documented
test hook (reclaimer/clock.py), set two seconds before the policy's stop edge after the
InferenceService was created, so the live service stops it the managed way (KServe
0.14). Every request the running service made must be allowed by the chart's RBAC —
the issue's coverage check, on the real service.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from kubesandbox.world import World
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.rest import ISVC, Rest
from tests.chart.helm import ROOT, Helm, Rendered
from tests.chart.rbac import Need, grants, need_of, uncovered
from tests.chart.scenario import POLICY, SCENARIO, STOP_CRON, TEAM

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(120)]

RECLAIMER = ROOT / ".venv" / "bin" / "reclaimer"
POD = "reclaimer-7d9f-abcde"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _container_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's env as the kubelet would set it: downward API and $(VAR) filled."""
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            value = str(item["value"]).replace("$(POD_NAME)", env.get("POD_NAME", ""))
        else:
            assert item["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, item
            value = POD
        env[item["name"]] = value
    return env


@dataclass
class Booted:
    rendered: Rendered
    readiness: Mapping[str, Any]
    exit_code: int
    needs: list[Need]
    init_code: int
    stopped: bool


def _clock_start(world: World) -> str:
    """Two seconds before the first stop edge after the service was created (by the
    sandbox's clock), so the edge applies to it; read before the log is cleared."""
    api_client = api_client_for_host(world.url)
    try:
        created = Rest(api_client).get(ISVC, TEAM, "llama")["metadata"]["creationTimestamp"]
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    zone = ZoneInfo(POLICY["spec"]["timeZone"])
    local = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(zone)
    edge: datetime = croniter(STOP_CRON, local).get_next(datetime)
    world.request_log.clear()
    return (edge - timedelta(seconds=2)).isoformat()


def _scaled_to_zero(world: World) -> bool:
    return any(r.resource == "deployments" and r.subresource == "scale" and r.verb == "patch"
               for r in world.request_log.entries())


def _ready(port: int) -> Mapping[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            state: Mapping[str, Any] = json.loads(answer.read())
            return state
    except OSError:
        return None


def _wait_for_a_leader_tick(port: int, process: subprocess.Popen[bytes]) -> Mapping[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        state = _ready(port)
        if state and state.get("role") == "leader" and state.get("lastTickAgeSeconds") is not None:
            return state
        time.sleep(0.2)
    raise AssertionError(f"no leader tick (exit code {process.poll()})")


def _wait_for_the_stop(world: World) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _scaled_to_zero(world):
        time.sleep(0.2)
    return _scaled_to_zero(world)


def _pod_env(rendered: Rendered, world: World, tmp_path: Path) -> dict[str, str]:
    (container,) = rendered.one("Deployment")["spec"]["template"]["spec"]["containers"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(world.kubeconfig())
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **_container_env(container),
            "RECLAIMER_KUBECONFIG": str(kubeconfig), "RECLAIMER_HTTP_HOST": "127.0.0.1",
            "RECLAIMER_HTTP_PORT": str(_free_port()),
            "RECLAIMER_PROMETHEUS_URL": f"http://127.0.0.1:{_free_port()}"}


def _boot(rendered: Rendered, world: World, tmp_path: Path) -> Booted:
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    config = tmp_path / "config.yaml"
    config.write_text(rendered.one("ConfigMap", "reclaimer")["data"]["config.yaml"])
    env = _pod_env(rendered, world, tmp_path) | {
        "RECLAIMER_TEST_CLOCK_START": _clock_start(world)}
    (init,) = pod["initContainers"]
    init_code = subprocess.run([str(RECLAIMER), *init["args"]], env=env, check=False,
                               capture_output=True).returncode
    args = [a if a != "/etc/reclaimer/config.yaml" else str(config)
            for a in pod["containers"][0]["args"]]
    process = subprocess.Popen([str(RECLAIMER), *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        readiness = _wait_for_a_leader_tick(int(env["RECLAIMER_HTTP_PORT"]), process)
        stopped = _wait_for_the_stop(world)
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=30)
    needs = [need_of(r) for r in world.request_log.entries()]
    return Booted(rendered, readiness, exit_code, needs, init_code, stopped)


def _booted(helm: Helm, tmp_path: Path, *, scenario: Mapping[str, Any],
            set_values: tuple[str, ...] = ()) -> Iterator[Booted]:
    data = tmp_path / "data"
    data.mkdir()
    rendered = helm.template(set_values=[f"database.sqlite.mountPath={data}", *set_values])
    world = World.start(port=0, scenario=scenario)
    try:
        world.wait_idle()
        yield _boot(rendered, world, tmp_path)
    finally:
        world.stop()


@pytest.fixture(scope="module")
def booted(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    yield from _booted(helm, tmp_path_factory.mktemp("pod"), scenario=SCENARIO)


OUTSIDE = "team-c"
# The same service and policy once more in a namespace the service is not told to watch.
WITH_OUTSIDER: dict[str, Any] = {
    **SCENARIO,
    "namespaces": [*SCENARIO["namespaces"], OUTSIDE],
    "inferenceServices": [*SCENARIO["inferenceServices"],
                          {**SCENARIO["inferenceServices"][0], "namespace": OUTSIDE}],
    "objects": [*SCENARIO["objects"],
                {**POLICY, "metadata": {**POLICY["metadata"], "namespace": OUTSIDE}}],
}


@pytest.fixture(scope="module")
def booted_watched(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    """The chart with watchNamespaces [team-a]: its config file, its Roles."""
    yield from _booted(helm, tmp_path_factory.mktemp("pod-watched"), scenario=WITH_OUTSIDER,
                       set_values=(f"watchNamespaces={{{TEAM}}}",))


def test_init_container_upgrades_the_ledger(booted: Booted) -> None:
    assert booted.init_code == 0


def test_service_becomes_the_leader_and_ticks(booted: Booted) -> None:
    assert booted.readiness["ready"] is True


def test_service_stops_the_model_at_the_edge_the_managed_way(booted: Booted) -> None:
    assert booted.stopped


def test_sigterm_ends_it_cleanly(booted: Booted) -> None:
    assert booted.exit_code == 0


def test_every_request_of_the_running_service_is_allowed(booted: Booted) -> None:
    assert booted.needs, "the service made no API requests"
    assert uncovered(grants(booted.rendered), booted.needs) == []


def test_the_live_run_exercised_the_write_paths(booted: Booted) -> None:
    used = {(n.resource, n.verb) for n in booted.needs}
    assert {("inferenceservices", "patch"), ("deployments", "list"),
            ("deployments/scale", "patch"), ("events", "create"),
            ("reclaimpolicies/status", "patch"), ("leases", "update")} <= used


def test_watched_service_still_stops_the_model_in_its_namespace(booted_watched: Booted) -> None:
    assert booted_watched.stopped and booted_watched.exit_code == 0


def test_watched_service_never_lists_or_watches_cluster_wide(booted_watched: Booted) -> None:
    assert [n for n in booted_watched.needs if n.scope == "cluster"] == []


def test_watched_service_never_touches_the_namespace_outside(booted_watched: Booted) -> None:
    assert [n for n in booted_watched.needs if n.scope == OUTSIDE] == []


def test_watched_service_needs_only_the_namespaced_roles(booted_watched: Booted) -> None:
    assert "ClusterRole" not in booted_watched.rendered.kinds()
    assert uncovered(grants(booted_watched.rendered), booted_watched.needs) == []
