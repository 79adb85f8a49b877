"""Issue 13 cases 2 and 9: what a tick decides from a real Prometheus 2.42.

Signals come the way the loop gets them (`gather_signals` over `PrometheusSignals`,
promtool-backfilled data, scrapes every 30 s, the KServe Python server's counter, which
has no in-flight gauge), and `decide()` judges them.

- Case 2, busy at a schedule stop: a 10-minute generation at 98 % GPU whose last
  completed request was 12 minutes before the 19:00 stop. Completed requests alone
  said "quiet" and the stop went ahead; the GPU at or above the policy's
  ``gpuUtilizationBelow`` (5 % without an idle block) within the lookback defers it.
  A request in flight (vLLM's running gauge) at 2 % GPU defers it too.
- Case 9, the idle stop's blind spot: one request 90 s before the tick, within
  ``maxRequests``; the window's total allowed the idle stop, the busy lookback
  (5 min) does not.

Controls: a service at 2 % GPU whose last request was 12 minutes ago is stopped at
the edge, and so is one whose GPU was busy 25 to 10 minutes before it (inside the idle
rule's 30-minute window, outside the lookback: the GPU peak is the lookback's); one
whose last request was 20 minutes ago is idle-stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from reclaimer.model import (
    Action,
    BusyAtStop,
    IdleRule,
    Plan,
    Policy,
    Reason,
    ServiceRef,
    Transition,
)
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import governed
from reclaimer.service.observe import gather_signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.policy.decide_builders import DEFAULTS, NO_LEDGER, idle_only, office, svc, t
from tests.signals.render import ISVC_LABEL

pytestmark = pytest.mark.integration
EDGE = t("01-12 18:00")  # Monday 19:00 in Berlin: the office policy's stop edge
EVERY = timedelta(seconds=30)
_M = timedelta(minutes=1)
DEFER = office(busy_at_stop=BusyAtStop.DEFER, max_defer=timedelta(hours=2))
DEFER_WITH_IDLE = replace(DEFER, idle=IdleRule(after=timedelta(minutes=30),
                                               gpu_utilization_below=5.0))
IDLE = idle_only(idle=IdleRule(after=timedelta(minutes=30), max_requests=2,
                               min_uptime=timedelta(minutes=15)))
START = EDGE - timedelta(hours=2)
# name: (times of completed requests, GPU levels as (from, percent))
WORLD: dict[str, tuple[tuple[datetime, ...], tuple[tuple[datetime, float], ...]]] = {
    "generation": ((EDGE - 12 * _M,), ((START, 2.0), (EDGE - 10 * _M, 98.0))),
    "quiet": ((EDGE - 12 * _M,), ((START, 2.0),)),
    "busy-before-the-lookback": ((EDGE - 12 * _M,), (
        (START, 2.0), (EDGE - 25 * _M, 60.0), (EDGE - 10 * _M, 1.0))),
    "fresh-request": ((EDGE - timedelta(seconds=90),), ((START, 0.0),)),
    "old-request": ((EDGE - 20 * _M,), ((START, 0.0),)),
}
# vLLM: a generation running for the last 10 minutes, GPU below the threshold.
IN_FLIGHT = "in-flight"


def _level(levels: tuple[tuple[datetime, float], ...], at: datetime) -> float:
    return [value for since, value in levels if since <= at][-1]


def _world() -> OpenMetrics:
    om = OpenMetrics()
    for name, (done, levels) in WORLD.items():
        target = {"namespace": "team-a", "pod": f"{name}-predictor-0"}
        at = START
        while at <= EDGE:
            om.add("kube_pod_labels", {**target, ISVC_LABEL: name}, 1, at)
            om.add("kube_pod_container_resource_requests",
                   {**target, "container": "kserve-container", "resource": "nvidia_com_gpu",
                    "unit": "integer"}, 1, at)
            om.add("request_predict_seconds_count", {**target, "model_name": "m"},
                   sum(1 for d in done if d <= at), at)
            om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": "0", "UUID": f"GPU-{name}"},
                   _level(levels, at), at)
            at += EVERY
    _vllm(om)
    return om


def _vllm(om: OpenMetrics) -> None:
    target = {"namespace": "team-a", "pod": f"{IN_FLIGHT}-predictor-0"}
    at = START
    while at <= EDGE:
        om.add("kube_pod_labels", {**target, ISVC_LABEL: IN_FLIGHT}, 1, at)
        om.add("kube_pod_container_resource_requests",
               {**target, "container": "kserve-container", "resource": "nvidia_com_gpu",
                "unit": "integer"}, 1, at)
        om.add("vllm:request_success_total",
               {**target, "model_name": "m", "finished_reason": "stop"},
               1 if at >= EDGE - 12 * _M else 0, at)
        om.add("vllm:num_requests_running", {**target, "model_name": "m"},
               1 if at >= EDGE - 10 * _M else 0, at)
        om.add("vllm:num_requests_waiting", {**target, "model_name": "m"}, 0, at)
        om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": "0", "UUID": f"GPU-{IN_FLIGHT}"}, 2.0, at)
        at += EVERY


@pytest.fixture(scope="module")
def url(prometheus_factory: Callable[[OpenMetrics], str]) -> str:
    return prometheus_factory(_world())


def _tick(url: str, policy: Policy, name: str, preset: str = "kserve-python") -> Plan:
    service = svc(name)
    matches = governed([policy], [service])
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": url, "signals": {"requests": preset}}))
    try:
        gathered = gather_signals(source, matches, now=EDGE,
                                  traffic_window=DEFAULTS.busy_lookback)
    finally:
        source.close()
    return decide(EDGE, [policy], [service], signals=gathered.by_service, ledger=NO_LEDGER,
                  settings=DEFAULTS, matches=matches)


def _stops(plan: Plan, name: str) -> list[Transition]:
    return [tr for tr in plan.transitions
            if tr.ref == ServiceRef("team-a", name) and tr.action is Action.STOP]


@pytest.mark.parametrize("policy", [
    pytest.param(DEFER, id="no-idle-block-5-percent"),
    pytest.param(DEFER_WITH_IDLE, id="idle-block-gpuUtilizationBelow"),
])
def test_case2_gpu_busy_generation_is_deferred_at_the_stop(url: str, policy: Policy) -> None:
    got = _stops(_tick(url, policy, "generation"), "generation")
    assert [(tr.reason, tr.blocked is not None) for tr in got] == [(Reason.DEFERRED_BUSY, True)]
    assert "GPU utilisation 98% >= 5%" in (got[0].blocked or "")


@pytest.mark.parametrize(("policy", "name"), [
    pytest.param(DEFER, "quiet", id="no-idle-block-5-percent"),
    pytest.param(DEFER_WITH_IDLE, "quiet", id="idle-block-gpuUtilizationBelow"),
    pytest.param(DEFER_WITH_IDLE, "busy-before-the-lookback",
                 id="gpu-busy-in-the-idle-window-but-not-in-the-lookback"),
])
def test_case2_gpu_quiet_in_the_lookback_is_stopped_at_the_edge(url: str, policy: Policy,
                                                                name: str) -> None:
    got = _stops(_tick(url, policy, name), name)
    assert [(tr.reason, tr.blocked) for tr in got] == [(Reason.SCHEDULE_STOP, None)]


def test_case2_request_in_flight_is_deferred_at_the_stop(url: str) -> None:
    got = _stops(_tick(url, DEFER, IN_FLIGHT, preset="vllm"), IN_FLIGHT)
    assert [(tr.reason, "last request" in (tr.blocked or "")) for tr in got] == [
        (Reason.DEFERRED_BUSY, True)]


def test_case9_request_within_the_lookback_blocks_the_idle_stop(url: str) -> None:
    assert _stops(_tick(url, IDLE, "fresh-request"), "fresh-request") == []


def test_case9_request_before_the_lookback_allows_the_idle_stop(url: str) -> None:
    got = _stops(_tick(url, IDLE, "old-request"), "old-request")
    assert [(tr.reason, tr.blocked) for tr in got] == [(Reason.IDLE_TIMEOUT, None)]
