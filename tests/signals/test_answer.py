"""The compact parse reads what a whole parse reads, and refuses what is not a vector."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from reclaimer.model import ServiceRef
from reclaimer.signals.answer import NotAVector, Row, parse_vector

A = ServiceRef("team-a", "llama")
B = ServiceRef("team-b", "mistral")


def _answer(result: Any, result_type: str = "vector") -> str:
    return json.dumps({"status": "success",
                       "data": {"resultType": result_type, "result": result}})


def _item(labels: dict[str, str], value: str) -> dict[str, Any]:
    return {"metric": labels, "value": [1712000000.5, value]}


def _whole_parse(body: str) -> list[Row]:
    """What the adapter read before: the whole tree, then the rows."""
    rows = []
    for item in json.loads(body)["data"]["result"]:
        labels, value = item["metric"], float(item["value"][1])
        if math.isfinite(value):
            rows.append(Row(ServiceRef(labels.get("namespace", ""), labels.get("isvc", "")),
                            labels.get("signal", ""), value))
    return rows


VECTORS = [
    pytest.param([], id="empty"),
    pytest.param([_item({"namespace": "team-a", "isvc": "llama"}, "12"),
                  _item({"namespace": "team-b", "isvc": "mistral"}, "0")], id="keyed"),
    pytest.param([_item({"namespace": "team-a", "isvc": "llama", "signal": "requests"}, "31"),
                  _item({"namespace": "team-a", "isvc": "llama", "signal": "gpu"}, "30")],
                 id="by-signal"),
    pytest.param([_item({"namespace": "team-a", "isvc": "llama"}, "NaN"),
                  _item({"namespace": "team-b", "isvc": "mistral"}, "+Inf"),
                  _item({"namespace": "team-b", "isvc": "x"}, "1.5e3")], id="non-finite-skipped"),
    pytest.param([_item({}, "1")], id="no-labels"),
    pytest.param([_item({"namespace": "team-a", "isvc": "llama", "metric": "m",
                         "value": "v"}, "2")], id="labels-named-metric-and-value"),
]


@pytest.mark.parametrize("result", VECTORS)
def test_rows_equal_those_of_a_whole_parse(result: list[Any]) -> None:
    body = _answer(result)
    assert parse_vector(body.encode()) == _whole_parse(body)


def test_rows_of_one_service_share_one_ref() -> None:
    rows = parse_vector(_answer([_item({"namespace": "team-a", "isvc": "llama", "signal": s}, "1")
                                 for s in ("requests", "gpu")]))
    assert rows[0].ref == A and rows[0].ref is rows[1].ref


NOT_VECTORS = [
    pytest.param(_answer([1712000000.5, "1"], "scalar"), id="scalar"),
    pytest.param(_answer([{"metric": {"namespace": "team-a"}, "values": [[1, "1"]]}], "matrix"),
                 id="matrix"),
    pytest.param(_answer([_item({"namespace": "team-a"}, "many")]), id="value-not-a-number"),
    pytest.param(_answer([{"metric": {"namespace": "team-a"}, "value": [1, "1", 2]}]),
                 id="value-of-three"),
    pytest.param(_answer([{"metric": {"namespace": "team-a"}, "value": [1, None]}]),
                 id="value-null"),
    pytest.param(_answer([{"metric": {"namespace": 3}, "value": [1, "1"]}]),
                 id="label-not-a-string"),
    pytest.param(json.dumps({"status": "error", "errorType": "bad_data", "error": "x"}),
                 id="error-answer"),
    pytest.param(json.dumps([1, 2]), id="a-list"),
]


@pytest.mark.parametrize("body", NOT_VECTORS)
def test_anything_but_an_instant_vector_is_refused(body: str) -> None:
    with pytest.raises(NotAVector):
        parse_vector(body)


def test_rows_name_service_signal_and_value() -> None:
    body = _answer([_item({"namespace": "team-b", "isvc": "mistral", "signal": "gpu"}, "7")])
    assert parse_vector(body) == [Row(B, "gpu", 7.0)]
