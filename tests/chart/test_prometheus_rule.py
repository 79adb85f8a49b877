"""The chart's PrometheusRule: off by default, the shipped rules file when enabled."""

from __future__ import annotations

import pytest
import yaml

from tests.chart.helm import Helm, Rendered
from tests.fixtures.prometheus import RULES_FILE

pytestmark = pytest.mark.integration


def _rules(rendered: Rendered) -> list[dict[str, object]]:
    return [dict(d) for d in rendered.docs if d.get("kind") == "PrometheusRule"]


def test_no_prometheus_rule_by_default(default_render: Rendered) -> None:
    assert _rules(default_render) == []


def test_enabled_prometheus_rule_carries_the_shipped_groups_and_labels(helm: Helm) -> None:
    rendered = helm.template(set_values=["prometheusRule.enabled=true",
                                         "prometheusRule.labels.release=kps"])
    [rule] = _rules(rendered)
    metadata = rule["metadata"]
    assert isinstance(metadata, dict)
    assert (rule["spec"], metadata["labels"]["release"]) == (
        yaml.safe_load(RULES_FILE.read_text()), "kps")
