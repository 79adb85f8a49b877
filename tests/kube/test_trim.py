"""Trimmed cache objects give the inventory exactly what whole objects give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reclaimer.kube.inventory import pod_gpus
from reclaimer.kube.isvc import service_from_isvc
from reclaimer.kube.trim import trim_isvc, trim_pod
from reclaimer.model import DeploymentMode

INVENTORY = Path(__file__).resolve().parents[2] / "examples" / "inventory.yaml"
STOP_OWNER = {"manager": "kubectl-annotate", "operation": "Update", "time": "2030-01-01T21:00:00Z",
              "fieldsV1": {"f:metadata": {"f:annotations": {"f:serving.kserve.io/stop": {}}}}}
OTHER_OWNER = {"manager": "kserve", "operation": "Update", "time": "2030-01-01T22:00:00Z",
               "fieldsV1": {"f:status": {"f:conditions": {}}}}


def _isvcs() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load(INVENTORY.read_text())["items"]
    items[0]["metadata"]["managedFields"] = [STOP_OWNER, OTHER_OWNER]
    return items


@pytest.mark.parametrize("obj", _isvcs(), ids=lambda o: o["metadata"]["name"])
def test_trimmed_isvc_maps_to_the_same_service(obj: dict[str, Any]) -> None:
    mode = DeploymentMode.KNATIVE
    assert service_from_isvc(trim_isvc(obj), default_mode=mode) == service_from_isvc(
        obj, default_mode=mode)


def test_only_the_stop_annotations_owners_are_kept() -> None:
    trimmed = trim_isvc(_isvcs()[0])
    assert [e["manager"] for e in trimmed["metadata"]["managedFields"]] == ["kubectl-annotate"]


POD = {"metadata": {"name": "p", "namespace": "team-a", "labels": {"a": "b"}},
       "spec": {"containers": [{"name": "c", "image": "x", "env": [{"name": "E"}],
                                "resources": {"limits": {"nvidia.com/gpu": "2"}}}],
                "volumes": [{"name": "v"}]},
       "status": {"phase": "Running"}}


def test_trimmed_pod_keeps_its_gpu_count() -> None:
    assert pod_gpus(trim_pod(POD)) == pod_gpus(POD) == 2


def test_trimmed_pod_drops_what_nobody_reads() -> None:
    assert "volumes" not in trim_pod(POD)["spec"] and "status" not in trim_pod(POD)
