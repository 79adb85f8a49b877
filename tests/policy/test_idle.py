"""judge_idle / judge_traffic: three answers, and unknown whenever the data is not whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from reclaimer.model import IdleRule, Policy, RecentActivity, Signals, SignalState
from reclaimer.policy.idle import Verdict, judge_busy_at_stop, judge_idle, judge_traffic
from tests.policy.decide_builders import idle_only, office, quiet, svc, t

NOW = t("01-12 22:00")
RULE = IdleRule(after=timedelta(minutes=30), max_requests=2, gpu_utilization_below=5.0)
SERVICE = svc()
IDLE, BUSY, UNKNOWN = Verdict.IDLE, Verdict.BUSY, Verdict.UNKNOWN


def q(**changes: Any) -> Signals:
    return quiet(SERVICE, NOW, **changes)


@pytest.mark.parametrize(("signals", "expected"), [
    pytest.param(q(), IDLE, id="quiet-whole-window"),
    pytest.param(q(requests=2.0), IDLE, id="requests-at-max-requests"),
    pytest.param(q(gpu_utilization_max=4.9), IDLE, id="gpu-just-below"),
    pytest.param(q(window=timedelta(hours=1), coverage_seconds=3600.0), IDLE,
                 id="longer-window-is-fine"),
    pytest.param(q(at=NOW - timedelta(seconds=119)), IDLE, id="slightly-old-is-fresh"),
    pytest.param(q(requests=3.0), BUSY, id="requests-above-max"),
    pytest.param(q(gpu_utilization_max=5.0), BUSY, id="gpu-at-threshold"),
    pytest.param(q(requests=9.0, gpu_utilization_max=None), BUSY,
                 id="known-busy-wins-over-missing-gpu"),
    pytest.param(None, UNKNOWN, id="no-signals"),
    pytest.param(Signals.unknown(SERVICE.ref, at=NOW, window=timedelta(minutes=30),
                                 reason="prometheus down"), UNKNOWN, id="unknown-state"),
    pytest.param(q(at=NOW - timedelta(minutes=3)), UNKNOWN, id="stale"),
    pytest.param(q(at=NOW + timedelta(minutes=3)), UNKNOWN, id="from-the-future"),
    pytest.param(q(window=timedelta(minutes=20)), UNKNOWN, id="window-shorter-than-after"),
    pytest.param(q(coverage_seconds=1799.0), UNKNOWN, id="partial-coverage"),
    pytest.param(q(coverage_seconds=None), UNKNOWN, id="coverage-unknown"),
    pytest.param(q(requests=None), UNKNOWN, id="requests-unknown"),
    pytest.param(q(gpu_utilization_max=None), UNKNOWN, id="gpu-unknown-with-gpus"),
    pytest.param(q(gpu_utilization_max=None, gpus=None), UNKNOWN, id="gpu-and-count-unknown"),
])
def test_judge_idle(signals: Signals | None, expected: Verdict) -> None:
    assert judge_idle(RULE, signals, service=SERVICE, now=NOW).verdict is expected


@pytest.mark.parametrize(("api_gpus", "expected"), [
    pytest.param(0, IDLE, id="no-gpu-needs-no-gpu-data"),
    pytest.param(None, IDLE, id="api-count-unknown-kube-state-metrics-says-none"),
    pytest.param(1, UNKNOWN, id="api-pods-hold-a-gpu-kube-state-metrics-lists-none"),
])
def test_judge_idle_gpu_count_is_the_worst_of_api_and_metrics(api_gpus: int | None,
                                                               expected: Verdict) -> None:
    signals = q(gpu_utilization_max=None, gpus=0)
    service = replace(SERVICE, gpus=api_gpus)
    assert judge_idle(RULE, signals, service=service, now=NOW).verdict is expected


@pytest.mark.parametrize(("since", "expected"), [
    pytest.param(60.0, BUSY, id="case9-request-a-minute-ago-within-max-requests"),
    pytest.param(299.0, BUSY, id="case9-request-just-inside-the-lookback"),
    pytest.param(300.0, IDLE, id="request-exactly-a-lookback-ago"),
    pytest.param(None, IDLE, id="no-request-within-the-horizon"),
])
def test_case9_idle_needs_no_request_within_the_lookback(since: float | None,
                                                          expected: Verdict) -> None:
    signals = q(requests=1.0, since=since)
    assert judge_idle(RULE, signals, service=SERVICE, now=NOW,
                      lookback=timedelta(minutes=5)).verdict is expected


def test_idle_evidence_names_the_values_and_limits() -> None:
    verdict = judge_idle(RULE, q(), service=SERVICE, now=NOW)
    assert {k: verdict.evidence[k] for k in ("requests", "maxRequests", "gpuUtilizationMax",
                                             "gpuUtilizationBelow", "coverageSeconds")} == {
        "requests": 0.0, "maxRequests": 2, "gpuUtilizationMax": 0.0,
        "gpuUtilizationBelow": 5.0, "coverageSeconds": 1800.0}


@pytest.mark.parametrize(("signals", "fragment"), [
    pytest.param(None, "no signals", id="missing"),
    pytest.param(q(coverage_seconds=600.0), "covers 10m of the 30m needed", id="partial"),
    pytest.param(q(at=NOW - timedelta(minutes=5)), "stale", id="stale"),
    pytest.param(q(requests=3.0), "maxRequests 2", id="busy"),
    # durations as policies write them, never 0:05:00 (issue 16 item 10)
    pytest.param(q(), "idle for 30m:", id="idle-for-after"),
    pytest.param(q(window=timedelta(minutes=20)), "signal window 20m is shorter than 30m",
                 id="window-short"),
    pytest.param(q(since=90.0), "last request 1m30s ago, within 5m", id="recent-request"),
])
def test_verdict_reason_says_why(signals: Signals | None, fragment: str) -> None:
    assert fragment in judge_idle(RULE, signals, service=SERVICE, now=NOW).reason


LOOKBACK = timedelta(minutes=5)


@pytest.mark.parametrize(("signals", "expected"), [
    pytest.param(q(since=7200.0), IDLE, id="last-request-long-ago"),
    pytest.param(q(since=300.0), IDLE, id="last-request-exactly-lookback"),
    pytest.param(q(since=None, requests=0.0), IDLE, id="no-request-in-window"),
    pytest.param(q(since=299.0, requests=1.0), BUSY, id="request-within-lookback"),
    pytest.param(q(since=None, requests=4.0), UNKNOWN, id="requests-but-no-time"),
    pytest.param(q(window=LOOKBACK, coverage_seconds=300.0, since=300.0, requests=1.0), BUSY,
                 id="request-counted-in-lookback-window-though-its-time-is-a-step-late"),
    pytest.param(q(since=300.0, requests=1.0), IDLE,
                 id="request-counted-in-a-longer-window-says-nothing-of-the-lookback"),
    pytest.param(q(since=None, requests=None), UNKNOWN, id="nothing-known"),
    pytest.param(None, UNKNOWN, id="no-signals"),
    pytest.param(q(coverage_seconds=200.0), UNKNOWN, id="coverage-below-lookback"),
    pytest.param(q(at=NOW - timedelta(minutes=10)), UNKNOWN, id="stale"),
])
def test_judge_traffic(signals: Signals | None, expected: Verdict) -> None:
    assert judge_traffic(signals, lookback=LOOKBACK, now=NOW).verdict is expected


def _recent(peak: float | None, span: timedelta = timedelta(minutes=5)) -> RecentActivity:
    return RecentActivity(span=span, gpu_utilization_max=peak)


@pytest.mark.parametrize(("signals", "gpus", "expected"), [
    pytest.param(q(gpu_utilization_max=98.0, recent=_recent(98.0)), 1, BUSY,
                 id="case2-gpu-busy-no-request-completed"),
    pytest.param(q(recent=_recent(5.0)), 1, BUSY, id="gpu-at-threshold-is-busy"),
    pytest.param(q(recent=_recent(4.9)), 1, IDLE, id="gpu-just-below-is-quiet"),
    pytest.param(q(gpu_utilization_max=60.0, recent=_recent(1.0)), 1, IDLE,
                 id="busy-earlier-in-a-longer-window-but-not-in-the-lookback"),
    pytest.param(q(gpu_utilization_max=60.0), 1, BUSY,
                 id="no-recent-peak-falls-back-to-the-longer-window"),
    pytest.param(q(window=LOOKBACK, coverage_seconds=300.0, gpu_utilization_max=50.0), 1, BUSY,
                 id="lookback-window-peak"),
    pytest.param(q(gpu_utilization_max=None, recent=_recent(None)), 1, UNKNOWN,
                 id="gpu-unknown-for-a-gpu-service"),
    pytest.param(q(gpu_utilization_max=None, recent=_recent(None), gpus=0), 0, IDLE,
                 id="no-gpu-needs-no-gpu-data"),
    pytest.param(q(recent=_recent(50.0, span=timedelta(minutes=2)), gpu_utilization_max=None),
                 1, UNKNOWN, id="recent-span-shorter-than-the-lookback-is-not-enough"),
])
def test_case2_traffic_looks_at_the_gpu(signals: Signals, gpus: int, expected: Verdict) -> None:
    got = judge_traffic(signals, lookback=LOOKBACK, now=NOW, gpu_busy_at=5.0, gpus=gpus)
    assert got.verdict is expected


@pytest.mark.parametrize(("policy", "peak", "expected"), [
    pytest.param(office(), 5.0, BUSY, id="no-idle-block-5-percent"),
    pytest.param(office(), 4.0, IDLE, id="no-idle-block-below-5-percent"),
    pytest.param(replace(office(), idle=IdleRule(after=timedelta(minutes=30),
                                                 gpu_utilization_below=20.0)), 15.0, IDLE,
                 id="idle-block-threshold-20-percent"),
    pytest.param(idle_only(idle=IdleRule(after=timedelta(minutes=30),
                                         gpu_utilization_below=2.0)), 3.0, BUSY,
                 id="idle-block-threshold-2-percent"),
])
def test_case2_threshold_is_the_policys_gpu_utilization_below(policy: Policy, peak: float,
                                                             expected: Verdict) -> None:
    got = judge_busy_at_stop(policy, q(recent=_recent(peak)), service=SERVICE,
                             lookback=LOOKBACK, now=NOW)
    assert got.verdict is expected


def test_unknown_signal_reason_is_kept() -> None:
    signals = Signals(ref=SERVICE.ref, at=NOW, window=timedelta(minutes=30),
                      state=SignalState.UNKNOWN, reason="query timed out")
    assert "query timed out" in judge_idle(RULE, signals, service=SERVICE, now=NOW).reason
