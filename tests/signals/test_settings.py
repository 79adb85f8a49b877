"""`PrometheusSettings.from_mapping`: the ``prometheus:`` config section."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reclaimer.config import load_settings
from reclaimer.errors import ConfigInvalid
from reclaimer.signals.presets import GPU_PRESETS, REQUEST_PRESETS
from reclaimer.signals.settings import PrometheusSettings


def test_empty_section_gives_the_defaults() -> None:
    assert PrometheusSettings.from_mapping({}) == PrometheusSettings()


def test_design_example_parses() -> None:
    settings = PrometheusSettings.from_mapping({
        "url": "http://prometheus:9090/", "timeout": "10s",
        "signals": {"requests": "istio", "gpu": "dcgm"}})
    assert (settings.url, settings.timeout, settings.requests, settings.gpu) == (
        "http://prometheus:9090", timedelta(seconds=10), REQUEST_PRESETS["istio"],
        GPU_PRESETS["dcgm"])


@pytest.mark.parametrize(("data", "attr", "value"), [
    pytest.param({"timeout": "250ms"}, "timeout", timedelta(milliseconds=250), id="ms"),
    pytest.param({"timeout": 3}, "timeout", timedelta(seconds=3), id="bare-seconds"),
    pytest.param({"queryTimeout": "1m30s"}, "query_timeout", timedelta(seconds=90), id="query"),
    pytest.param({"resolution": "30s"}, "resolution", timedelta(seconds=30), id="resolution"),
    pytest.param({"lastRequestHorizon": "12h"}, "last_request_horizon", timedelta(hours=12),
                 id="horizon"),
    pytest.param({"maxSampleAge": "90s"}, "max_sample_age", timedelta(seconds=90), id="age"),
    pytest.param({"isvcLabel": "label_app"}, "isvc_label", "label_app", id="isvc-label"),
    pytest.param({"concurrency": "1"}, "concurrency", 1, id="sequential"),
    pytest.param({"signalsRequests": "vllm"}, "requests", REQUEST_PRESETS["vllm"],
                 id="flat-env-spelling"),
])
def test_each_setting_is_parsed(data: dict[str, Any], attr: str, value: object) -> None:
    assert getattr(PrometheusSettings.from_mapping(data), attr) == value


def test_custom_request_query_is_a_pod_joined_selector() -> None:
    settings = PrometheusSettings.from_mapping(
        {"signals": {"requests": {"query": 'my_requests_total{job="x"}'}}})
    assert [s.selector for s in settings.requests.counters] == ['my_requests_total{job="x"}']


def test_template_override_is_kept() -> None:
    settings = PrometheusSettings.from_mapping(
        {"templates": {"gpus": "sum by (namespace, isvc) ({{isvc_pods}})"}})
    assert settings.templates == {"gpus": "sum by (namespace, isvc) ({{isvc_pods}})"}


@pytest.mark.parametrize(("data", "key"), [
    pytest.param({"ur": "http://x"}, "prometheus.ur", id="unknown-key"),
    pytest.param({"url": "prometheus:9090"}, "prometheus.url", id="url-without-scheme"),
    pytest.param({"url": ""}, "prometheus.url", id="empty-url"),
    pytest.param({"timeout": "ten seconds"}, "prometheus.timeout", id="bad-duration"),
    pytest.param({"timeout": "0s"}, "prometheus.timeout", id="zero-duration"),
    pytest.param({"signals": {"requests": "nginx"}}, "prometheus.signals.requests",
                 id="unknown-preset"),
    pytest.param({"signals": {"gpu": {"qurey": "x"}}}, "prometheus.signals.gpu",
                 id="misspelt-query"),
    pytest.param({"signals": {"requests": {"query": ""}}}, "prometheus.signals.requests.query",
                 id="empty-query"),
    pytest.param({"signals": {"latency": "x"}}, "prometheus.signals.latency",
                 id="unknown-signal"),
    pytest.param({"signals": "knative"}, "prometheus.signals", id="signals-not-mapping"),
    pytest.param({"templates": {"request": "x"}}, "prometheus.templates.request",
                 id="unknown-template"),
    pytest.param({"templates": {"gpus": "x[{{windw}}]"}}, "prometheus.templates.gpus",
                 id="unknown-token"),
    pytest.param({"templates": ["x"]}, "prometheus.templates", id="templates-not-mapping"),
    pytest.param({"concurrency": 0}, "prometheus.concurrency", id="no-concurrency"),
])
def test_bad_input_names_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        PrometheusSettings.from_mapping(data)
    assert caught.value.key == key


def test_section_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ConfigInvalid, match="must be a mapping"):
        PrometheusSettings.from_mapping("http://x")  # type: ignore[arg-type]


def test_environment_spelling_reaches_the_section() -> None:
    config = load_settings(None, env={"RECLAIMER_PROMETHEUS_SIGNALS_REQUESTS": "triton",
                                      "RECLAIMER_PROMETHEUS_QUERY_TIMEOUT": "5s"})
    settings = PrometheusSettings.from_mapping(config.prometheus)
    assert (settings.requests, settings.query_timeout) == (
        REQUEST_PRESETS["triton"], timedelta(seconds=5))


@pytest.mark.parametrize(("data", "mode"), [
    pytest.param({}, "raw", id="default-raw"),
    pytest.param({"signals": {"mode": "recorded"}}, "recorded", id="recorded"),
    pytest.param({"signalsMode": "recorded"}, "recorded", id="flat-env-spelling"),
])
def test_signals_mode_is_parsed(data: dict[str, Any], mode: str) -> None:
    assert PrometheusSettings.from_mapping(data).mode == mode


@pytest.mark.parametrize(("data", "message"), [
    pytest.param({"signals": {"mode": "fast"}}, "must be one of raw, recorded", id="unknown"),
    pytest.param({"signals": {"mode": "recorded", "gpu": {"query": "my_gpu"}}},
                 "built-in preset for signals.gpu", id="custom-preset"),
    pytest.param({"signals": {"mode": "recorded"}, "resolution": "30s"},
                 "resolution 1m", id="resolution-not-the-rules-interval"),
    pytest.param({"signals": {"mode": "recorded"}, "isvcLabel": "label_app"},
                 "default isvcLabel", id="pod-map-label-not-the-rules"),
])
def test_signals_mode_refuses_what_the_rules_cannot_serve(data: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        PrometheusSettings.from_mapping(data)
    assert (caught.value.key, message in str(caught.value)) == ("prometheus.signals.mode", True)


def test_signals_mode_from_the_environment() -> None:
    config = load_settings(None, env={"RECLAIMER_PROMETHEUS_SIGNALS_MODE": "recorded"})
    assert PrometheusSettings.from_mapping(config.prometheus).mode == "recorded"
