"""The config file the chart writes is one the service's own loader accepts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from reclaimer.config import load_settings
from reclaimer.signals.settings import PrometheusSettings
from tests.chart.helm import NAMESPACE, Helm, Rendered

pytestmark = pytest.mark.integration


def _write_config(rendered: Rendered, tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(rendered.one("ConfigMap", "reclaimer")["data"]["config.yaml"])
    return path


def test_default_config_loads_with_sqlite_on_the_pvc(
    default_render: Rendered, tmp_path: Path
) -> None:
    settings = load_settings(_write_config(default_render, tmp_path), env={})
    assert settings.database == "sqlite:////var/lib/reclaimer/reclaimer.db"
    assert settings.policies == ()
    assert (settings.leader_election.namespace, settings.leader_election.name) == (
        NAMESPACE, "reclaimer-leader")


def test_ha_config_takes_the_database_from_the_environment(
    ha_render: Rendered, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://reclaimer@pg/reclaimer"
    env = {"RECLAIMER_DATABASE": url, "RECLAIMER_LEADER_ELECTION_IDENTITY": "pod-0"}
    settings = load_settings(_write_config(ha_render, tmp_path), env=env)
    assert (settings.database, settings.leader_election.identity) == (url, "pod-0")
    assert settings.policies == ("/etc/reclaimer/policies/",)
    assert settings.executor.strategy == "managed"


def test_env_names_in_the_deployment_are_config_keys(default_render: Rendered) -> None:
    container = default_render.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    names = {e["name"] for e in container["env"] if e["name"].startswith("RECLAIMER_")}
    assert names == {"RECLAIMER_LEADER_ELECTION_IDENTITY", "RECLAIMER_ACTOR", "RECLAIMER_DATABASE"}
    env = dict.fromkeys(names, "pod-0") | {"RECLAIMER_DATABASE": "sqlite:////d/reclaimer.db"}
    settings = load_settings(None, env=env)
    assert (settings.actor, settings.leader_election.identity) == ("pod-0", "pod-0")


def test_sqlite_url_is_the_same_in_the_environment_and_the_file(
    default_render: Rendered, tmp_path: Path
) -> None:
    container = default_render.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    settings = load_settings(_write_config(default_render, tmp_path), env={})
    assert env["RECLAIMER_DATABASE"] == settings.database


def test_file_policies_are_mounted_one_file_each(ha_render: Rendered) -> None:
    data = ha_render.one("ConfigMap", "reclaimer")["data"]
    policy = yaml.safe_load(data["policy-office-hours.yaml"])
    assert policy["kind"] == "ReclaimPolicy"
    volumes = ha_render.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    items = next(v for v in volumes if v["name"] == "policies")["configMap"]["items"]
    assert items == [{"key": "policy-office-hours.yaml", "path": "office-hours.yaml"}]


def test_config_change_rolls_the_pods(helm: Helm) -> None:
    def checksum(tick: str) -> str:
        rendered = helm.template(set_values=[f"config.tick={tick}"])
        meta = rendered.one("Deployment")["spec"]["template"]["metadata"]
        return str(meta["annotations"]["checksum/config"])

    assert checksum("30s") != checksum("1m")


@pytest.mark.parametrize(
    ("set_value", "attribute", "expected"),
    [
        pytest.param("config.leaderElection.leaseDuration=30s", "leader_election.lease_duration",
                     timedelta(seconds=30), id="lease-duration"),
        pytest.param("config.safety.startLeadTime=5m", "safety.start_lead_time",
                     timedelta(minutes=5), id="start-lead-time"),
        pytest.param("config.executor.strategy=native", "executor.strategy", "native",
                     id="strategy"),
        pytest.param("config.tick=1m", "tick", timedelta(minutes=1), id="tick"),
    ],
)
def test_config_values_reach_the_service_settings(
    helm: Helm, tmp_path: Path, set_value: str, attribute: str, expected: object
) -> None:
    settings: object = load_settings(_write_config(helm.template(set_values=[set_value]),
                                                   tmp_path), env={})
    for part in attribute.split("."):
        settings = getattr(settings, part)
    assert settings == expected


@pytest.mark.parametrize("render", [pytest.param("default_render", id="default"),
                                    pytest.param("ha_render", id="ha")])
def test_prometheus_section_parses_with_the_signals_settings(
    request: pytest.FixtureRequest, render: str, tmp_path: Path
) -> None:
    settings = load_settings(_write_config(request.getfixturevalue(render), tmp_path),
                             env={"RECLAIMER_DATABASE": "sqlite:////d/r.db"})
    prometheus = PrometheusSettings.from_mapping(settings.prometheus)
    assert (prometheus.requests.name, prometheus.gpu.name) == ("knative", "dcgm")
    assert prometheus.url == "http://prometheus-operated.monitoring.svc:9090"


@pytest.mark.parametrize(
    ("set_values", "expected"),
    [
        pytest.param([], (), id="default: every namespace"),
        pytest.param(["watchNamespaces={team-a,team-b}"], ("team-a", "team-b"),
                     id="watchNamespaces passed to the service"),
    ],
)
def test_watch_namespaces_reach_the_service(
    helm: Helm, tmp_path: Path, set_values: list[str], expected: tuple[str, ...]
) -> None:
    settings = load_settings(_write_config(helm.template(set_values=set_values), tmp_path),
                             env={})
    assert settings.watch_namespaces == expected
