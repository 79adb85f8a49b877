"""Times: per-mode termination grace, per-ISVC start times, one timeScale (issue 15, 8)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client

from sandbox_tests.simkit import NS, STOP, annotate, pods
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _world(make_sandbox: MakeSandbox, *entries: dict[str, Any]) -> SandboxHandle:
    return make_sandbox({"kserve": "0.16", "timeScale": 0.01, "namespaces": [NS],
                         "inferenceServices": [{"namespace": NS, "gpus": 1, **e}
                                               for e in entries]})


def _phases(h: SandboxHandle, name: str) -> list[str]:
    return [p.status.phase for p in pods(h, name)]


def test_pods_keep_their_modes_termination_grace(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox, {"name": "raw", "mode": "Standard"},
               {"name": "kn", "mode": "Knative"})
    graces = {name: pods(h, name)[0].spec.termination_grace_period_seconds
              for name in ("raw", "kn")}
    for name in ("raw", "kn"):
        annotate(h, {STOP: "true"}, name=name)
    deadline = time.monotonic() + 20
    while pods(h, "raw", live=False) and time.monotonic() < deadline:
        time.sleep(0.05)
    lingering = len(pods(h, "kn", live=False))  # 3 s at this scale, Raw's 0.3 s is over
    h.wait_idle(timeout=20, terminations=True)
    assert (graces, lingering, pods(h, "kn", live=False)) == ({"raw": 30, "kn": 300}, 1, [])


def test_each_isvc_starts_in_its_own_time(make_sandbox: MakeSandbox) -> None:
    h = _world(make_sandbox, {"name": "slow", "mode": "Standard", "startSeconds": 500},
               {"name": "quick", "mode": "Standard"})
    before = (_phases(h, "slow"), _phases(h, "quick"))
    h.wait_idle(timeout=20, terminations=True)
    assert (before, _phases(h, "slow")) == ((["Pending"], ["Running"]), ["Running"])


def test_a_fixed_termination_time_still_wins(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox({"kserve": "0.16", "timeScale": 100, "podTerminationSeconds": 0,
                      "namespaces": [NS], "inferenceServices": [
                          {"namespace": NS, "name": "llama", "mode": "Standard"}]})
    annotate(h, {STOP: "true"})
    h.wait_idle(timeout=5, terminations=True)
    assert client.CoreV1Api(h.api_client).list_namespaced_pod(NS).items == []
