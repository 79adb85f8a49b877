"""The real kubectl against a whole sandbox (API server and KServe simulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reclaimer.sandbox.server import ApiServer
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle
from tests.sandbox.conftest import Kubectl
from tests.sandbox.simkit import STOP, annotate, scenario

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
