"""The Deployment's shape for SQLite (one writer) and PostgreSQL (HA) values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.chart.helm import HA_VALUES, Helm, HelmFailed, Rendered

pytestmark = pytest.mark.integration


def _pod(rendered: Rendered) -> Mapping[str, Any]:
    pod: Mapping[str, Any] = rendered.one("Deployment")["spec"]["template"]["spec"]
    return pod


def _container(rendered: Rendered) -> Mapping[str, Any]:
    (container,) = _pod(rendered)["containers"]
    return container  # type: ignore[no-any-return]


def _mounts(rendered: Rendered) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in _container(rendered)["volumeMounts"]}


def _env(rendered: Rendered) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(rendered)["env"]}


@pytest.mark.parametrize(
    ("render", "replicas", "strategy"),
    [
        pytest.param("default_render", 1, "Recreate", id="sqlite-one-writer"),
        pytest.param("ha_render", 2, "RollingUpdate", id="postgres-ha"),
    ],
)
def test_replicas_and_rollout_follow_the_database(
    request: pytest.FixtureRequest, render: str, replicas: int, strategy: str
) -> None:
    spec = request.getfixturevalue(render).one("Deployment")["spec"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (replicas, strategy)


def test_sqlite_lives_on_the_pvc(default_render: Rendered) -> None:
    pvc = default_render.one("PersistentVolumeClaim")
    claims = [v["persistentVolumeClaim"]["claimName"] for v in _pod(default_render)["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims == [pvc["metadata"]["name"]]
    assert _mounts(default_render)["data"] == "/var/lib/reclaimer"


def test_postgres_has_no_pvc_and_reads_the_url_from_the_secret(ha_render: Rendered) -> None:
    assert ha_render.of_kind("PersistentVolumeClaim") == []
    assert _env(ha_render)["RECLAIMER_DATABASE"] == {
        "secretKeyRef": {"name": "reclaimer-db", "key": "url"}}
    assert ha_render.of_kind("Secret") == []


def test_inline_database_url_goes_into_a_created_secret_not_the_configmap(helm: Helm) -> None:
    url = "postgresql+psycopg://u:pw@pg:5432/reclaimer"
    rendered = helm.template(set_values=[f"database.url={url}"])
    secret = rendered.one("Secret")
    assert secret["stringData"] == {"url": url}
    assert _env(rendered)["RECLAIMER_DATABASE"]["secretKeyRef"]["name"] == (
        secret["metadata"]["name"])
    assert "pw@" not in str(rendered.one("ConfigMap")["data"])


def test_sqlite_refuses_two_replicas(helm: Helm) -> None:
    with pytest.raises(HelmFailed, match="replicaCount > 1 needs PostgreSQL"):
        helm.template(set_values=["replicaCount=2"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("runAsNonRoot", True, id="non-root"),
        pytest.param("readOnlyRootFilesystem", True, id="read-only-root"),
        pytest.param("allowPrivilegeEscalation", False, id="no-escalation"),
        pytest.param("capabilities", {"drop": ["ALL"]}, id="drop-all-caps"),
        pytest.param("seccompProfile", {"type": "RuntimeDefault"}, id="seccomp"),
    ],
)
def test_container_security_context(default_render: Rendered, field: str, value: Any) -> None:
    assert _container(default_render)["securityContext"][field] == value


def test_pod_runs_as_a_numeric_non_root_user(default_render: Rendered) -> None:
    ctx = _pod(default_render)["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] > 0
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize(
    ("render", "expected"),
    [
        pytest.param("default_render", {"config", "tmp", "data"}, id="sqlite"),
        pytest.param("ha_render", {"config", "tmp", "policies"}, id="ha-with-file-policies"),
    ],
)
def test_writable_paths_are_only_tmp_and_the_database(
    request: pytest.FixtureRequest, render: str, expected: set[str]
) -> None:
    rendered = request.getfixturevalue(render)
    assert set(_mounts(rendered)) == expected
    tmp = next(v for v in _pod(rendered)["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp


@pytest.mark.parametrize(
    ("probe", "path"),
    [
        pytest.param("livenessProbe", "/healthz", id="liveness"),
        pytest.param("readinessProbe", "/readyz", id="readiness"),
    ],
)
def test_probes(default_render: Rendered, probe: str, path: str) -> None:
    assert _container(default_render)[probe]["httpGet"] == {"path": path, "port": "http"}


def test_service_exposes_http_8080(default_render: Rendered) -> None:
    (port,) = default_render.one("Service")["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (8080, "http")
    assert _container(default_render)["ports"][0]["containerPort"] == 8080


def test_entrypoint_args_run_with_the_mounted_config(default_render: Rendered) -> None:
    container = _container(default_render)
    assert container["args"] == ["run", "--config", "/etc/reclaimer/config.yaml"]
    assert "command" not in container


@pytest.mark.parametrize(
    ("set_values", "kind", "present"),
    [
        pytest.param([], "ServiceMonitor", False, id="no-servicemonitor-by-default"),
        pytest.param(["serviceMonitor.enabled=true"], "ServiceMonitor", True, id="servicemonitor"),
        pytest.param([], "PodDisruptionBudget", True, id="pdb-by-default"),
        pytest.param(["podDisruptionBudget.enabled=false"], "PodDisruptionBudget", False,
                     id="pdb-off"),
    ],
)
def test_optional_objects(helm: Helm, set_values: list[str], kind: str, present: bool) -> None:
    assert (kind in helm.template(set_values=set_values).kinds()) is present


def test_ha_values_file_is_the_one_lint_chart_uses(helm: Helm) -> None:
    assert HA_VALUES.exists()
    assert helm.template(values_files=[HA_VALUES]).one("Deployment")["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    ("render", "spread"),
    [
        pytest.param("default_render", False, id="one-replica-no-anti-affinity"),
        pytest.param("ha_render", True, id="ha-replicas-on-different-nodes"),
    ],
)
def test_ha_replicas_prefer_different_nodes(
    request: pytest.FixtureRequest, render: str, spread: bool
) -> None:
    pod = _pod(request.getfixturevalue(render))
    terms = pod.get("affinity", {}).get("podAntiAffinity", {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution", [])
    keys = [t["podAffinityTerm"]["topologyKey"] for t in terms]
    assert keys == (["kubernetes.io/hostname"] if spread else [])


def test_schema_upgrade_runs_first_with_the_same_ledger(default_render: Rendered) -> None:
    (init,) = _pod(default_render)["initContainers"]
    assert init["args"] == ["db", "upgrade"]
    assert init["env"] == _container(default_render)["env"]
    assert init["securityContext"] == _container(default_render)["securityContext"]
    assert {m["name"] for m in init["volumeMounts"]} == {"tmp", "data"}


def test_schema_upgrade_can_be_left_to_the_operator(helm: Helm) -> None:
    rendered = helm.template(set_values=["database.migrate=false"])
    assert "initContainers" not in _pod(rendered)


def test_glibc_arenas_are_capped_for_the_worker_threads(default_render: Rendered) -> None:
    assert _env(default_render)["MALLOC_ARENA_MAX"] == "2"
