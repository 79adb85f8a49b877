"""The chart's ReclaimPolicy CRD served by a real API server, which enforces its schema."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.controlplane.world import RealWorld

pytestmark = pytest.mark.timeout(120)
GROUP, VERSION, PLURAL = "reclaimer.io", "v1alpha1", "reclaimpolicies"
VALID: Mapping[str, Any] = {
    "apiVersion": f"{GROUP}/{VERSION}", "kind": "ReclaimPolicy",
    "metadata": {"name": "office-hours"},
    "spec": {"selector": {"matchLabels": {"tier": "dev"}}, "timeZone": "Europe/Berlin",
             "schedule": [{"start": "0 8 * * mon-fri", "stop": "0 19 * * mon-fri"}],
             "idle": {"after": "30m", "gpuUtilizationBelow": 5},
             "busyAtStop": "defer", "mode": "enforce"}}


def create(world: RealWorld, body: Mapping[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = world.custom().create_namespaced_custom_object(
        GROUP, VERSION, world.namespace, PLURAL, dict(body))
    return created


def with_spec(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(dict(VALID))
    for key, value in changes.items():
        if value is None:
            body["spec"].pop(key)
        else:
            body["spec"][key] = value
    return body


def test_a_valid_policy_is_accepted_as_written(policy_crd: str, world: RealWorld) -> None:
    created = create(world, VALID)
    assert created["spec"] == VALID["spec"]


@pytest.mark.parametrize(("body", "field"), [
    pytest.param(with_spec(mode="sometimes"), "spec.mode", id="mode-not-in-enum"),
    pytest.param(with_spec(idle={"maxRequests": 0}), "spec.idle.after", id="idle-without-after"),
    pytest.param(with_spec(schedule=[]), "spec.schedule", id="empty-schedule"),
    pytest.param(with_spec(idle={"after": "30m", "gpuUtilizationBelow": 150}),
                 "spec.idle.gpuUtilizationBelow", id="utilization-over-100"),
])
def test_an_invalid_policy_is_rejected_by_the_api_servers_schema(
        policy_crd: str, world: RealWorld, body: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiException) as rejected:
        create(world, body)
    assert rejected.value.status == 422
    assert field in rejected.value.body
