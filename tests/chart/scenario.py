"""The sandbox scenario the RBAC tests run on: KServe 0.14 (so the managed path runs),
one Standard-mode service, and the chart's own CRD with one ReclaimPolicy."""

from __future__ import annotations

from typing import Any

from tests.chart.crd import crd
from tests.chart.helm import NAMESPACE

TEAM = "team-a"
POLICY: dict[str, Any] = {
    "apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
    "metadata": {"name": "office-hours", "namespace": TEAM},
    "spec": {"timeZone": "Europe/Berlin",
             "schedule": [{"start": "0 8 * * mon-fri", "stop": "0 19 * * mon-fri"}]},
}
SCENARIO: dict[str, Any] = {
    "kserve": "0.14",
    "namespaces": [TEAM, NAMESPACE, "kserve"],
    "inferenceServices": [{"namespace": TEAM, "name": "llama", "mode": "Standard", "gpus": 1}],
    "objects": [dict(crd()), POLICY],
}
