"""A LIST answer's items decoded one at a time equal those of a whole parse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reclaimer.kube.listing import interned, items

ISVC = {"metadata": {"name": "a", "namespace": "n", "labels": {"x": "[{,]}"}},
        "spec": {"predictor": {"model": {"storageUri": "s3://a\"b"}}}}


def _answer(items_: Any, **extra: Any) -> dict[str, Any]:
    return {"kind": "InferenceServiceList", "apiVersion": "serving.kserve.io/v1beta1",
            "metadata": {"resourceVersion": "7", "continue": ""}, "items": items_, **extra}


ANSWERS = [
    pytest.param(json.dumps(_answer([ISVC, ISVC])), id="compact"),
    pytest.param(json.dumps(_answer([ISVC, {}]), indent=2), id="indented"),
    pytest.param(json.dumps({"items": [ISVC], "metadata": {"items": [1]}}), id="items-first"),
    pytest.param(json.dumps(_answer([])), id="empty"),
    pytest.param(json.dumps(_answer(None)), id="null-items"),
    pytest.param(json.dumps({"kind": "List"}), id="no-items"),
    pytest.param(" \n" + json.dumps(_answer([ISVC])) + "\n", id="surrounding-space"),
]


@pytest.mark.parametrize("text", ANSWERS)
def test_items_equal_those_of_a_whole_parse(text: str) -> None:
    assert list(items(text)) == (json.loads(text).get("items") or [])


MALFORMED = [
    pytest.param("[]", id="not-an-object"),
    pytest.param('{"items": [1, 2]}', id="item-not-an-object"),
    pytest.param('{"items": [{}', id="truncated-items"),
    pytest.param('{"items": [{} {}]}', id="missing-comma"),
    pytest.param('{"items": [] "kind": "x"}', id="missing-comma-between-keys"),
    pytest.param('{"items" []}', id="missing-colon"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_answers_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"LIST answer|Expecting|Unterminated"):
        list(items(text))


def test_keys_and_short_texts_of_kept_items_are_shared() -> None:
    first, second = (interned(i) for i in items(json.dumps(_answer([ISVC, ISVC]))))
    assert (first, second) == (ISVC, ISVC)
    key_first, key_second = next(iter(first)), next(iter(second))
    assert key_first is key_second
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    assert first["metadata"]["labels"]["x"] is second["metadata"]["labels"]["x"]


def test_the_answers_metadata_is_returned_after_the_items() -> None:
    """Where a paged LIST says ``continue``, wherever it stands in the text."""
    def drained(text: str) -> object:
        generator = items(text)
        while True:
            try:
                next(generator)
            except StopIteration as done:
                return done.value

    after = json.dumps({"items": [ISVC], "metadata": {"continue": "t"}})
    assert (drained(json.dumps(_answer([ISVC]))), drained(after), drained('{"items": []}')) == (
        {"resourceVersion": "7", "continue": ""}, {"continue": "t"}, {})
