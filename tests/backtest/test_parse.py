"""The range answer parser reads what ``json.loads`` would, without a Python object per point."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reclaimer.errors import MetricsUnavailable
from reclaimer.signals.ranges.history import Grid
from reclaimer.signals.ranges.matrix import Chunk, parse
from reclaimer.signals.ranges.promql import RangeQuery

pytestmark = [pytest.mark.timeout(10)]

CHUNK = Chunk(first=0, size=3)


def _body(result: list[dict[str, object]], **extra: object) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result},
                       **extra}, separators=(",", ":")).encode()


def test_labels_and_points_as_json_says() -> None:
    tricky = {"namespace": 'a"{\\"metric\\":', "pod": "p]]", "warnings": "x"}
    body = _body([{"metric": tricky, "values": [[60, "1"], [120.5, "NaN"], [180, "+Inf"]]},
                  {"metric": {}, "values": [[60, "-2.5e-3"]]}])
    first, second = parse(RangeQuery.GPU_MAX, body, CHUNK)
    assert first.labels == tricky
    np.testing.assert_array_equal(first.stamps, [60, 120.5, 180])
    np.testing.assert_array_equal(first.values, [1, np.nan, np.inf])
    assert (second.labels, list(second.values)) == ({}, [-0.0025])


def test_a_series_at_every_step_reads_the_same_from_its_values_alone() -> None:
    """A point at every step of the chunk: the instants are the chunk's, the values
    alone are read; a series with a step missing is read whole."""
    grid = Grid(start=0.0, step=60.0, size=6)
    chunk = Chunk(first=3, size=3)
    body = _body([{"metric": {"pod": "full"},
                   "values": [[180, "1"], [240, "NaN"], [300, "-2.5e-3"]]},
                  {"metric": {"pod": "gap"}, "values": [[180, "4"], [300, "+Inf"]]}])
    full, gap = parse(RangeQuery.GPU_MAX, body, chunk, grid=grid)
    np.testing.assert_array_equal(full.stamps, [180, 240, 300])
    np.testing.assert_array_equal(full.values, [1, np.nan, -0.0025])
    np.testing.assert_array_equal(gap.stamps, [180, 300])
    np.testing.assert_array_equal(gap.values, [4, np.inf])


@pytest.mark.parametrize("body", [
    pytest.param(_body([], warnings=["too many samples"]), id="warnings"),
    pytest.param(json.dumps({"status": "success", "data": {"resultType": "vector",
                                                           "result": []}}).encode(),
                 id="vector"),
    pytest.param(_body([{"metric": {}, "values": [[60, "1"], [120]]}]), id="odd-fields"),
])
def test_partial_or_wrong_answers_fail_the_backtest(body: bytes) -> None:
    with pytest.raises(MetricsUnavailable):
        parse(RangeQuery.GPU_MAX, body, CHUNK)
