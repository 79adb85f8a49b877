"""Which strategy acts on an ISVC (pure: decided from the object and the ledger's info)."""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor.strategy import Strategy, choose
from reclaimer.model import Action, DeploymentMode

KSERVE_STOPPED_FALSE = {"type": "Stopped", "status": "False", "severity": "Info"}
OWN_STOPPED = {"type": "Stopped", "status": "True", "reason": "Reclaimed"}


def isvc(mode: str | None = None, *, conditions: tuple[dict[str, Any], ...] = (),
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    notes = dict(annotations or {})
    if mode:
        notes["serving.kserve.io/deploymentMode"] = mode
    return {"metadata": {"namespace": "a", "name": "m", "annotations": notes},
            "spec": {"predictor": {}}, "status": {"conditions": list(conditions)}}


@pytest.mark.parametrize(("obj", "action", "configured", "restore", "cluster_native", "want"), [
    pytest.param(isvc("Standard", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.AUTO, None, False, "native", id="auto-kserve-condition"),
    pytest.param(isvc("Standard"), Action.STOP, Strategy.AUTO, None, False,
                 "managed-raw", id="auto-no-condition-raw"),
    pytest.param(isvc("Serverless"), Action.STOP, Strategy.AUTO, None, False,
                 "managed-knative", id="auto-old-knative-name"),
    pytest.param(isvc("Standard"), Action.STOP, Strategy.AUTO, None, True,
                 "native", id="auto-cluster-is-native"),
    pytest.param(isvc("Standard", conditions=(OWN_STOPPED,)), Action.STOP, Strategy.AUTO,
                 None, False, "managed-raw", id="auto-own-condition-is-no-evidence"),
    pytest.param(isvc(None), Action.STOP, Strategy.AUTO, None, False, "managed-knative",
                 id="auto-cluster-default-mode"),
    pytest.param(isvc("ModelMesh", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.NATIVE, None, False, "modelmesh", id="modelmesh-always"),
    pytest.param(isvc("Standard"), Action.STOP, Strategy.NATIVE, None, False, "native",
                 id="configured-native"),
    pytest.param(isvc("Knative", conditions=(KSERVE_STOPPED_FALSE,)), Action.STOP,
                 Strategy.MANAGED, None, False, "managed-knative", id="configured-managed"),
    pytest.param(isvc("Standard", conditions=(OWN_STOPPED,)), Action.START, Strategy.AUTO,
                 {"strategy": "managed-raw"}, True, "managed-raw",
                 id="start-uses-what-stopped-it"),
    pytest.param(isvc("Standard", annotations={"serving.kserve.io/stop": "true"}),
                 Action.START, Strategy.AUTO, {"strategy": "managed-raw"}, False, "native",
                 id="start-of-annotation-is-native"),
])
def test_choose(obj: dict[str, Any], action: Action, configured: Strategy,
                restore: dict[str, Any] | None, cluster_native: bool, want: str) -> None:
    handler = choose(obj, action=action, configured=configured,
                     default_mode=DeploymentMode.KNATIVE, cluster_native=cluster_native,
                     restore=restore)
    assert handler.name == want
