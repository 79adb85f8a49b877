"""`assemble`: the rules that make a service known or unknown, on literal rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.model import ServiceRef, SignalState
from reclaimer.signals.assemble import (
    GPU,
    REQUESTS,
    Evaluation,
    Observations,
    assemble,
    expected_steps,
)

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EV = Evaluation(at=AT, window=timedelta(minutes=30))
REF = ServiceRef("team-a", "llama")
FULL = float(expected_steps(AT, EV.window, EV.step))
NOW = AT.timestamp()


def _obs(**changes: object) -> Observations:
    """A complete, healthy service: 3 requests, 1 GPU at 12 % peak."""
    base: dict[str, object] = {
        "requests": {REF: 3.0}, "last_request": {REF: NOW - 90},
        "coverage": {(REF, REQUESTS): FULL, (REF, GPU): FULL},
        "freshness": {(REF, REQUESTS): NOW - 15, (REF, GPU): NOW - 15},
        "gpu_max": {REF: 12.0}, "gpu_mean": {REF: 4.0}, "gpus": {REF: 1.0}}
    return Observations(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("at", "window", "step", "steps"), [
    pytest.param(AT, timedelta(minutes=30), timedelta(minutes=1), 31, id="aligned"),
    pytest.param(AT + timedelta(seconds=20), timedelta(minutes=30), timedelta(minutes=1), 30,
                 id="unaligned"),
    pytest.param(AT, timedelta(minutes=5), timedelta(seconds=30), 11, id="short"),
])
def test_expected_steps_follow_prometheus_alignment(at: datetime, window: timedelta,
                                                    step: timedelta, steps: int) -> None:
    assert expected_steps(at, window, step) == steps


def test_complete_data_is_known_with_every_value() -> None:
    got = assemble(_obs(), EV)[REF]
    assert (got.state, got.requests, got.seconds_since_last_request, got.gpu_utilization_max,
            got.gpu_utilization_mean, got.gpus, got.coverage_seconds) == (
        SignalState.KNOWN, 3.0, 90.0, 12.0, 4.0, 1, 1800.0)


@pytest.mark.parametrize(("changes", "reason"), [
    pytest.param({"coverage": {(REF, GPU): FULL}}, "no requests series", id="no-request-series"),
    pytest.param({"coverage": {(REF, REQUESTS): FULL - 6, (REF, GPU): FULL}},
                 "covers 24m11s of 30m", id="gap"),
    pytest.param({"freshness": {(REF, REQUESTS): NOW - 300, (REF, GPU): NOW}},
                 "requests data is stale (newest sample 5m old)", id="stale-requests"),
    pytest.param({"freshness": {(REF, GPU): NOW}}, "newest sample none in 5m", id="no-fresh"),
    pytest.param({"requests": {}}, "request count missing", id="single-sample"),
    pytest.param({"coverage": {(REF, REQUESTS): FULL}}, "no gpu series", id="gpus-but-no-util"),
    pytest.param({"coverage": {(REF, REQUESTS): FULL, (REF, GPU): 3.0}}, "gpu data covers",
                 id="gpu-gap"),
])
def test_incomplete_data_is_unknown_with_reason(changes: dict[str, object], reason: str) -> None:
    got = assemble(_obs(**changes), EV)[REF]
    assert (got.state, got.requests, got.gpu_utilization_max, reason in (got.reason or "")) == (
        SignalState.UNKNOWN, None, None, True)


def test_unknown_keeps_gpus_and_coverage_as_evidence() -> None:
    got = assemble(_obs(coverage={(REF, REQUESTS): FULL / 2, (REF, GPU): FULL}), EV)[REF]
    assert (got.gpus, got.coverage_seconds) == (1, 900.0)


def test_service_without_gpus_needs_no_gpu_series() -> None:
    obs = _obs(gpus={REF: 0.0}, coverage={(REF, REQUESTS): FULL}, gpu_max={}, gpu_mean={})
    got = assemble(obs, EV)[REF]
    assert (got.state, got.gpus, got.gpu_utilization_max) == (SignalState.KNOWN, 0, None)


def test_no_request_within_horizon_leaves_seconds_since_empty() -> None:
    got = assemble(_obs(requests={REF: 0.0}, last_request={}), EV)[REF]
    assert (got.state, got.requests, got.seconds_since_last_request) == (
        SignalState.KNOWN, 0.0, None)


def test_rows_without_namespace_or_name_are_dropped() -> None:
    nameless = ServiceRef("team-a", "")
    assert nameless not in assemble(_obs(gpus={REF: 1.0, nameless: 1.0}), EV)
