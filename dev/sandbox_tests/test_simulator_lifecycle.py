"""Pods, foreign conditions, ISVC deletion, and scenarios applied to a running world."""

from __future__ import annotations

import pytest
from kubernetes import client

from kubesandbox.kserve import SimulatorIdleTimeout
from sandbox_tests.simkit import (
    GROUP,
    NS,
    PLURAL,
    STOP,
    VERSION,
    annotate,
    conditions,
    exists,
    isvc,
    pod_names,
    pods,
    scenario,
)
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = pytest.mark.integration
MODES = [pytest.param("Knative", id="knative"), pytest.param("Standard", id="standard")]


def _write_condition(h: SandboxHandle, cond: dict[str, str]) -> None:
    obj = isvc(h)
    obj["status"]["conditions"].append(cond)
    client.CustomObjectsApi(h.api_client).replace_namespaced_custom_object_status(
        GROUP, VERSION, NS, PLURAL, "llama", obj)
    h.wait_idle()


@pytest.mark.parametrize("mode", MODES)
def test_a_deleted_pod_terminates_and_is_replaced(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, grace=30))
    [old] = pod_names(h)
    client.CoreV1Api(h.api_client).delete_namespaced_pod(old, NS)
    h.wait_idle()
    terminating = {p.metadata.name for p in pods(h, live=False) if p.metadata.deletion_timestamp}
    assert (terminating, len(pod_names(h) - {old})) == ({old}, 1)


def test_a_bare_pod_deleted_with_grace_is_gone_after_the_grace(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox({"podTerminationSeconds": 0.1, "namespaces": [NS]})
    core = client.CoreV1Api(h.api_client)
    core.create_namespaced_pod(NS, client.V1Pod(
        metadata=client.V1ObjectMeta(name="bare"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="busybox")])))
    core.delete_namespaced_pod("bare", NS, grace_period_seconds=30)
    h.wait_idle(terminations=True)
    assert core.list_namespaced_pod(NS).items == []


@pytest.mark.parametrize("mode", MODES)
def test_deleting_the_isvc_collects_children_and_pods(make_sandbox: MakeSandbox,
                                                      mode: str) -> None:
    h = make_sandbox(scenario(mode))
    client.CustomObjectsApi(h.api_client).delete_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "llama")
    h.wait_idle(terminations=True)
    assert (pods(h, live=False), exists(h, "service", "llama-predictor")) == ([], False)


@pytest.mark.parametrize("mode", MODES)
def test_kserve_014_keeps_a_condition_it_does_not_manage(make_sandbox: MakeSandbox,
                                                         mode: str) -> None:
    h = make_sandbox(scenario(mode, kserve="0.14"))
    _write_condition(h, {"type": "Stopped", "status": "True", "reason": "Reclaimed"})
    annotate(h, {"example.com/touch": "1"})
    assert conditions(isvc(h))["Stopped"]["reason"] == "Reclaimed"


def test_kserve_016_owns_the_stopped_condition(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard"))
    _write_condition(h, {"type": "Reclaimer", "status": "True"})
    annotate(h, {STOP: "true"})
    assert "Reclaimer" not in conditions(isvc(h))


def test_applying_a_scenario_adds_its_isvcs(sandbox: SandboxHandle) -> None:
    sandbox.apply(scenario("Standard"))
    assert len(pod_names(sandbox)) == 1


def test_applying_another_kserve_version_swaps_the_simulator(sandbox: SandboxHandle) -> None:
    sandbox.apply(scenario("Standard", kserve="0.14"))
    assert isvc(sandbox)["status"]["deploymentMode"] == "RawDeployment"



def test_wait_idle_with_terminations_never_returns_before_pods_are_gone(
        make_sandbox: MakeSandbox) -> None:
    """Regression: a finishing termination once went unnoticed by the barrier."""
    h = make_sandbox(scenario("Standard"))
    left = []
    for _ in range(10):
        annotate(h, {STOP: "true"})
        h.wait_idle(terminations=True)
        left.append(len(pods(h, live=False)))
        annotate(h, {STOP: None})
    assert left == [0] * 10


def test_wait_idle_gives_up_saying_what_is_pending(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard", grace=30))
    annotate(h, {STOP: "true"})
    with pytest.raises(SimulatorIdleTimeout, match="1 pods starting or terminating"):
        h.wait_idle(0.1, terminations=True)
