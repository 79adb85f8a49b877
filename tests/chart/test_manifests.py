"""Every rendered object is valid Kubernetes, for SQLite and PostgreSQL values alike,
cluster-wide or with watchNamespaces, on the oldest supported Kubernetes, the first with
ValidatingAdmissionPolicy v1 (rendered from there on) and a current one.

kubernetes-validate bundles the official OpenAPI schemas (strict: unknown fields are
errors). It has none for custom resources; those are named here and checked elsewhere
(ReclaimPolicy documents in test_policies.py).
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.chart.helm import CHART, HA_VALUES, Helm

pytestmark = pytest.mark.integration

CUSTOM_KINDS = {"ServiceMonitor"}
VARIANTS = [
    pytest.param([], [], id="sqlite"),
    pytest.param([HA_VALUES], [], id="postgres-ha"),
    pytest.param([], ["database.url=postgresql+psycopg://u@pg/db", "serviceAccount.create=false",
                      "config.executor.strategy=native"], id="postgres-inline-native"),
    pytest.param([CHART / "ci" / "watched-values.yaml"], [], id="watch-namespaces"),
    pytest.param([CHART / "ci" / "api-values.yaml"], [], id="owners-api-ingress"),
]
ADMISSION = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


@pytest.mark.parametrize(("values_files", "set_values"), VARIANTS)
@pytest.mark.parametrize(
    "kube", [pytest.param(v, id=f"k8s-{v}") for v in ("1.27.0", "1.30.0", "1.33.0")])
def test_rendered_objects_validate_strictly(
    helm: Helm, values_files: list[Path], set_values: list[str], kube: str
) -> None:
    rendered = helm.template(values_files=values_files, set_values=set_values, crds=True,
                             kube_version=kube)
    checked = [d for d in rendered.docs if d["kind"] not in CUSTOM_KINDS]
    for doc in checked:
        kubernetes_validate.validate(dict(doc), kube, strict=True)
    kinds = {d["kind"] for d in checked}
    assert {"CustomResourceDefinition", "Deployment", "Role"} <= kinds
    assert (kinds >= ADMISSION) is (kube != "1.27.0")


def test_an_invalid_object_is_caught() -> None:
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
           "spec": {"ports": [{"port": "http"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.29.0", strict=True)
