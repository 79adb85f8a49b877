"""KServe 0.15.1/0.15.2: stop for Knative predictors only (``kserve_stop.md`` §9)."""

from __future__ import annotations

import pytest
from kubernetes import client

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


def test_a_knative_predictor_stops(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Knative", kserve="0.15"))
    annotate(h, {STOP: "true"})
    h.wait_idle(terminations=True)
    assert (exists(h, "ksvc", "llama-predictor"), exists(h, "virtualservice", "llama"),
            pods(h)) == (False, False, [])


def test_a_stopped_knative_isvc_has_conditions_without_reasons(
        make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Knative", kserve="0.15"))
    annotate(h, {STOP: "true"})
    conds = conditions(isvc(h))
    seen = {t: (c["status"], c.get("reason")) for t, c in conds.items()}
    assert seen == {"IngressReady": ("False", None), "PredictorReady": ("False", None),
                    "Ready": ("False", None), "Stopped": ("True", None)}


def test_a_running_knative_isvc_carries_stopped_false_and_the_old_mode_name(
        make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Knative", kserve="0.15"))
    obj = isvc(h)
    assert (conditions(obj)["Stopped"]["status"], obj["status"]["deploymentMode"]) == (
        "False", "Serverless")


def test_raw_ignores_the_stop_and_its_pods_roll(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard", kserve="0.15"))
    before = pod_names(h)
    annotate(h, {STOP: "true"})
    after = pod_names(h)
    conds = conditions(isvc(h))
    assert (len(after), after.isdisjoint(before), exists(h, "deployment", "llama-predictor"),
            "Stopped" in conds, conds["Ready"]["status"]) == (1, True, True, False, "True")


def test_a_transformer_keeps_running(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Knative", kserve="0.15", transformer=True))
    annotate(h, {STOP: "true"})
    h.wait_idle(terminations=True)
    components = sorted(p.metadata.labels["component"] for p in pods(h))
    assert (exists(h, "ksvc", "llama-predictor"), exists(h, "ksvc", "llama-transformer"),
            components) == (False, True, ["transformer"])
    assert conditions(isvc(h))["TransformerReady"]["status"] == "True"


def test_the_controller_deployment_names_the_release(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Knative", kserve="0.15"))
    dep = client.AppsV1Api(h.api_client).read_namespaced_deployment(
        "kserve-controller-manager", "kserve")
    assert dep.spec.template.spec.containers[0].image == "kserve/kserve-controller:v0.15.2"


def test_a_scenario_can_hide_the_controller(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox({**scenario("Knative", kserve="0.15"), "kserveControllerImage": ""})
    items = client.AppsV1Api(h.api_client).list_namespaced_deployment("kserve").items
    assert items == []
