"""Which strategy acts on an ISVC (pure: decided from the object and the ledger's info)."""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor.strategy import Strategy, choose
from reclaimer.kube.kserve_version import KServeVersion, parse_kserve_version
from reclaimer.model import Action, DeploymentMode

KSERVE_STOPPED_FALSE = {"type": "Stopped", "status": "False", "severity": "Info"}
OWN_STOPPED = {"type": "Stopped", "status": "True", "reason": "Reclaimed"}


V014, V0150, V0152, V016 = (KServeVersion(0, 14), KServeVersion(0, 15, 0),
                             KServeVersion(0, 15, 2), KServeVersion(0, 16))


def isvc(mode: str | None = None, *, conditions: tuple[dict[str, Any], ...] = (),
         annotations: dict[str, str] | None = None, status_mode: str | None = None,
         transformer: bool = False) -> dict[str, Any]:
    notes = dict(annotations or {})
    if mode:
        notes["serving.kserve.io/deploymentMode"] = mode
    spec: dict[str, Any] = {"predictor": {}, **({"transformer": {}} if transformer else {})}
    status: dict[str, Any] = {"conditions": list(conditions)}
    if status_mode:
        status["deploymentMode"] = status_mode
    return {"metadata": {"namespace": "a", "name": "m", "annotations": notes},
            "spec": spec, "status": status}


@pytest.mark.parametrize(("obj", "action", "configured", "restore", "version", "want"), [
    pytest.param(isvc("Standard", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.AUTO, None, None, "native", id="auto-kserve-condition-on-raw"),
    pytest.param(isvc("Standard"), Action.STOP, Strategy.AUTO, None, None,
                 "managed-raw", id="auto-no-condition-raw"),
    pytest.param(isvc("Serverless"), Action.STOP, Strategy.AUTO, None, None,
                 "managed-knative", id="auto-old-knative-name"),
    pytest.param(isvc("Standard", conditions=(OWN_STOPPED,)), Action.STOP, Strategy.AUTO,
                 None, None, "managed-raw", id="auto-own-condition-is-no-evidence"),
    pytest.param(isvc(None), Action.STOP, Strategy.AUTO, None, None, "managed-knative",
                 id="auto-cluster-default-mode"),
    pytest.param(isvc("ModelMesh", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.AUTO, None, V016, "modelmesh", id="modelmesh-runtime-level"),
    pytest.param(isvc("ModelMesh"), Action.STOP, Strategy.MANAGED, None, None, "modelmesh",
                 id="modelmesh-managed"),
    pytest.param(isvc("ModelMesh"), Action.STOP, Strategy.NATIVE, None, V016,
                 "native-refused", id="modelmesh-native-only-is-refused"),
    pytest.param(isvc("ModelMesh"), Action.START, Strategy.NATIVE,
                 {"strategy": "modelmesh", "runtime": "triton"}, V016, "modelmesh",
                 id="modelmesh-stop-made-before-native-is-still-started"),
    pytest.param(isvc("Standard"), Action.STOP, Strategy.NATIVE, None, None, "native",
                 id="configured-native"),
    pytest.param(isvc("Knative", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.MANAGED, None, V016, "managed-knative", id="configured-managed"),
    pytest.param(isvc("Standard", conditions=(OWN_STOPPED,)), Action.START, Strategy.AUTO,
                 {"strategy": "managed-raw"}, V016, "managed-raw",
                 id="start-uses-what-stopped-it"),
    pytest.param(isvc("Standard", annotations={"serving.kserve.io/stop": "true"}),
                 Action.START, Strategy.AUTO, {"strategy": "managed-raw"}, V014, "native",
                 id="start-of-annotation-is-native"),
    pytest.param(isvc("Knative", annotations={"serving.kserve.io/stop": "true"},
                      transformer=True), Action.START, Strategy.AUTO,
                 {"strategy": "native-predictor"}, V0152, "native-predictor",
                 id="start-of-a-predictor-only-stop-restores-the-others"),
    pytest.param(isvc("Standard", annotations={"serving.kserve.io/stop": "true"}),
                 Action.STOP, Strategy.AUTO, None, V0152, "managed-raw",
                 id="stop-of-an-annotated-raw-isvc-on-0.15-is-managed"),
    # per ISVC and per version (kserve_stop.md §9)
    pytest.param(isvc("Standard"), Action.STOP, Strategy.AUTO, None, V016, "native",
                 id="raw-on-0.16-before-any-reconcile"),
    pytest.param(isvc("Standard"), Action.STOP, Strategy.AUTO, None, V0152, "managed-raw",
                 id="raw-on-0.15-is-managed"),
    pytest.param(isvc("Knative"), Action.STOP, Strategy.AUTO, None, V0152, "native",
                 id="knative-predictor-on-0.15-is-native"),
    pytest.param(isvc("Knative"), Action.STOP, Strategy.AUTO, None, V0150, "managed-knative",
                 id="knative-on-0.15.0-is-managed"),
    pytest.param(isvc("Knative", transformer=True), Action.STOP, Strategy.AUTO, None, V0152,
                 "native-predictor", id="knative-transformer-on-0.15-is-predictor-only"),
    pytest.param(isvc("Knative", transformer=True), Action.STOP, Strategy.AUTO, None, V016,
                 "native", id="knative-transformer-on-0.16-is-native"),
    pytest.param(isvc("Knative", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.AUTO, None, V014, "managed-knative",
                 id="the-version-wins-over-a-condition"),
    # version unknown: this ISVC's own status is the evidence
    pytest.param(isvc("Knative", conditions=(KSERVE_STOPPED_FALSE,), status_mode="Serverless"),
                 Action.STOP, Strategy.AUTO, None, None, "native",
                 id="unknown-knative-predictor-with-condition"),
    pytest.param(isvc("Knative", conditions=(KSERVE_STOPPED_FALSE,), status_mode="Serverless",
                      transformer=True), Action.STOP, Strategy.AUTO, None, None,
                 "native-predictor", id="unknown-0.15-knative-transformer"),
    pytest.param(isvc("Knative", conditions=(KSERVE_STOPPED_FALSE,), status_mode="Knative",
                      transformer=True), Action.STOP, Strategy.AUTO, None, None, "native",
                 id="unknown-0.16-knative-transformer"),
])
def test_choose(obj: dict[str, Any], action: Action, configured: Strategy,
                restore: dict[str, Any] | None, version: KServeVersion | None,
                want: str) -> None:
    handler = choose(obj, action=action, configured=configured,
                     default_mode=DeploymentMode.KNATIVE, kserve_version=version,
                     restore=restore)
    assert handler.name == want


@pytest.mark.parametrize(("text", "want"), [
    pytest.param("0.15", KServeVersion(0, 15, 0), id="minor"),
    pytest.param("v0.15.2", KServeVersion(0, 15, 2), id="tag"),
    pytest.param("0.16.0-rc1", KServeVersion(0, 16, 0), id="pre-release"),
    pytest.param("latest", None, id="not-a-version"),
    pytest.param("", None, id="empty"),
])
def test_parse_kserve_version(text: str, want: KServeVersion | None) -> None:
    assert parse_kserve_version(text) == want
