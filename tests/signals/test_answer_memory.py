"""An answer is parsed while it arrives: its text is never held whole (issue 20).

At 10,000 ISVCs the seven answers of an evaluation are 15.5 MB of JSON, four in flight
at once; read into a buffer, copied to bytes and decoded to text before they were
parsed, each was held about three times over, part of the service's peak RSS.
Measured with tracemalloc around one evaluation against a real Prometheus, twice: the
same 500 rows, once with an 8,000-character label on every row (4 MB more text) and
once without. The label is in no row, so the rows, the services and
everything after the parse are the same; what the longer text adds to the peak is what
the adapter holds of the text. Bytes, never time.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import timedelta

import pytest

from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.scenarios import AT, WINDOW

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SERVICES = 500
PAD = 8000


def _world() -> OpenMetrics:
    om = OpenMetrics()
    for minutes in (10, 5, 0):
        for i in range(SERVICES):
            om.add("pad_source", {"namespace": "team-a", "isvc": f"model-{i}"}, 1.0,
                   AT - timedelta(minutes=minutes))
    return om


def _peak(url: str, pad: int) -> int:
    """tracemalloc's peak over one evaluation whose GPU-count answer has a row per
    service with a ``pad`` label of ``pad`` characters (every other answer is empty)."""
    gpus = f'label_replace(last_over_time(pad_source[15m]), "pad", "{"x" * pad}", "", "")'
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": url, "concurrency": 1, "templates": {"gpus": gpus}}))
    try:
        source.fetch(at=AT, window=WINDOW)  # connections and first-use caches
        tracemalloc.start()
        try:
            found = source.fetch(at=AT, window=WINDOW)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        source.close()
    assert len(found) == SERVICES
    return peak


def test_the_text_of_an_answer_is_not_held_while_it_is_parsed(
        prometheus_factory: Callable[[OpenMetrics], str]) -> None:
    url = prometheus_factory(_world())
    more_text = SERVICES * (len(',"pad":""') + PAD)  # 4 MB
    added = _peak(url, PAD) - _peak(url, 0)
    # Measured: 0.1 times the text now, 2.9 times before (1.07 read whole first).
    assert added < more_text // 4, f"{added} bytes more at the peak for {more_text} of text"
