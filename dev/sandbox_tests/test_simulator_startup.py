"""podStartSeconds: pods start Pending, readiness and rollouts wait for them."""

from __future__ import annotations

import pytest

from sandbox_tests.simkit import annotate, conditions, isvc, pods, scenario
from tests.fixtures.sandbox import MakeSandbox

pytestmark = pytest.mark.integration
MODES = [pytest.param("Knative", id="knative"), pytest.param("Standard", id="standard")]


def _slow(mode: str, seconds: float) -> dict[str, object]:
    return {**scenario(mode), "podStartSeconds": seconds}


@pytest.mark.parametrize("mode", MODES)
def test_a_starting_isvc_is_not_ready(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(_slow(mode, 30))
    [pod] = pods(h)
    assert (pod.status.phase, conditions(isvc(h))["Ready"]["status"]) == ("Pending", "Unknown")


@pytest.mark.parametrize("mode", MODES)
def test_the_isvc_is_ready_once_its_pods_are(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(_slow(mode, 0.1))
    h.wait_idle(terminations=True)
    assert conditions(isvc(h))["Ready"]["status"] == "True"


@pytest.mark.parametrize("mode", MODES)
def test_a_rollout_keeps_the_old_pod_until_the_new_one_is_ready(make_sandbox: MakeSandbox,
                                                                 mode: str) -> None:
    h = make_sandbox(_slow(mode, 1.5))  # long enough to look at the rollout halfway
    h.wait_idle(terminations=True)
    annotate(h, {"example.com/owner": "someone"})
    phases = sorted(p.status.phase for p in pods(h))
    h.wait_idle(terminations=True)
    assert (phases, [p.status.phase for p in pods(h)]) == (["Pending", "Running"], ["Running"])


def test_a_new_simulator_finishes_starting_the_old_ones_pods(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(_slow("Standard", 0.5))
    h.apply({"kserve": "0.14", "podStartSeconds": 0.5})
    h.wait_idle(terminations=True)
    assert [p.status.phase for p in pods(h)] == ["Running"]
