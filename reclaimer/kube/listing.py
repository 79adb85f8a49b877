"""The items of a LIST answer, decoded one at a time from its text.

A cluster-wide LIST of 10,000 ISVCs is 10-20 MB of JSON and about 50 MiB as one parsed
tree. Decoding its ``items`` one element at a time (``JSONDecoder.raw_decode`` from
each element's offset) lets the caller reduce each object before the next is decoded,
so only the text and the reduced objects are alive at once; the request count stays one.

Items are decoded by the C decoder alone: most are dropped at once (a tick's
verification keeps the few ISVCs it awaits of 10,000, and counts pods), and a Python
hook on every object decoded cost 1.2 million calls a tick at 50,000 ISVCs. What a
caller keeps goes through `interned`: keys and short texts (condition types, statuses,
timestamps, modes) shared, since each element is decoded on its own and would
otherwise hold its own copy of every key (10,000 trimmed ISVCs: 51 MiB plain, 33 MiB
interned).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from typing import Any

Obj = dict[str, Any]
_SHORT = 40


def interned(value: Any) -> Any:
    """``value`` (decoded JSON) with every object's keys and short text values interned."""
    if type(value) is dict:
        return {sys.intern(k): sys.intern(v) if type(v) is str and len(v) <= _SHORT
                else interned(v) for k, v in value.items()}
    if type(value) is list:
        return [interned(v) for v in value]
    return value


_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _SPACE:
        at += 1
    return at


def _expect(text: str, at: int, char: str) -> int:
    """The offset after ``char`` (and any space after it); ValueError if it is not there."""
    if text[at:at + 1] != char:
        raise ValueError(f"LIST answer: expected {char!r} at offset {at}")
    return _skip(text, at + 1)


def items(text: str) -> Generator[Obj, None, Obj]:
    """Each element of the top-level ``items`` array; returns the answer's ``metadata``
    (where a paged LIST says ``continue``), ``{}`` without one. ValueError on malformed
    JSON."""
    metadata: Obj = {}
    at = _expect(text, _skip(text, 0), "{")
    while text[at:at + 1] != "}":
        key, at = _DECODER.raw_decode(text, at)
        at = _expect(text, _skip(text, at), ":")
        if key == "items" and text[at:at + 1] == "[":
            at = yield from _elements(text, _skip(text, at + 1))
        else:
            value, at = _DECODER.raw_decode(text, at)
            if key == "metadata" and isinstance(value, dict):
                metadata = value
        at = _skip(text, at)
        if text[at:at + 1] == ",":
            at = _skip(text, at + 1)
        elif text[at:at + 1] != "}":
            raise ValueError(f"LIST answer: expected ',' or '}}' at offset {at}")
    return metadata


def _elements(text: str, at: int) -> Generator[Obj, None, int]:
    while text[at:at + 1] != "]":
        element, at = _DECODER.raw_decode(text, at)
        if not isinstance(element, dict):
            raise ValueError("LIST answer: an item is not an object")
        yield element
        at = _skip(text, at)
        if text[at:at + 1] == ",":
            at = _skip(text, at + 1)
        elif text[at:at + 1] != "]":
            raise ValueError(f"LIST answer: expected ',' or ']' at offset {at}")
    return at + 1
