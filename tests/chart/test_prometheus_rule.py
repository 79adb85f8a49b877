"""The chart's PrometheusRule: off by default; when enabled, the shipped rules with only
the configured presets', as `rules.rule_groups` selects them (one source of truth)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reclaimer.errors import ConfigInvalid
from reclaimer.signals import rules
from reclaimer.signals.presets import REQUEST_PRESETS
from reclaimer.signals.settings import PrometheusSettings
from tests.chart.helm import Helm, Rendered
from tests.fixtures.prometheus import RULES_FILE

pytestmark = pytest.mark.integration


def _rules(rendered: Rendered) -> list[dict[str, object]]:
    return [dict(d) for d in rendered.docs if d.get("kind") == "PrometheusRule"]


def test_no_prometheus_rule_by_default(default_render: Rendered) -> None:
    assert _rules(default_render) == []


def test_enabled_prometheus_rule_carries_the_configured_groups_and_labels(helm: Helm) -> None:
    rendered = helm.template(set_values=["prometheusRule.enabled=true",
                                         "prometheusRule.labels.release=kps"])
    [rule] = _rules(rendered)
    metadata = rule["metadata"]
    assert isinstance(metadata, dict)
    assert (rule["spec"], metadata["labels"]["release"]) == (
        rules.rule_groups(requests="knative", gpu="dcgm"), "kps")


@pytest.mark.parametrize("preset", [pytest.param(p, id=p) for p in REQUEST_PRESETS])
def test_the_rule_holds_only_the_configured_request_presets_rules(helm: Helm,
                                                                 preset: str) -> None:
    rendered = helm.template(set_values=[
        "prometheusRule.enabled=true", f"config.prometheus.signals.requests={preset}"])
    [rule] = _rules(rendered)
    assert rule["spec"] == rules.rule_groups(requests=preset, gpu="dcgm")


def test_a_custom_request_query_keeps_every_presets_rules(helm: Helm) -> None:
    """The recorded mode refuses a custom query; the rules stay whole rather than name
    a preset in the heartbeat that the service does not use."""
    rendered = helm.template(set_values=[
        "prometheusRule.enabled=true",
        "config.prometheus.signals.requests.query=sum(rate(x[1m]))"])
    [rule] = _rules(rendered)
    assert rule["spec"] == yaml.safe_load(RULES_FILE.read_text())


ODD_SIGNALS = [
    pytest.param({"requests": None}, id="requests-null"),
    pytest.param({"requests": ""}, id="requests-empty"),
    pytest.param({"requests": "Knative"}, id="requests-capitalised"),
    pytest.param({"requests": "nope"}, id="requests-not-built-in"),
    pytest.param({"requests": {"query": "sum(rate(x[1m]))"}}, id="requests-map"),
    pytest.param({"gpu": "vllm"}, id="gpu-a-request-preset"),
    pytest.param({"gpu": None, "requests": "vllm"}, id="gpu-null"),
]


@pytest.mark.parametrize("signals", ODD_SIGNALS)
def test_odd_preset_values_render_rules_the_service_reads_or_a_config_it_refuses(
        helm: Helm, tmp_path: Path, signals: dict[str, object]) -> None:
    """Whatever the chart renders for ``config.prometheus.signals``, either the service
    refuses that config at start, or the rule holds its presets' rules and a heartbeat
    its recorded mode matches (never a heartbeat vouching for rules it lacks)."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"prometheusRule": {"enabled": True},
                                      "config": {"prometheus": {"signals": signals}}}))
    [rule] = _rules(helm.template(values_files=[values]))
    try:
        settings = PrometheusSettings.from_mapping(
            {"url": "http://prometheus:9090", "signals": {**signals, "mode": "recorded"}})
    except ConfigInvalid:
        return
    requests, gpu = settings.requests.name, settings.gpu.name
    assert rule["spec"] == rules.rule_groups(requests=requests, gpu=gpu)
