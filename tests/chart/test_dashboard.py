"""The Grafana dashboard queries only metrics the service really exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from reclaimer.service.metrics import ServiceMetrics
from tests.chart.helm import CHART, Helm, Rendered

pytestmark = pytest.mark.integration

DASHBOARD = CHART / "dashboards" / "reclaimer.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",)}
REQUIRED = {
    "reclaimer_transitions_total", "reclaimer_services", "reclaimer_gpus_reclaimed",
    "reclaimer_gpu_hours_reclaimed_total", "reclaimer_tick_seconds_bucket",
    "reclaimer_signals_unknown", "reclaimer_mass_idle_breaker_open",
    "reclaimer_edge_lateness_seconds_bucket",
}


def _dashboard() -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _expressions() -> Iterator[str]:
    for panel in _dashboard()["panels"]:
        for target in panel["targets"]:
            yield target["expr"]


def _used_metrics() -> set[str]:
    return {m for e in _expressions() for m in re.findall(r"\breclaimer_[a-z_]+", e)}


def _exported_series() -> set[str]:
    families = ServiceMetrics().registry.collect()
    return {f.name + suffix for f in families for suffix in SUFFIXES.get(f.type, ("",))}


def test_every_queried_metric_is_exported_by_the_service() -> None:
    assert _used_metrics() <= _exported_series()


def test_dashboard_covers_the_service_metrics() -> None:
    assert _used_metrics() >= REQUIRED


@pytest.mark.parametrize("label", [pytest.param(n, id=n) for n in ("action", "trigger", "outcome")])
def test_transitions_are_broken_down_by_each_label(label: str) -> None:
    grouped = [e for e in _expressions() if "reclaimer_transitions_total" in e]
    groupings = {g.strip() for e in grouped for by in re.findall(r"by \(([^)]*)\)", e)
                 for g in by.split(",")}
    assert label in groupings


def test_panel_ids_unique_and_within_the_grid() -> None:
    panels = _dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)


def test_queries_use_the_datasource_variable() -> None:
    targets = [t for p in _dashboard()["panels"] for t in p["targets"]]
    assert {t["datasource"]["uid"] for t in targets} == {"${datasource}"}


def test_shipped_as_labelled_configmap_when_enabled(helm: Helm) -> None:
    rendered = helm.template(set_values=["dashboards.enabled=true"])
    configmap = rendered.one("ConfigMap", "reclaimer-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["reclaimer.json"]) == _dashboard()


def test_no_dashboard_by_default(default_render: Rendered) -> None:
    names = [c["metadata"]["name"] for c in default_render.of_kind("ConfigMap")]
    assert names == ["reclaimer"]
