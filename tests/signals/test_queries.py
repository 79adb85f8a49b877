"""The generated PromQL: escaping, tokens, and no per-service values."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest

from reclaimer.signals.presets import GPU_PRESETS, REQUEST_PRESETS
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.promql import duration, matcher, quote
from reclaimer.signals.queries import TOKENS, Query, build
from reclaimer.signals.settings import PrometheusSettings
from tests.signals.scenarios import WEIRD

ODD = ['plain', 'quote"inside', 'back\\slash', 'brace}', 'new\nline', 'dollar$1', WEIRD.name]


@pytest.mark.parametrize(("value", "literal"), [
    pytest.param("a", '"a"', id="plain"),
    pytest.param('a"b', '"a\\"b"', id="quote"),
    pytest.param("a\\b", '"a\\\\b"', id="backslash"),
    pytest.param("a}b", '"a}b"', id="brace"),
    pytest.param("a\nb", '"a\\nb"', id="newline"),
])
def test_quote_escapes(value: str, literal: str) -> None:
    assert quote(value) == literal


def _query(url: str, query: str) -> list[dict[str, object]]:
    params = urllib.parse.urlencode({"query": query, "time": "1772452800"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=10) as answer:
        result: list[dict[str, object]] = json.load(answer)["data"]["result"]
        return result


@pytest.mark.integration
@pytest.mark.parametrize("value", [pytest.param(v, id=f"value-{i}") for i, v in enumerate(ODD)])
def test_quoted_value_means_itself_to_prometheus(scenario_prometheus: str, value: str) -> None:
    literal = quote(value.replace("$", "$$"))
    result = _query(scenario_prometheus, f'label_replace(vector(1), "x", {literal}, "", "")')
    assert [r["metric"] for r in result] == [{"x": value}]


@pytest.mark.integration
def test_matcher_selects_odd_namespace_exactly(scenario_prometheus: str) -> None:
    selector = f"kube_pod_labels{{{matcher('namespace', '=', WEIRD.namespace)}}}"
    result = _query(scenario_prometheus, f"count by (namespace) ({selector})")
    assert [r["metric"] for r in result] == [{"namespace": WEIRD.namespace}]


@pytest.mark.parametrize(("label", "op", "value", "text"), [
    pytest.param("pod", "!=", "", 'pod!=""', id="not-empty"),
    pytest.param("ns", "=~", 'a"|b', 'ns=~"a\\"|b"', id="regex"),
])
def test_matcher(label: str, op: str, value: str, text: str) -> None:
    assert matcher(label, op, value) == text


@pytest.mark.parametrize(("span", "text"), [
    pytest.param(timedelta(minutes=30), "1800s", id="minutes"),
    pytest.param(timedelta(milliseconds=1), "1ms", id="milliseconds"),
])
def test_duration(span: timedelta, text: str) -> None:
    assert duration(span) == text


@pytest.mark.parametrize("preset", list(REQUEST_PRESETS))
def test_every_query_groups_by_namespace_and_isvc(preset: str) -> None:
    queries = build(REQUEST_PRESETS[preset], GPU_PRESETS["dcgm"])
    assert all("by (namespace, isvc" in text for text in queries.values())


@pytest.mark.parametrize("preset", list(REQUEST_PRESETS))
def test_rendered_queries_have_no_tokens_left(preset: str) -> None:
    source = PrometheusSignals(PrometheusSettings(requests=REQUEST_PRESETS[preset]))
    texts = source.queries(window=timedelta(minutes=30)).values()
    assert not [t for t in texts for token in TOKENS if "{{" + token + "}}" in t]


def test_template_override_replaces_only_its_query() -> None:
    settings = PrometheusSettings.from_mapping(
        {"templates": {"gpus": "sum by (namespace, isvc) (count_over_time(up[{{window}}]))"}})
    queries = PrometheusSignals(settings).queries(window=timedelta(minutes=10))
    default = PrometheusSignals(PrometheusSettings()).queries(window=timedelta(minutes=10))
    assert (queries[Query.GPUS], queries[Query.REQUESTS]) == (
        "sum by (namespace, isvc) (count_over_time(up[600s]))", default[Query.REQUESTS])


def test_vllm_counts_requests_in_flight() -> None:
    text = build(REQUEST_PRESETS["vllm"], GPU_PRESETS["dcgm"])[Query.REQUESTS]
    assert ("vllm:num_requests_running" in text, "vllm:num_requests_waiting" in text) == (
        True, True)
