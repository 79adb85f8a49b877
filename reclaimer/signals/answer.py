"""Parse a Prometheus instant-vector answer straight into compact rows.

At 10,000 services one answer is 1-2 MB of JSON; parsed whole it is a dict per item,
a dict of labels per item and a list per value, about ten times the text, and seven
of them are alive at once in an evaluation. Here ``json.loads`` hands every object to
a hook as soon as it is complete, so a label set becomes a (service, signal) key and an
item becomes one row before the next item is read: the whole tree never exists.

Prometheus labels are string to string, so an object whose values are all strings is
read as a label set; an item is an object whose ``metric`` is such a label set and
which has a ``value``. Anything else (a scalar, a matrix, a wrong shape) is not an
instant vector and raises `NotAVector`, which the adapter maps to `MetricsUnavailable`.

The envelope's ``warnings`` are kept (`parse_answer`): Thanos Query and Mimir answer
``"status": "success"`` with warnings when some store or ingester did not answer, so
the rows may miss any service. ``infos`` (PromQL info annotations, Prometheus 2.50+;
2.42 has none) do not say data is missing and are not kept.
"""

from __future__ import annotations

import json
import math
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


class _Labels(NamedTuple):
    ref: ServiceRef
    signal: str
    window: str | None
    pod: str | None


_SKIPPED = object()  # an item with a non-finite value: NaN or ±Inf say nothing usable


class _Hook:
    """One answer's object hook; equal services share one `ServiceRef` within it."""

    def __init__(self, kind: ServiceKind) -> None:
        self._kind = kind
        self._refs: dict[tuple[str, str], ServiceRef] = {}

    def __call__(self, obj: dict[str, Any]) -> object:
        metric = obj.get("metric")
        if isinstance(metric, _Labels) and "value" in obj:
            return _row(metric, obj["value"])
        if all(isinstance(v, str) for v in obj.values()):
            return self._labels(obj)
        return obj

    def _labels(self, obj: dict[str, str]) -> _Labels:
        key = (obj.get("namespace", ""), obj.get("isvc", ""))
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = ServiceRef(*key, self._kind)
        return _Labels(ref, obj.get("signal", ""), obj.get(WINDOW_LABEL), obj.get("pod"))


def _row(labels: _Labels, value: object) -> object:
    if not isinstance(value, list) or len(value) != 2:
        raise NotAVector("an item's value is not [time, value]")
    try:
        number = float(value[1])
    except (TypeError, ValueError) as exc:
        raise NotAVector(f"an item's value {value[1]!r} is not a number") from exc
    if not math.isfinite(number):
        return _SKIPPED
    return Row(labels.ref, labels.signal, number, labels.window, labels.pod)


class Answer(NamedTuple):
    rows: list[Row]
    warnings: tuple[str, ...] = ()


def parse_vector(body: bytes | str, *,
                 kind: ServiceKind = ServiceKind.INFERENCE_SERVICE) -> list[Row]:
    """The rows of an instant-vector answer; raises `NotAVector` (a ValueError) if not one."""
    return parse_answer(body, kind=kind).rows


def parse_answer(body: bytes | str, *,
                 kind: ServiceKind = ServiceKind.INFERENCE_SERVICE) -> Answer:
    """Rows and warnings of an instant-vector answer; `NotAVector` if not one. Every row's
    service is of ``kind``: the query's pod map named services of that kind only."""
    answer = json.loads(body, object_hook=_Hook(kind))
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict) or data.get("resultType") != "vector":
        raise NotAVector("the answer is not an instant vector")
    result = data.get("result")
    if not isinstance(result, list) or not all(isinstance(r, Row) or r is _SKIPPED
                                               for r in result):
        raise NotAVector("the answer is not an instant vector")
    return Answer([r for r in result if r is not _SKIPPED], _warnings(answer))


def _warnings(answer: dict[str, Any]) -> tuple[str, ...]:
    """Any non-empty ``warnings`` entry; a warning that is not text is shown as JSON."""
    raw = answer.get("warnings")
    items = raw if isinstance(raw, list) else [raw] if raw else []
    return tuple(w if isinstance(w, str) else json.dumps(w, default=str) for w in items)
