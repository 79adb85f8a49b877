"""The chart's PrometheusRule: off by default; when enabled, the shipped rules with only
the configured presets', as `rules.rule_groups` selects them (one source of truth)."""

from __future__ import annotations

import pytest
import yaml

from reclaimer.signals import rules
from reclaimer.signals.presets import REQUEST_PRESETS
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
