"""The real kubectl against a whole sandbox (API server and KServe simulator)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import Kubectl
from sandbox_tests.simkit import STOP, annotate, scenario
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def world(make_sandbox: MakeSandbox) -> SandboxHandle:
    return make_sandbox(scenario("Standard", kserve="0.14", minReplicas=2, maxReplicas=2))


@pytest.fixture
def server(world: SandboxHandle) -> Iterator[ApiServer]:
    """The kubectl fixture's server is the sandbox's own."""
    yield world.world.server


def test_get_deploy_counts_each_pod_once_after_a_rollout(world: SandboxHandle,
                                                         kubectl: Kubectl) -> None:
    annotate(world, {STOP: "true"})  # 0.14: rolls the pods
    world.wait_idle(terminations=True)
    row = kubectl("get", "deploy", "llama-predictor", "--no-headers").split()
    assert row[1:4] == ["2/2", "2", "2"]


def test_rollout_status_completes(world: SandboxHandle, kubectl: Kubectl) -> None:
    annotate(world, {STOP: "true"})
    world.wait_idle(terminations=True)
    out = kubectl("rollout", "status", "deploy/llama-predictor", "--timeout=20s")
    assert "successfully rolled out" in out


def test_events_for_an_isvc(world: SandboxHandle, kubectl: Kubectl) -> None:
    kubectl("create", "--validate=false", "-f", "-", stdin="""\
apiVersion: v1
kind: Event
metadata: {name: llama.1, namespace: team-a}
involvedObject: {apiVersion: serving.kserve.io/v1beta1, kind: InferenceService,
                 name: llama, namespace: team-a}
reason: Reclaimed
message: stopped
type: Normal
""")
    out = kubectl("events", "--for", "isvc/llama")
    assert "Reclaimed" in out


def test_a_scenario_fault_with_times_minus_one_always_fails(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox({**scenario("Standard"), "faults": [
        {"verb": "patch", "resource": "inferenceservices", "namespace": "team-a",
         "name": "llama", "status": 503, "times": -1}]})
    api = client.CustomObjectsApi(h.api_client)
    codes = []
    for _ in range(3):
        with pytest.raises(ApiException) as raised:
            api.patch_namespaced_custom_object("serving.kserve.io", "v1beta1", "team-a",
                                               "inferenceservices", "llama",
                                               {"metadata": {"labels": {"a": "b"}}})
        codes.append(raised.value.status)
    assert codes == [503, 503, 503]


def test_the_admin_endpoint_adds_lists_and_clears_faults(world: SandboxHandle,
                                                         kubectl: Kubectl) -> None:
    fault = {"verb": "get", "resource": "deployments", "status": 500, "times": 1}
    added = kubectl("create", "--raw", "/sandbox/faults", "-f", "-", stdin=json.dumps(fault))
    listed = json.loads(kubectl("get", "--raw", "/sandbox/faults"))["faults"]
    with pytest.raises(AssertionError, match=r"500|InternalError|injected"):
        kubectl("get", "deploy", "llama-predictor")
    after = json.loads(kubectl("get", "--raw", "/sandbox/faults"))["faults"]
    assert (json.loads(added)["status"], len(listed), after) == (500, 1, [])


def test_the_admin_endpoint_names_a_bad_field(world: SandboxHandle, kubectl: Kubectl) -> None:
    with pytest.raises(AssertionError, match=r"fault\.times"):
        kubectl("create", "--raw", "/sandbox/faults", "-f", "-",
                stdin=json.dumps({"verb": "get", "resource": "pods", "status": 500,
                                  "times": 0}))
