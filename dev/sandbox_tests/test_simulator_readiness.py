"""Readiness counts each pod once: half the pods Ready is not Ready (issue 15, item 9)."""

from __future__ import annotations

import pytest
from kubernetes import client

from sandbox_tests.simkit import NS, conditions, isvc, scenario
from tests.fixtures.sandbox import MakeSandbox

pytestmark = pytest.mark.integration


def test_an_isvc_with_one_of_two_pods_ready_is_not_ready(make_sandbox: MakeSandbox) -> None:
    """The second pod finds no free GPU (``gpuCapacity: 1``) and stays Pending."""
    h = make_sandbox({**scenario("Standard", minReplicas=2, maxReplicas=2), "gpuCapacity": 1})
    h.wait_idle(terminations=True)
    dep = client.AppsV1Api(h.api_client).read_namespaced_deployment("llama-predictor", NS)
    assert (dep.status.replicas, dep.status.ready_replicas) == (2, 1)
    assert conditions(isvc(h))["Ready"]["status"] != "True"
