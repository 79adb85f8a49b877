"""The simulator's pure parts: condition algebra, child comparison, mode names."""

from __future__ import annotations

from typing import Any

import pytest

from kubesandbox.kserve import status, sync
from kubesandbox.kserve.settings import SimulatorSettings, parse_mode


@pytest.mark.parametrize(("predictor", "ingress", "expected"), [
    pytest.param("True", "True", ("True", None), id="both-true"),
    pytest.param("False", "True", ("False", "Stopped"), id="predictor-false"),
    pytest.param("True", "Unknown", ("Unknown", "Initializing"), id="ingress-unknown"),
    pytest.param("Unknown", "False", ("False", "Stopped"), id="false-wins"),
])
def test_ready_follows_its_dependents(predictor: str, ingress: str,
                                      expected: tuple[str, str | None]) -> None:
    reasons = {"False": "Stopped", "Unknown": "Initializing", "True": None}
    conds = status.with_ready([
        status.condition("PredictorReady", predictor, reasons[predictor]),
        status.condition("IngressReady", ingress, reasons[ingress])])
    ready = conds[-1]
    assert (ready["status"], ready.get("reason")) == expected


@pytest.mark.parametrize(("ctype", "severity"), [
    pytest.param("Ready", None, id="ready"),
    pytest.param("PredictorReady", None, id="dependent"),
    pytest.param("Stopped", "Info", id="stopped"),
    pytest.param("TransformerReady", "Info", id="transformer"),
])
def test_only_non_dependents_carry_info_severity(ctype: str, severity: str | None) -> None:
    assert status.condition(ctype, "True").get("severity") == severity


def test_stamp_keeps_the_transition_time_of_an_unchanged_condition() -> None:
    old = [{"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}]
    [ready] = status.stamp([status.condition("Ready", "True")], old)
    assert ready["lastTransitionTime"] == "2020-01-01T00:00:00Z"


def test_stamp_sorts_conditions_by_type() -> None:
    conds = status.stamp([status.condition(t, "True") for t in ("Stopped", "IngressReady")], [])
    assert [c["type"] for c in conds] == ["IngressReady", "Stopped"]


@pytest.mark.parametrize(("want", "have", "expected"), [
    pytest.param({"spec": {"a": 1}}, {"spec": {"a": 1, "defaulted": 2}}, True,
                 id="server-defaults-ignored"),
    pytest.param({"spec": {"a": 1}}, {"spec": {"a": 2}}, False, id="changed-value"),
    pytest.param({"metadata": {"annotations": {}}},
                 {"metadata": {"annotations": {"x": "1"}}}, False, id="removed-annotation"),
    pytest.param({"spec": {"l": [{"a": 1}]}}, {"spec": {"l": [{"a": 1, "b": 2}]}}, True,
                 id="list-items-subset"),
    pytest.param({"spec": {"l": [1]}}, {"spec": {"l": [1, 2]}}, False, id="list-length"),
])
def test_drift_detection(want: dict[str, Any], have: dict[str, Any], expected: bool) -> None:
    assert sync.is_subset(want, have) is expected


def test_merge_replaces_annotations_and_keeps_other_fields() -> None:
    have = {"metadata": {"annotations": {"old": "1"}, "uid": "u"}, "spec": {"replicas": 0}}
    want = {"metadata": {"annotations": {"new": "1"}}, "spec": {"template": {}}}
    assert sync.merged(have, want) == {
        "metadata": {"annotations": {"new": "1"}, "uid": "u"},
        "spec": {"replicas": 0, "template": {}}}


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("Serverless", "Knative", id="serverless"),
    pytest.param("RawDeployment", "Standard", id="raw"),
    pytest.param("ModelMesh", "ModelMesh", id="modelmesh"),
    pytest.param("knative", None, id="case-matters"),
    pytest.param(None, None, id="absent"),
])
def test_mode_names_parse_like_kserve(value: str | None, expected: str | None) -> None:
    assert parse_mode(value) == expected


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"kserve": "0.13"}, "kserve:", id="version"),
    pytest.param({"default_deployment_mode": "Raw"}, "defaultDeploymentMode:", id="mode"),
    pytest.param({"pod_termination_seconds": -1.0}, "podTerminationSeconds:", id="grace"),
])
def test_settings_reject_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulatorSettings(**kwargs)
