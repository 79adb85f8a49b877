"""The chart's owners' API (issue 19): Service, optional Ingress, review RBAC, config."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from reclaimer.config import load_settings
from reclaimer.service.notify_config import parse_notify
from tests.chart.helm import CHART, NAMESPACE, Helm, Rendered
from tests.chart.rbac import Grant, grants

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
API_VALUES = CHART / "ci" / "api-values.yaml"
REVIEWS = {Grant("cluster", "authentication.k8s.io", "tokenreviews", "create"),
           Grant("cluster", "authorization.k8s.io", "subjectaccessreviews", "create")}


@pytest.fixture(scope="module")
def api_render(helm: Helm) -> Rendered:
    return helm.template(values_files=[API_VALUES])


def test_off_by_default_nothing_rendered(default_render: Rendered) -> None:
    names = {d["metadata"]["name"] for d in default_render.docs}
    assert {"reclaimer-api", "reclaimer-api-auth"}.isdisjoint(names)
    assert REVIEWS.isdisjoint(grants(default_render))


def test_api_service_targets_the_api_port_only(api_render: Rendered) -> None:
    service = api_render.one("Service", "reclaimer-api")
    assert [(p["name"], p["targetPort"]) for p in service["spec"]["ports"]] == [("api", "api")]
    container = api_render.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "api", "containerPort": 8081, "protocol": "TCP"} in container["ports"]


def test_reviews_are_granted_even_with_watch_namespaces(helm: Helm) -> None:
    rendered = helm.template(values_files=[API_VALUES],
                             set_values=["watchNamespaces={team-a}"])
    assert grants(rendered) >= REVIEWS


def test_ingress_routes_v1_to_the_api_service(api_render: Rendered) -> None:
    ingress = api_render.one("Ingress", "reclaimer-api")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert (rule["host"], path["path"], path["backend"]["service"]["name"]) == (
        "reclaimer.example.com", "/v1/", "reclaimer-api")
    kubernetes_validate.validate(dict(ingress), "1.30.0", strict=True)


def test_config_file_carries_api_and_sinks(api_render: Rendered, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(api_render.one("ConfigMap", "reclaimer")["data"]["config.yaml"])
    settings = load_settings(path, env={})
    assert (settings.api.enabled, settings.api.port, settings.api.external_url) == (
        True, 8081, "https://reclaimer.example.com")
    assert [s.name for s in parse_notify(settings.notify).for_policy(())] == ["audit"]


def test_release_namespace_is_the_services(api_render: Rendered) -> None:
    assert api_render.one("Service", "reclaimer-api")["metadata"]["namespace"] == NAMESPACE
