"""KServe 0.14 (no native stop): the annotation only rolls pods, children come back."""

from __future__ import annotations

import pytest

from sandbox_tests.simkit import (
    STOP,
    annotate,
    conditions,
    delete,
    exists,
    isvc,
    pod_names,
    scenario,
)
from tests.fixtures.sandbox import MakeSandbox

pytestmark = pytest.mark.integration

WORKLOAD = [pytest.param("Knative", "ksvc", id="knative"),
            pytest.param("Standard", "deployment", id="standard")]


@pytest.mark.parametrize(("mode", "kind"), WORKLOAD)
def test_stop_annotation_only_rolls_the_pods(make_sandbox: MakeSandbox, mode: str,
                                             kind: str) -> None:
    h = make_sandbox(scenario(mode, kserve="0.14"))
    before = pod_names(h)
    annotate(h, {STOP: "true"})
    after = pod_names(h)
    assert (len(after), after.isdisjoint(before)) == (1, True)
    assert exists(h, kind, "llama-predictor")


@pytest.mark.parametrize(("mode", "kind"), WORKLOAD)
def test_no_stopped_condition_is_written(make_sandbox: MakeSandbox, mode: str,
                                         kind: str) -> None:
    h = make_sandbox(scenario(mode, kserve="0.14"))
    annotate(h, {STOP: "true"})
    conds = conditions(isvc(h))
    assert "Stopped" not in conds
    assert conds["Ready"]["status"] == "True"


@pytest.mark.parametrize(("mode", "expected"), [
    pytest.param("Knative", "Serverless", id="knative"),
    pytest.param("Standard", "RawDeployment", id="standard"),
])
def test_status_uses_the_old_mode_names(make_sandbox: MakeSandbox, mode: str,
                                        expected: str) -> None:
    h = make_sandbox(scenario(mode, kserve="0.14"))
    assert isvc(h)["status"]["deploymentMode"] == expected


@pytest.mark.parametrize(("mode", "kind"), WORKLOAD)
def test_deleted_children_are_recreated(make_sandbox: MakeSandbox, mode: str,
                                        kind: str) -> None:
    h = make_sandbox(scenario(mode, kserve="0.14"))
    delete(h, kind, "llama-predictor")
    assert exists(h, kind, "llama-predictor")
    assert len(pod_names(h)) == 1
