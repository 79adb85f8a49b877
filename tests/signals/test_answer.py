"""The compact parse reads what a whole parse reads, and refuses what is not a vector."""

from __future__ import annotations

import json
import math
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from reclaimer.model import ServiceRef
from reclaimer.signals.answer import NotAVector, Row, parse_answer, parse_vector, texts

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


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


# Every cut: inside keys, numbers (the time 1712000000.5), strings, a two-byte
# character, the space between members, and the envelope after the result.
CHUNKED = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
    _item({"namespace": "team-ä", "isvc": "llama", "pod": "p-1"}, "12.25"),
    _item({"namespace": "team-b", "isvc": "mistral"}, "NaN"),
    _item({"namespace": "team-b", "isvc": "mistral", "signal": "gpu"}, "3e2")]},
    "warnings": ["store b: timeout"]}, indent=1).encode()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(CHUNKED)])
def test_an_answer_read_in_chunks_reads_as_the_whole_text(size: int) -> None:
    whole = parse_answer(CHUNKED)
    assert (parse_answer(texts(_chunks(CHUNKED, size))), whole.warnings) == (
        whole, ("store b: timeout",))


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_a_cut_answer_is_refused_however_it_arrives(size: int) -> None:
    with pytest.raises(NotAVector):
        parse_answer(texts(_chunks(CHUNKED[:-40], size)))


def test_text_read_past_is_not_held_while_the_result_is_read() -> None:
    """About 64 KiB of buffer, whatever the answer's size: the 8 MB of text below is
    made chunk by chunk as the parse asks for it, so only what the parse holds counts
    (rows and one `ServiceRef` per service, about 0.3 MB for these 2,000)."""
    item = json.dumps(_item({"namespace": "team-a", "isvc": "m", "pad": "x" * 4000}, "1"))

    def arriving() -> Iterator[bytes]:
        yield b'{"status": "success", "data": {"resultType": "vector", "result": ['
        yield from ((item if i == 0 else "," + item).encode() for i in range(2000))
        yield b"]}}"

    tracemalloc.start()
    try:
        rows = parse_answer(texts(arriving())).rows
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(rows), peak < 1_000_000) == (2000, True)
