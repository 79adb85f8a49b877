"""The scenario format: validation names the field; seeding puts it into a store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubesandbox import types as t
from kubesandbox.scenario import ScenarioInvalid, load_scenario, parse_scenario
from kubesandbox.seed import apply_scenario, isvc_manifest
from kubesandbox.store import Store
from tests.fixtures.sandbox import MakeSandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sandbox-scenario.yaml"
ISVC = {"namespace": "team-a", "name": "llama"}


@pytest.mark.parametrize(("data", "message"), [
    pytest.param({"kserve": "0.13"}, "kserve: '0.13' is not one of", id="version"),
    pytest.param({"defaultDeploymentMode": "Raw"}, "defaultDeploymentMode: 'Raw'", id="mode"),
    pytest.param({"podTerminationSeconds": -1}, "podTerminationSeconds: must be", id="grace"),
    pytest.param({"podTerminationSeconds": True}, "podTerminationSeconds: must be",
                 id="grace-bool"),
    pytest.param({"namespace": ["a"]}, "namespace: unknown field", id="unknown-top"),
    pytest.param({"namespaces": "team-a"}, "namespaces: must be a list", id="namespaces"),
    pytest.param({"namespaces": ["Team_A"]}, "namespaces[0]: 'Team_A' is not a DNS label",
                 id="namespace-name"),
    pytest.param({"inferenceServices": [{"name": "x"}]},
                 "inferenceServices[0].namespace: required", id="isvc-namespace"),
    pytest.param({"inferenceServices": [{**ISVC, "gpus": "two"}]},
                 "inferenceServices[0].gpus: must be an integer >= 0, got 'two'", id="gpus"),
    pytest.param({"inferenceServices": [{**ISVC, "mode": "Serverful"}]},
                 "inferenceServices[0].mode: 'Serverful'", id="isvc-mode"),
    pytest.param({"inferenceServices": [{**ISVC, "annotations": {"a": True}}]},
                 "inferenceServices[0].annotations: must map strings to strings",
                 id="annotation-value"),
    pytest.param({"inferenceServices": [{**ISVC, "replicas": 2}]},
                 "inferenceServices[0].replicas: unknown field", id="unknown-isvc"),
    pytest.param({"objects": [{"kind": "ConfigMap"}]}, "objects[0].apiVersion: required",
                 id="object-apiversion"),
    pytest.param({"objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}]},
                 "objects[0].metadata.name: required", id="object-name"),
])
def test_invalid_scenarios_name_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario(data)
    assert message in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("kserve: [", "not valid YAML", id="yaml"),
    pytest.param("- a\n- b\n", "must be a mapping", id="not-a-mapping"),
])
def test_invalid_yaml_text_is_reported(text: str, message: str) -> None:
    with pytest.raises(ScenarioInvalid, match=message):
        parse_scenario(text)


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param({}, ("0.16", "Knative", 1.0), id="defaults"),
    pytest.param({"kserve": "0.14", "defaultDeploymentMode": "RawDeployment",
                  "podTerminationSeconds": 0}, ("0.14", "Standard", 0.0), id="old-names"),
])
def test_settings_come_from_the_scenario(data: dict[str, Any],
                                         expected: tuple[str, str, float]) -> None:
    s = parse_scenario(data).settings
    assert (s.kserve, s.default_mode, s.pod_termination_seconds) == expected


def test_the_example_scenario_is_valid() -> None:
    assert len(load_scenario(EXAMPLE).inference_services) == 5


def test_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ScenarioInvalid, match=r"nope\.yaml: cannot read"):
        load_scenario(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("gpus", "expected"), [
    pytest.param(0, None, id="cpu-only"), pytest.param(4, "4", id="four")])
def test_gpus_become_model_requests_and_limits(gpus: int, expected: str | None) -> None:
    entry = parse_scenario({"inferenceServices": [{**ISVC, "gpus": gpus}]}).inference_services[0]
    resources = isvc_manifest(entry)["spec"]["predictor"]["model"]["resources"]
    assert (resources["requests"].get("nvidia.com/gpu"),
            resources["limits"].get("nvidia.com/gpu")) == (expected, expected)


def test_mode_becomes_the_deployment_mode_annotation() -> None:
    entry = parse_scenario({"inferenceServices": [{**ISVC, "mode": "RawDeployment"}]})
    manifest = isvc_manifest(entry.inference_services[0])
    assert manifest["metadata"]["annotations"] == {
        "serving.kserve.io/deploymentMode": "RawDeployment"}


def test_seeding_writes_kserves_configmap() -> None:
    store = Store()
    apply_scenario(store, parse_scenario({"defaultDeploymentMode": "Serverless"}))
    cm = store.get(t.CONFIGMAPS, "kserve", "inferenceservice-config")
    assert json.loads(cm["data"]["deploy"]) == {"defaultDeploymentMode": "Serverless"}


def test_seeding_creates_namespaces_isvcs_and_objects() -> None:
    store = Store()
    apply_scenario(store, load_scenario(EXAMPLE))
    namespaces = {n["metadata"]["name"] for n in store.list(t.NAMESPACES)[0]}
    assert {"default", "kserve", "team-a", "team-b"} <= namespaces
    assert len(store.list(t.INFERENCESERVICES)[0]) == 5
    assert store.get(t.CONFIGMAPS, "team-a", "team-notes")["data"] == {"owner": "ml-platform"}


def test_seeding_an_unserved_kind_names_the_object() -> None:
    scenario = parse_scenario({"objects": [{"apiVersion": "example.com/v1", "kind": "Widget",
                                            "metadata": {"name": "w"}}]})
    with pytest.raises(ScenarioInvalid, match=r"objects\[0\]: example.com/v1 Widget is not"):
        apply_scenario(Store(), scenario)


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "reclaimpolicies.reclaimer.io"},
       "spec": {"group": "reclaimer.io", "scope": "Namespaced",
                "names": {"plural": "reclaimpolicies", "singular": "reclaimpolicy",
                          "kind": "ReclaimPolicy"},
                "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                              "subresources": {"status": {}}}]}}


def test_objects_may_define_a_crd_and_then_use_it() -> None:
    policy = {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
              "metadata": {"name": "office-hours", "namespace": "team-a"}, "spec": {}}
    store = Store()
    apply_scenario(store, parse_scenario({"objects": [CRD, policy]}))
    rtype = store.registry.by_kind("reclaimer.io/v1alpha1", "ReclaimPolicy")
    assert store.get(rtype, "team-a", "office-hours")["spec"] == {}


@pytest.mark.integration
def test_an_isvc_given_as_an_object_is_simulated(make_sandbox: MakeSandbox) -> None:
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "custom", "namespace": "team-a",
                         "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
            "spec": {"predictor": {"containers": [{
                "name": "kserve-container", "image": "vllm/vllm-openai:latest",
                "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}}}
    h = make_sandbox({"objects": [isvc]})
    pods = h.world.store.list(t.PODS, "team-a",
                              label_selector="serving.kserve.io/inferenceservice=custom")[0]
    assert [p["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
            for p in pods] == ["8"]
