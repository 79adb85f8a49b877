"""The sandbox scenario the RBAC tests run on: KServe 0.14 (so the managed path runs),
one Standard-mode service, and the chart's own CRD with one ReclaimPolicy."""

from __future__ import annotations

from typing import Any

from tests.chart.crd import crd
from tests.chart.helm import NAMESPACE

TEAM = "team-a"
STOP_CRON = "0 19 * * *"
POLICY: dict[str, Any] = {
    "apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
    "metadata": {"name": "office-hours", "namespace": TEAM},
    # Daily, and forced at the stop (Prometheus is absent, so traffic is unknown and a
    # deferring policy would wait): the boot test crosses the 19:00 stop edge.
    "spec": {"timeZone": "Europe/Berlin", "busyAtStop": "force",
             "schedule": [{"start": STOP_CRON.replace("19", "8"), "stop": STOP_CRON}]},
}
# KEDA's and Argo Rollouts' CRDs installed, so the managed stop's LISTs of them are real
# requests (issue 14 case 8); no ScaledObject, which the sandbox's KEDA would act on.
SCALERS: list[dict[str, Any]] = [
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": f"{plural}.{group}"},
     "spec": {"group": group, "scope": "Namespaced",
              "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
              "versions": [{"name": "v1alpha1", "served": True, "storage": True}]}}
    for group, kind, plural in (("keda.sh", "ScaledObject", "scaledobjects"),
                                ("argoproj.io", "Rollout", "rollouts"))
]
SCENARIO: dict[str, Any] = {
    "kserve": "0.14",
    "namespaces": [TEAM, NAMESPACE, "kserve"],
    "inferenceServices": [{"namespace": TEAM, "name": "llama", "mode": "Standard", "gpus": 1}],
    "objects": [dict(crd()), POLICY, *SCALERS],
}
