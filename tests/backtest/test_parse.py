"""The range answer parser reads what ``json.loads`` would, without a Python object per point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaimer.errors import MetricsUnavailable
from reclaimer.signals.ranges import decimals
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


def _points(values: list[str], first: int = 60) -> bytes:
    return ",".join(f'[{first + 60 * i},"{v}"]' for i, v in enumerate(values)).encode()


def _strtod(values: list[str]) -> np.ndarray:
    return np.array([float(v) for v in values])


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=10**15 - 1),
                          st.integers(min_value=-1, max_value=15)), min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_plain_decimals_read_by_arrays_are_the_doubles_strtod_gives(
        pairs: list[tuple[int, int]]) -> None:
    """Every plain decimal of at most 15 digits, dot anywhere (or none), bit for bit."""
    texts = []
    for number, after in pairs:
        digits = str(number)
        if after >= 0:
            digits = digits.rjust(after + 1, "0")
            digits = f"{digits[:len(digits) - after]}.{digits[len(digits) - after:]}"
        texts.append(digits.rstrip(".") if len(digits.replace(".", "")) <= 15 else "1")
    found = decimals.values(_points(texts))
    assert found is not None
    np.testing.assert_array_equal(found.view(np.int64), _strtod(texts).view(np.int64))


@pytest.mark.parametrize("odd", ["-1", "1e+06", "NaN", "+Inf", "1234567890123456", "1.2.3",
                                 ".", "0x1"])
def test_anything_else_is_left_to_the_slow_reader(odd: str) -> None:
    """None from the array reader (a sign, an exponent, NaN, more than 15 digits...);
    `parse` still reads such a series exactly."""
    assert decimals.values(_points(["1", odd, "2.5"])) is None
    if odd not in ("1.2.3", ".", "0x1"):
        grid = Grid(start=60.0, step=60.0, size=3)
        body = _body([{"metric": {}, "values": [[60, "1"], [120, odd], [180, "2.5"]]}])
        (series,) = parse(RangeQuery.GPU_MAX, body, Chunk(0, 3), grid=grid)
        np.testing.assert_array_equal(series.values, [1, float(odd), 2.5])


def test_a_constant_series_is_recognised_by_its_pattern_alone() -> None:
    """Every point the same value: one number read; a single different point (even one
    that starts with the same digits) makes it not constant."""
    assert decimals.constant(_points(["3"] * 5), 5) == 3.0
    assert decimals.constant(_points(["3", "3", "33", "3", "3"]), 5) is None
    assert decimals.constant(_points(["3"] * 4), 5) is None  # a step missing
    assert decimals.constant(_points(["NaN"] * 2), 2) != decimals.constant(_points(["1"] * 2), 2)


def test_full_series_of_each_kind_read_as_json_reads_them() -> None:
    grid = Grid(start=60.0, step=60.0, size=4)
    kinds = {"constant": ["1", "1", "1", "1"], "decimal": ["0", "36.9294", "100", "0.5"],
             "other": ["1e+06", "-3", "NaN", "+Inf"], "gap": ["2", "2", "2"]}
    body = _body([{"metric": {"kind": k}, "values": [[60 + 60 * i, v] for i, v in enumerate(vs)]}
                  for k, vs in kinds.items()])
    for series in parse(RangeQuery.GPU_MAX, body, Chunk(0, 4), grid=grid):
        texts = kinds[series.labels["kind"]]
        np.testing.assert_array_equal(series.values, _strtod(texts))
        np.testing.assert_array_equal(series.stamps, 60 + 60 * np.arange(len(texts)))


def test_each_label_set_is_decoded_once_per_reading() -> None:
    """The same series in two chunks: its labels decoded once (``seen`` holds two label
    sets after two answers of two series each) and shared, equal to what JSON says."""
    grid = Grid(start=60.0, step=60.0, size=4)
    seen: dict[bytes, dict[str, str]] = {}
    answers = []
    for chunk in (Chunk(0, 2), Chunk(2, 2)):
        stamps = [60 + 60 * (chunk.first + i) for i in range(2)]
        body = _body([{"metric": {"pod": p, "namespace": "n"},
                       "values": [[t, "1"] for t in stamps]} for p in ("a", "b")])
        answers.append(parse(RangeQuery.GPU_MAX, body, chunk, grid=grid, seen=seen))
    assert len(seen) == 2
    assert [s.labels for s in answers[0]] == [{"pod": "a", "namespace": "n"},
                                              {"pod": "b", "namespace": "n"}]
    assert all(a.labels is b.labels for a, b in zip(*answers, strict=True))


def test_a_tail_after_the_last_series_is_not_read_as_its_points() -> None:
    """Later Prometheus versions add ``infos`` (strings) after the result; one holding
    "]]" must not be taken for the end of the last series' points."""
    grid = Grid(start=60.0, step=60.0, size=2)
    body = _body([{"metric": {"pod": "a"}, "values": [[60, "1"], [120, "2"]]},
                  {"metric": {"pod": "b"}, "values": [[60, "3"], [120, "4"]]}],
                 infos=['PromQL info: x]] y'])
    first, second = parse(RangeQuery.GPU_MAX, body, Chunk(0, 2), grid=grid)
    np.testing.assert_array_equal(first.values, [1, 2])
    np.testing.assert_array_equal(second.values, [3, 4])
    assert second.full
