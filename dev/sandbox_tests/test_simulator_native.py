"""KServe 0.16 (native stop) in Knative and Standard mode, through the official client."""

from __future__ import annotations

import pytest

from sandbox_tests.simkit import (
    STOP,
    annotate,
    conditions,
    exists,
    isvc,
    pod_names,
    pods,
    scenario,
)
from tests.fixtures.sandbox import MakeSandbox

pytestmark = pytest.mark.integration

CHILDREN = {
    "Knative": [("ksvc", "llama-predictor"), ("virtualservice", "llama"), ("service", "llama")],
    "Standard": [("deployment", "llama-predictor"), ("service", "llama-predictor"),
                 ("hpa", "llama-predictor")],
}
MODES = [pytest.param("Knative", id="knative"), pytest.param("Standard", id="standard")]


@pytest.mark.parametrize("mode", MODES)
def test_create_makes_the_mode_children(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode))
    assert all(exists(h, kind, name) for kind, name in CHILDREN[mode])


@pytest.mark.parametrize("mode", MODES)
def test_running_status_is_ready_and_not_stopped(make_sandbox: MakeSandbox, mode: str) -> None:
    obj = isvc(make_sandbox(scenario(mode)))
    conds = conditions(obj)
    assert [conds[t]["status"] for t in ("PredictorReady", "IngressReady", "Ready")] == [
        "True"] * 3
    assert conds["Stopped"] | {"lastTransitionTime": None} == {
        "type": "Stopped", "status": "False", "severity": "Info", "lastTransitionTime": None}
    assert obj["status"]["deploymentMode"] == mode
    assert obj["status"]["url"] == "http://llama-team-a.example.com"


@pytest.mark.parametrize("mode", MODES)
def test_pods_carry_kserve_labels_and_gpu_requests(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, gpus=2))
    [pod] = pods(h)
    assert pod.metadata.labels["serving.kserve.io/inferenceservice"] == "llama"
    assert pod.metadata.labels["component"] == "predictor"
    resources = pod.spec.containers[0].resources
    assert (resources.requests["nvidia.com/gpu"], resources.limits["nvidia.com/gpu"]) == (
        "2", "2")


@pytest.mark.parametrize(("mode", "component"), [
    pytest.param("Knative", "ksvc", id="knative"),
    pytest.param("Standard", "deployment", id="standard"),
])
def test_transformer_and_explainer_get_their_own_workloads(
        make_sandbox: MakeSandbox, mode: str, component: str) -> None:
    h = make_sandbox(scenario(mode, transformer=True, explainer=True))
    assert all(exists(h, component, f"llama-{c}") for c in ("transformer", "explainer"))
    assert {p.metadata.labels["component"] for p in pods(h)} == {
        "predictor", "transformer", "explainer"}


@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
@pytest.mark.parametrize("mode", MODES)
def test_stop_deletes_every_child(make_sandbox: MakeSandbox, mode: str, value: str) -> None:
    h = make_sandbox(scenario(mode))
    annotate(h, {STOP: value})
    assert not any(exists(h, kind, name) for kind, name in CHILDREN[mode])


@pytest.mark.parametrize("mode", MODES)
def test_stop_writes_kserve_stopped_status(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode))
    annotate(h, {STOP: "true"})
    obj = isvc(h)
    conds = conditions(obj)
    assert (conds["Stopped"]["status"], conds["Stopped"].get("reason")) == ("True", None)
    for ctype in ("PredictorReady", "IngressReady", "Ready"):
        assert (conds[ctype]["status"], conds[ctype]["reason"]) == ("False", "Stopped")
    assert "url" not in obj["status"]
    assert obj["status"]["deploymentMode"] == mode


@pytest.mark.parametrize("mode", MODES)
def test_stopped_pods_stay_terminating_for_the_grace(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, grace=30))
    annotate(h, {STOP: "true"})
    assert pods(h) == []
    assert [p.metadata.deletion_timestamp is not None for p in pods(h, live=False)] == [True]


@pytest.mark.parametrize("mode", MODES)
def test_stopped_pods_are_gone_after_the_grace(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, grace=0.2))
    annotate(h, {STOP: "true"})
    h.wait_idle(terminations=True)
    assert pods(h, live=False) == []


@pytest.mark.parametrize("value", ["false", "yes", "1", " true", ""])
def test_other_values_do_not_stop(make_sandbox: MakeSandbox, value: str) -> None:
    h = make_sandbox(scenario("Knative"))
    annotate(h, {STOP: value})
    assert conditions(isvc(h))["Ready"]["status"] == "True"
    assert exists(h, "ksvc", "llama-predictor")


@pytest.mark.parametrize("resume", [pytest.param("false", id="false"),
                                    pytest.param(None, id="removed")])
@pytest.mark.parametrize("mode", MODES)
def test_resume_recreates_children(make_sandbox: MakeSandbox, mode: str,
                                   resume: str | None) -> None:
    h = make_sandbox(scenario(mode))
    annotate(h, {STOP: "true"})
    annotate(h, {STOP: resume})
    conds = conditions(isvc(h))
    assert (conds["Stopped"]["status"], conds["Ready"]["status"]) == ("False", "True")
    assert all(exists(h, kind, name) for kind, name in CHILDREN[mode])
    assert len(pods(h)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_created_stopped_never_runs_a_pod(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, annotations={STOP: "true"}))
    assert pods(h, live=False) == []
    assert conditions(isvc(h))["Stopped"]["status"] == "True"


@pytest.mark.parametrize("mode", MODES)
def test_disable_auto_update_makes_stop_ignored(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, annotations={"serving.kserve.io/disable-auto-update": "true"}))
    before = pod_names(h)
    annotate(h, {STOP: "true"})
    assert pod_names(h) == before
    assert conditions(isvc(h))["Stopped"]["status"] == "False"


@pytest.mark.parametrize("mode", MODES)
def test_annotation_change_rolls_the_pods(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode))
    before = pod_names(h)
    annotate(h, {"example.com/owner": "someone"})
    after = pod_names(h)
    assert len(after) == 1
    assert after.isdisjoint(before)


@pytest.mark.parametrize("mode", MODES)
def test_stop_marks_the_transformer_stopped_too(make_sandbox: MakeSandbox, mode: str) -> None:
    h = make_sandbox(scenario(mode, transformer=True))
    annotate(h, {STOP: "true"})
    assert conditions(isvc(h))["TransformerReady"]["reason"] == "Stopped"
    assert pods(h) == []
