"""Replicas: autoscalerClass hpa / external / none, minReplicas, and scaling by others."""

from __future__ import annotations

import pytest

from kubesandbox.scenario import ScenarioInvalid
from sandbox_tests.simkit import exists, pod_names, scale, scenario
from tests.fixtures.sandbox import MakeSandbox

pytestmark = pytest.mark.integration

CLASS = "serving.kserve.io/autoscalerClass"
VERSIONS = [pytest.param("0.14", id="kserve-0.14"), pytest.param("0.16", id="kserve-0.16")]


@pytest.mark.parametrize("kserve", VERSIONS)
def test_external_class_deletes_the_hpa(make_sandbox: MakeSandbox, kserve: str) -> None:
    h = make_sandbox(scenario("Standard", kserve=kserve, annotations={CLASS: "external"}))
    assert not exists(h, "hpa", "llama-predictor")
    assert exists(h, "deployment", "llama-predictor")


@pytest.mark.parametrize("kserve", VERSIONS)
def test_external_class_keeps_a_deployment_scaled_to_zero(make_sandbox: MakeSandbox,
                                                          kserve: str) -> None:
    h = make_sandbox(scenario("Standard", kserve=kserve, annotations={CLASS: "external"}))
    scale(h, "llama-predictor", 0)
    assert pod_names(h) == set()


@pytest.mark.parametrize(("replicas", "expected"), [
    pytest.param(3, 3, id="up"), pytest.param(0, 0, id="zero")])
def test_pod_count_follows_spec_replicas(make_sandbox: MakeSandbox, replicas: int,
                                         expected: int) -> None:
    h = make_sandbox(scenario("Standard", annotations={CLASS: "external"}))
    scale(h, "llama-predictor", replicas)
    assert len(pod_names(h)) == expected


@pytest.mark.parametrize(("min_replicas", "expected"), [
    pytest.param(None, 1, id="default"), pytest.param(2, 2, id="two"),
    pytest.param(0, 1, id="zero-clamped")])
def test_hpa_class_runs_at_least_one_pod(make_sandbox: MakeSandbox,
                                         min_replicas: int | None, expected: int) -> None:
    h = make_sandbox(scenario("Standard", minReplicas=min_replicas))
    assert len(pod_names(h)) == expected


def test_hpa_raises_a_deployment_scaled_below_its_minimum(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard", minReplicas=2))
    scale(h, "llama-predictor", 1)
    assert len(pod_names(h)) == 2


def test_none_class_runs_min_replicas_zero(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard", minReplicas=0, annotations={CLASS: "none"}))
    assert (pod_names(h), exists(h, "hpa", "llama-predictor")) == (set(), False)


def test_none_class_reverts_a_manual_scale(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard", minReplicas=1, annotations={CLASS: "none"}))
    scale(h, "llama-predictor", 3)
    assert len(pod_names(h)) == 1


@pytest.mark.parametrize(("min_replicas", "expected"), [
    pytest.param(None, 1, id="default"), pytest.param(0, 0, id="scale-to-zero"),
    pytest.param(2, 2, id="two")])
def test_knative_pods_follow_min_scale(make_sandbox: MakeSandbox, min_replicas: int | None,
                                       expected: int) -> None:
    h = make_sandbox(scenario("Knative", minReplicas=min_replicas))
    assert len(pod_names(h)) == expected


def test_an_hpa_leaves_a_deployment_scaled_to_zero_alone(make_sandbox: MakeSandbox) -> None:
    h = make_sandbox(scenario("Standard", minReplicas=2))
    scale(h, "llama-predictor", 0)
    assert (pod_names(h), exists(h, "hpa", "llama-predictor")) == (set(), True)


def test_kserve_014_does_not_know_the_none_class(make_sandbox: MakeSandbox) -> None:
    """0.14's webhook rejects ``none`` (added in 0.15.1): the scenario cannot seed it."""
    with pytest.raises(ScenarioInvalid, match="unsupported autoscaler class 'none'"):
        make_sandbox(scenario("Standard", kserve="0.14", minReplicas=0,
                              annotations={CLASS: "none"}))
