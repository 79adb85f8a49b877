"""Parse a Prometheus instant-vector answer straight into compact rows.

At 10,000 services one answer is 1-5 MB of JSON; parsed whole it is a dict per item,
a dict of labels per item and a list per value, about ten times the text, and seven
of them are alive at once in an evaluation. Here the ``result`` array is decoded one
item at a time (``JSONDecoder.raw_decode`` from each item's offset, C code without a
Python hook per object) and each item becomes one row before the next is read: the
whole tree never exists. The text itself is read as it arrives (`texts` of the
body's chunks, `_Text`): only the part not yet read past is held, about 64 KiB, not
the answer's 1-5 MB as bytes and again as text. An object hook called
for every object cost more CPU (1.48 s against 1.28 s for the 135,000 rows of one
evaluation at 10,000 ISVCs).

An item must be an object whose ``metric`` is an object of labels and whose ``value``
is ``[time, "number"]``; the labels read (``namespace``, ``isvc``, ``signal``, the
window, ``pod``) must be strings. Anything else (a scalar, a matrix, a wrong shape)
is not an instant vector and raises `NotAVector`, which the adapter maps to
`MetricsUnavailable`.

The envelope's ``warnings`` are kept (`parse_answer`): Thanos Query and Mimir answer
``"status": "success"`` with warnings when some store or ingester did not answer, so
the rows may miss any service. ``infos`` (PromQL info annotations, Prometheus 2.50+;
2.42 has none) do not say data is missing and are not kept.
"""

from __future__ import annotations

import codecs
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from reclaimer.model import ServiceKind, ServiceRef
from reclaimer.signals.windows import WINDOW_LABEL


class NotAVector(ValueError):
    """The answer is not ``{"status": "success", "data": {"resultType": "vector"}}``."""


class Row(NamedTuple):
    ref: ServiceRef
    signal: str
    value: float
    window: str | None = None
    pod: str | None = None  # only on per-pod rows (GPU pods in coverage and freshness)


_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"
_KEEP = 64 * 1024  # characters read past before they are dropped from the buffer


class _Text:
    """The answer's text as it arrives, one chunk at a time: ``buf`` holds the part not
    yet read past, so an answer of 5 MB is never held whole (only `drop` moves the
    start, between two items of the result)."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self.buf = ""
        self._chunks = iter(chunks)
        self._done = False

    def more(self) -> bool:
        """Append the next chunks, at least `_KEEP` characters of them unless the answer
        ends first (a socket read may bring a few KiB: one append per read would copy
        the buffer and retry the item cut at its end each time); False at the end."""
        got: list[str] = []
        size = 0
        for chunk in self._chunks:
            got.append(chunk)
            size += len(chunk)
            if size >= _KEEP:
                break
        if not size:
            self._done = True
            return False
        self.buf += "".join(got)
        return True

    def char(self, at: int) -> str:
        """The character at ``at`` ("" past the end of the answer)."""
        if at < len(self.buf):
            return self.buf[at]
        while at >= len(self.buf) and not self._done and self.more():
            pass
        return self.buf[at:at + 1]

    def skip(self, at: int) -> int:
        while (char := self.char(at)) and char in _SPACE:
            at += 1
        return at

    def decode(self, at: int) -> tuple[Any, int]:
        """One JSON value from ``at`` and the offset after it. A value cut by the end of
        the buffer fails to decode, or (a number) ends at the buffer's end: both are
        decoded again with the next chunk; at the end of the answer the error stands."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, at)
            except json.JSONDecodeError:
                if not self.more():
                    raise
                continue
            if end < len(self.buf) or not self.more():
                return value, end

    def drop(self, at: int) -> int:
        """Forget the text before ``at`` once it is long; returns ``at``'s new offset."""
        if at < _KEEP:
            return at
        self.buf = self.buf[at:]
        return 0


def _after(text: _Text, at: int, char: str) -> int:
    """The offset after ``char`` and any space; `NotAVector` if it is not at ``at``."""
    if text.char(at) != char:
        raise NotAVector(f"malformed answer: expected {char!r} at offset {at}")
    return text.skip(at + 1)


def _next(text: _Text, at: int, close: str) -> int:
    """Past the separator after a member or element (none before ``close``)."""
    at = text.skip(at)
    if text.char(at) == ",":
        return text.skip(at + 1)
    if text.char(at) != close:
        raise NotAVector(f"malformed answer: expected ',' or {close!r} at offset {at}")
    return at


def _object(text: _Text, at: int, member: Callable[[str, int], int]) -> int:
    """Each member of the object at ``at`` read by ``member(key, offset of its value)``,
    which returns the offset after the value; returns the offset after the object.
    Offsets are the buffer's: only the offset a member returns is used after it."""
    at = _after(text, text.skip(at), "{")
    while text.char(at) != "}":
        key, at = text.decode(at)
        at = _next(text, member(key, _after(text, text.skip(at), ":")), "}")
    return at + 1


class _Reader:
    """One answer: rows as items are decoded; equal services share one `ServiceRef`."""

    def __init__(self, text: _Text, refs: dict[tuple[str, str], ServiceRef], *,
                 kind: ServiceKind) -> None:
        self.text = text
        self._kind = kind
        self.rows: list[Row] = []
        self.envelope: dict[str, Any] = {}
        self.data: dict[str, Any] = {}
        self._refs = refs

    def read(self) -> None:
        if self.text.char(self.text.skip(0)) != "{":
            raise NotAVector("the answer is not an object")
        end = _object(self.text, 0, self._envelope)
        if self.text.char(self.text.skip(end)):
            raise NotAVector("malformed answer: text after the object")

    def _envelope(self, key: str, at: int) -> int:
        if key == "data" and self.text.char(at) == "{":
            self.envelope[key] = self.data
            return _object(self.text, at, self._data)
        self.envelope[key], end = self.text.decode(at)
        return int(end)

    def _data(self, key: str, at: int) -> int:
        if key == "result" and self.text.char(at) == "[":
            self.data[key] = self.rows
            return self._result(self.text.skip(at + 1))
        self.data[key], end = self.text.decode(at)
        return int(end)

    def _result(self, at: int) -> int:
        text, rows = self.text, self.rows
        while text.char(at) != "]":
            item, at = text.decode(at)
            row = self._row(item)
            if row is not None:
                rows.append(row)
            at = text.drop(_next(text, at, "]"))
        return at + 1

    def _row(self, item: Any) -> Row | None:
        """The item's row; None for a non-finite value (NaN or ±Inf say nothing usable)."""
        try:
            metric, (_, text) = item["metric"], item["value"]
            get = metric.get
            key = (get("namespace", ""), get("isvc", ""))
            signal, window, pod = get("signal", ""), get(WINDOW_LABEL), get("pod")
            number = float(text)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NotAVector(f"an item is not {{metric: labels, value: [time, number]}}: "
                             f"{exc}") from exc
        if type(text) is not str or not (type(key[0]) is type(key[1]) is type(signal) is str) \
                or not (window is None or type(window) is str) \
                or not (pod is None or type(pod) is str):
            raise NotAVector("a label or a value is not a string")
        if not math.isfinite(number):
            return None
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = ServiceRef(*key, self._kind)
        # A handful of signal and window texts repeat in every row: one copy of each.
        return Row(ref, sys.intern(signal), number,
                   window if window is None else sys.intern(window), pod)


class Answer(NamedTuple):
    rows: list[Row]
    warnings: tuple[str, ...] = ()


def parse_vector(body: bytes | str, *,
                 kind: ServiceKind = ServiceKind.INFERENCE_SERVICE) -> list[Row]:
    """The rows of an instant-vector answer; raises `NotAVector` (a ValueError) if not one."""
    return parse_answer(body, kind=kind).rows


def parse_answer(body: bytes | str | Iterable[str], *,
                 kind: ServiceKind = ServiceKind.INFERENCE_SERVICE,
                 refs: dict[tuple[str, str], ServiceRef] | None = None) -> Answer:
    """Rows and warnings of an instant-vector answer; `NotAVector` if not one.

    ``body`` is the whole answer or its text in chunks as they arrive (`texts`). Every
    row's service is of ``kind``: the query's pod map named services of that kind
    only. ``refs`` (namespace and name to `ServiceRef`) is shared by the answers of one
    evaluation of one kind, so its seven answers hold one `ServiceRef` per service."""
    chunks = ((body.decode("utf-8"),) if isinstance(body, bytes)
              else (body,) if isinstance(body, str) else body)
    reader = _Reader(_Text(chunks), {} if refs is None else refs, kind=kind)
    try:
        reader.read()
    except json.JSONDecodeError as exc:
        raise NotAVector(f"malformed answer: {exc}") from exc
    data = reader.data
    if data.get("resultType") != "vector" or data.get("result") is not reader.rows:
        raise NotAVector("the answer is not an instant vector")
    return Answer(reader.rows, _warnings(reader.envelope))


def texts(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 chunks as text, a character cut between two chunks joined again;
    ValueError (`UnicodeDecodeError`) on bytes that are not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


def _warnings(answer: dict[str, Any]) -> tuple[str, ...]:
    """Any non-empty ``warnings`` entry; a warning that is not text is shown as JSON."""
    raw = answer.get("warnings")
    items = raw if isinstance(raw, list) else [raw] if raw else []
    return tuple(w if isinstance(w, str) else json.dumps(w, default=str) for w in items)
