"""Issue 13 cases 6 and 7: one tenant's policy never stops the loop for everybody.

Case 6: absurd values (a 99999999999-day idle window, a 3000000-day maxDefer, a NaN
threshold) are each rejected with one line naming the field, and the valid policies of
the same tick still act. Case 7: a policy file and a ReclaimPolicy with the same key are
a conflict applied to nobody. Both against the sandbox over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.rest import ISVC, POLICY, Rest
from reclaimer.model import ServiceRef
from tests.fixtures.sandbox import MakeSandbox
from tests.service.conftest import SandboxClock
from tests.service.loop_world import (
    DATA_FROM,
    FRIDAY_STOP,
    OFFICE_HOURS,
    LoopWorld,
    build,
    busy_until,
    quiet,
    scenario,
    with_policy_crd,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
MISTRAL = ServiceRef("team-b", "mistral")
OFFICE = OFFICE_HOURS % {"busy": "force"}


def _cr(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _schedule(**extra: Any) -> dict[str, Any]:
    return {"selector": {"matchLabels": {"tier": "dev"}}, "timeZone": "Europe/Berlin",
            "schedule": [{"start": "0 8 * * mon-fri", "stop": "0 19 * * mon-fri"}], **extra}


def _stop_annotation(world: LoopWorld, ref: ServiceRef) -> str | None:
    obj = world.rest.get(ISVC, ref.namespace, ref.name)
    return (obj["metadata"].get("annotations") or {}).get("serving.kserve.io/stop")


def _valid(world: LoopWorld, namespace: str, name: str) -> dict[str, Any]:
    status = world.rest.get(POLICY, namespace, name).get("status") or {}
    return next(c for c in status.get("conditions") or [] if c["type"] == "Valid")


@pytest.mark.parametrize(("spec", "field"), [
    pytest.param({"idle": {"after": "99999999999d"}}, "spec.idle.after", id="idle-after"),
    pytest.param(_schedule(maxDefer="3000000d"), "spec.maxDefer", id="max-defer"),
    pytest.param({"idle": {"after": "30m", "minUptime": "367d"}}, "spec.idle.minUptime",
                 id="min-uptime"),
])
def test_case6_absurd_cr_is_invalid_alone_and_other_edges_act(
        make_sandbox: MakeSandbox, tmp_path: Path, spec: dict[str, Any], field: str) -> None:
    services = scenario(("team-a", "llama", {"tier": "dev"}),
                        ("team-b", "mistral", {"tier": "dev"}))
    world = build(make_sandbox(with_policy_crd(services)), tmp_path, policies={},
                  scripts={LLAMA: quiet(), MISTRAL: busy_until(FRIDAY_STOP + timedelta(hours=1))},
                  crs=[_cr("team-a", "office", _schedule(busyAtStop="force")),
                       _cr("team-b", "tenant", spec)])
    try:
        result = world.tick(FRIDAY_STOP)
        condition = _valid(world, "team-b", "tenant")
    finally:
        world.close()
    assert _stop_annotation(world, LLAMA) == "true"
    assert [e.field for e in result.observation.invalid] == [field]
    assert (condition["status"], condition["message"].count("\n")) == ("False", 0)
    assert condition["message"].startswith(f"{field}: ")
    assert world.reconciler.metrics.invalid_policies._value.get() == 1


def test_case6_nan_threshold_in_a_file_is_rejected_with_one_line(
        make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    nan_policy = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: nan}
spec:
  namespaceSelector: {matchNames: [team-b]}
  idle: {after: 30m, gpuUtilizationBelow: .nan}
"""
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}),
                                        ("team-b", "mistral", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE, "nan": nan_policy},
                  scripts={LLAMA: quiet(), MISTRAL: quiet()})
    try:
        result = world.tick(FRIDAY_STOP)
    finally:
        world.close()
    assert [(e.field, e.message) for e in result.observation.invalid] == [
        ("spec.idle.gpuUtilizationBelow", "nan is not a finite number")]
    assert _stop_annotation(world, LLAMA) == "true"
    assert _stop_annotation(world, MISTRAL) is None


def test_case7_file_and_cr_with_one_key_apply_to_nobody(
        make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    operator = OFFICE.replace("metadata: {name: office-hours}",
                              "metadata: {name: office-hours, namespace: team-a}").replace(
        "  namespaceSelector: {matchNames: [team-a]}\n", "")
    saturday = _schedule(busyAtStop="force", schedule=[
        {"start": "0 8 * * sat", "stop": "0 19 * * mon-fri"}])
    world = build(make_sandbox(with_policy_crd(scenario(("team-a", "llama", {"tier": "dev"})))),
                  tmp_path, policies={"office": operator}, scripts={LLAMA: quiet()},
                  crs=[_cr("team-a", "office-hours", saturday)])
    try:
        result = world.tick(FRIDAY_STOP)
        condition = _valid(world, "team-a", "office-hours")
    finally:
        world.close()
    assert _stop_annotation(world, LLAMA) is None
    assert result.plan.transitions == ()
    assert sorted(e.field for e in result.observation.invalid) == ["metadata.name"] * 2
    assert condition["status"] == "False"
    assert "never share a key" in condition["message"]


def test_case8_minutely_cr_is_invalid_and_costs_no_edges(make_sandbox: MakeSandbox,
                                                         tmp_path: Path) -> None:
    services = scenario(("team-a", "llama", {"tier": "dev"}),
                        ("team-b", "mistral", {"tier": "dev"}))
    minutely = _schedule(schedule=[{"start": "* * * * *", "stop": "30 19 * * *"}])
    crs = [_cr("team-a", "office", _schedule(busyAtStop="force")),
           *(_cr("team-b", f"tenant-{n}", minutely) for n in range(3))]
    world = build(make_sandbox(with_policy_crd(services)), tmp_path, policies={},
                  scripts={LLAMA: quiet(), MISTRAL: quiet()}, crs=crs)
    try:
        result = world.tick(FRIDAY_STOP)
    finally:
        world.close()
    assert [e.field for e in result.observation.invalid] == ["spec.schedule[0].start"] * 3
    assert [p.key for p in result.observation.policies] == ["team-a/office"]
    assert _stop_annotation(world, LLAMA) == "true"


def test_case6_a_policy_whose_decide_raises_does_not_stop_another_policys_edge(
        clocked_sandbox: Any, tmp_path: Path) -> None:
    """The tenant's idle policy governs a service dated 9999-12-31T23:59Z (a clock gone
    wrong): its next wake (start + minUptime) overflows inside decide(). Only that policy
    is left out and reported; the operator's 19:00 stop in team-a still happens."""
    clock = SandboxClock(DATA_FROM)
    sandbox = clocked_sandbox(with_policy_crd(scenario(("team-a", "llama", {"tier": "dev"}))),
                              clock)
    clock.at = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    future = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": "mistral", "namespace": "team-b"},
              "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}}}
    Rest(api_client_for_host(sandbox.url)).create(ISVC, "team-b", future)
    sandbox.wait_idle()
    clock.at = FRIDAY_STOP
    world = build(sandbox, tmp_path, policies={}, scripts={LLAMA: quiet(), MISTRAL: quiet()},
                  crs=[_cr("team-a", "office", _schedule(busyAtStop="force")),
                       _cr("team-b", "tenant", {"idle": {"after": "30m"}})])
    try:
        result = world.tick(FRIDAY_STOP)
        condition = _valid(world, "team-b", "tenant")
    finally:
        world.close()
    assert _stop_annotation(world, LLAMA) == "true"
    assert [f.policy for f in result.plan.faults] == ["team-b/tenant"]
    assert [e.field for e in result.observation.invalid] == ["(decide)"]
    assert (condition["status"], condition["message"].count("\n")) == ("False", 0)
    assert world.reconciler.metrics.invalid_policies._value.get() == 1
