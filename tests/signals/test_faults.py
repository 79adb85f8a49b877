"""Every failure is `MetricsUnavailable` (all services unknown, none idle), in time.

Errors are provoked on the real Prometheus 2.42, with what it really answers
(metrics.md §3.3): a parse error is 400 ``bad_data``, a many-to-many join 422
``execution``, a 1 ms query timeout 503 ``timeout`` ("query timed out in expression
evaluation") or, when the deadline strikes while series are selected, 422 ``execution``
("expanding series: context deadline exceeded"); both were seen on 2.42. The counting
proxy shows that a failing query is sent once: the client's retries are off.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from reclaimer.errors import MetricsUnavailable
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics, running_prometheus
from tests.signals.proxy import counting_proxy, silent_port, trickling_server
from tests.signals.scenarios import AT, WINDOW

pytestmark = pytest.mark.integration

UNDEDUPLICATED_JOIN = (
    "sum by (namespace, isvc) (kube_pod_container_resource_requests * on (namespace, pod) "
    'group_left (isvc) label_replace(kube_pod_labels, "isvc", "$1", '
    '"label_serving_kserve_io_inferenceservice", "(.+)"))')


def _fetch(url: str, **config: Any) -> None:
    settings = PrometheusSettings.from_mapping({"url": url, **config})
    PrometheusSignals(settings).fetch(at=AT, window=WINDOW)


@pytest.mark.parametrize(("config", "answer"), [
    pytest.param({"templates": {"requests": "sum(rate(x[5m]"}}, "400", id="parse-error-400"),
    pytest.param({"templates": {"gpus": UNDEDUPLICATED_JOIN}}, "422", id="many-to-many-422"),
    pytest.param({"queryTimeout": "1ms"}, "503|deadline exceeded", id="query-timeout-503"),
    pytest.param({"templates": {"gpus": "scalar(vector(1))"}}, "instant vector",
                 id="not-a-vector"),
])
def test_query_error_is_metrics_unavailable(scenario_prometheus: str,
                                            config: Mapping[str, Any], answer: str) -> None:
    with pytest.raises(MetricsUnavailable, match=answer):
        _fetch(scenario_prometheus, **config)


@pytest.mark.parametrize("config", [
    pytest.param({"templates": {"requests": "sum(rate(x[5m]"}}, id="400"),
    pytest.param({"queryTimeout": "1ms"}, id="503"),
])
def test_failing_query_is_sent_once(scenario_prometheus: str,
                                    config: Mapping[str, Any]) -> None:
    with counting_proxy(scenario_prometheus) as (url, traffic), pytest.raises(MetricsUnavailable):
        _fetch(url, **config)
    assert len(traffic.paths) == len(set(traffic.paths))  # no query was sent twice


def test_stopped_prometheus_is_metrics_unavailable(tmp_path: Path) -> None:
    with running_prometheus(OpenMetrics(), tmp_path) as url:
        pass
    with pytest.raises(MetricsUnavailable, match="ConnectionError"):
        _fetch(url)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_port_that_never_answers_gives_up_within_the_timeout(concurrency: int) -> None:
    with silent_port() as url:
        started = time.monotonic()
        with pytest.raises(MetricsUnavailable, match=r"(?i)timeout"):
            _fetch(url, timeout="500ms", concurrency=concurrency)
        elapsed = time.monotonic() - started
    assert elapsed < 1.5  # the budget is 0.5 s; the margin is for a loaded machine


def test_trickling_answer_is_cut_off_at_the_deadline() -> None:
    with trickling_server() as url:
        started = time.monotonic()
        with pytest.raises(MetricsUnavailable, match="Timeout"):
            _fetch(url, timeout="500ms")
        elapsed = time.monotonic() - started
    assert elapsed < 1.5  # the budget is 0.5 s; the margin is for a loaded machine


@pytest.mark.parametrize("concurrency", [1, 4])
def test_threads_evaluate_concurrently_with_their_own_clients(scenario_prometheus: str,
                                                              concurrency: int) -> None:
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": scenario_prometheus, "concurrency": concurrency}))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: source.fetch(at=AT, window=WINDOW), range(8)))
    assert all(r == results[0] for r in results)


def test_bearer_token_is_read_at_every_evaluation(scenario_prometheus: str,
                                                  tmp_path: Path) -> None:
    token = tmp_path / "token"
    with counting_proxy(scenario_prometheus) as (url, traffic):
        source = PrometheusSignals(PrometheusSettings.from_mapping(
            {"url": url, "bearerTokenFile": str(token), "concurrency": 1}))
        for value in ("first\n", "rotated\n"):
            token.write_text(value)
            source.fetch(at=AT, window=WINDOW)
    assert set(traffic.authorization) == {"Bearer first", "Bearer rotated"}


def test_unreadable_token_is_metrics_unavailable(scenario_prometheus: str,
                                                 tmp_path: Path) -> None:
    with pytest.raises(MetricsUnavailable, match="bearerTokenFile"):
        _fetch(scenario_prometheus, bearerTokenFile=str(tmp_path / "missing"))
