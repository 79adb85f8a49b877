from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from reclaimer.service.http import ProbeServer, Readiness
from reclaimer.service.metrics import ServiceMetrics

STATE = {"readiness": Readiness(ready=True, role="leader", last_tick_age_seconds=1.5)}


@pytest.fixture
def server() -> Iterator[tuple[ProbeServer, ServiceMetrics]]:
    metrics = ServiceMetrics()
    probe = ProbeServer(metrics.registry, lambda: STATE["readiness"])
    probe.start()
    yield probe, metrics
    probe.stop()


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_healthz_answers_ok(server: tuple[ProbeServer, ServiceMetrics]) -> None:
    assert _get(server[0].port, "/healthz") == (200, b"ok\n")


def test_readyz_reports_role_and_tick_age(server: tuple[ProbeServer, ServiceMetrics]) -> None:
    code, body = _get(server[0].port, "/readyz")
    assert (code, json.loads(body)["role"], json.loads(body)["lastTickAgeSeconds"]) == (
        200, "leader", 1.5)


def test_readyz_is_503_when_not_ready(server: tuple[ProbeServer, ServiceMetrics],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STATE, "readiness",
                        Readiness(ready=False, role="follower", last_tick_age_seconds=None))
    assert _get(server[0].port, "/readyz")[0] == 503


@pytest.mark.parametrize("name", [
    pytest.param("reclaimer_transitions_total", id="transitions"),
    pytest.param("reclaimer_services", id="services"),
    pytest.param("reclaimer_gpus_reclaimed", id="gpus"),
    pytest.param("reclaimer_gpu_hours_reclaimed_total", id="gpu-hours"),
    pytest.param("reclaimer_tick_seconds_bucket", id="tick-histogram"),
    pytest.param("reclaimer_signals_unknown", id="signals-unknown"),
    pytest.param("reclaimer_mass_idle_breaker_open", id="breaker"),
    pytest.param("reclaimer_edge_lateness_seconds_bucket", id="lateness"),
])
def test_metrics_exposes(server: tuple[ProbeServer, ServiceMetrics], name: str) -> None:
    probe, metrics = server
    metrics.transitions.labels(action="stop", trigger="idle", outcome="verified").inc()
    metrics.services.labels(state="running").set(1)
    assert name in _get(probe.port, "/metrics")[1].decode()


def test_unknown_path_is_404(server: tuple[ProbeServer, ServiceMetrics]) -> None:
    assert _get(server[0].port, "/nope")[0] == 404


def test_metrics_counts_partial_answers_by_query(
        server: tuple[ProbeServer, ServiceMetrics]) -> None:
    probe, metrics = server
    metrics.count_partial_answer("gpu_max")
    metrics.count_partial_answer("gpu_max")
    text = _get(probe.port, "/metrics")[1].decode()
    assert 'reclaimer_prometheus_partial_answers_total{query="gpu_max"} 2.0' in text


def test_metrics_counts_recorded_fallbacks(server: tuple[ProbeServer, ServiceMetrics]) -> None:
    probe, metrics = server
    for _ in range(3):
        metrics.count_recorded_fallback()
    text = _get(probe.port, "/metrics")[1].decode()
    assert "reclaimer_prometheus_recorded_fallbacks_total 3.0" in text
