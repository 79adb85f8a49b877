"""Slow evaluations (issue 20 item 4): durations and the timeout are literal values."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

from reclaimer.errors import MetricsUnavailable
from reclaimer.signals.pace import RECOVERED, SlowNotice, slow_evaluations
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.signals.scenarios import AT, WINDOW

TEN = timedelta(seconds=10)


@pytest.mark.parametrize(("durations", "slow"), [
    pytest.param((), False, id="no-evaluation-yet"),
    pytest.param((1.2, 4.9, 5.0), False, id="at-most-half"),
    pytest.param((1.2, 5.1, 2.0), True, id="one-over-half"),
    pytest.param((10.0,), True, id="timed-out"),
])
def test_slow_when_the_slowest_recent_evaluation_took_over_half_the_timeout(
        durations: Sequence[float], slow: bool) -> None:
    assert (slow_evaluations(durations, timeout=TEN) is not None) is slow


def test_warning_names_the_setting_and_the_figures() -> None:
    warning = slow_evaluations((6.4, 4.6), timeout=TEN)
    assert warning is not None
    assert "6.4s" in warning and "prometheus.timeout (10s)" in warning
    assert "docs/signals.md" in warning


def _ticks(*values: float) -> Iterator[float]:
    yield from values


@pytest.mark.integration
def test_adapter_keeps_the_durations_its_clock_measured(scenario_prometheus: str) -> None:
    ticks = _ticks(100.0, 106.5, 200.0, 201.0)
    source = PrometheusSignals(PrometheusSettings.from_mapping({"url": scenario_prometheus}),
                               monotonic=lambda: next(ticks))
    try:
        source.fetch(at=AT, window=WINDOW)
        source.fetch(at=AT, window=WINDOW)
    finally:
        source.close()
    assert source.durations == (6.5, 1.0)


@pytest.mark.integration
def test_a_failed_evaluation_is_measured_too() -> None:
    ticks = _ticks(0.0, 9.5)
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": "http://127.0.0.1:9", "concurrency": 1}), monotonic=lambda: next(ticks))
    with pytest.raises(MetricsUnavailable):
        source.fetch(at=AT, window=WINDOW)
    assert source.durations == (9.5,)


def test_notice_warns_at_the_first_slow_tick_once_and_says_the_recovery() -> None:
    notice = SlowNotice()
    slow = slow_evaluations((6.0,), timeout=TEN)
    fast = slow_evaluations((1.0,), timeout=TEN)
    said = [notice.update(w) for w in (slow, slow, fast, fast, slow)]
    assert said == [(logging.WARNING, slow), None, (logging.INFO, RECOVERED), None,
                    (logging.WARNING, slow)]
