"""An answer's matrix: the chunk of the grid it covers, and its series read from bytes.

A range query is asked chunk by chunk (Prometheus refuses more than 11,000 points per
series in one query); its answer is parsed here without ``json.loads``, which made two
Python objects of each point and cost more than the replay (`parse`). Reading the
bytes and parsing them are kept apart so the reading pool only waits on Prometheus
(`fetch`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from reclaimer.errors import MetricsUnavailable
from reclaimer.signals.ranges import decimals
from reclaimer.signals.ranges.history import Array, Grid

MAX_POINTS = 11_000


@dataclass(frozen=True)
class Chunk:
    first: int  # grid index of the chunk's first instant
    size: int


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    chunk: Chunk
    stamps: Array
    values: Array
    full: bool = False  # a point at every step of the chunk: ``stamps`` are its instants


def chunks(grid: Grid, chunk_steps: int) -> list[Chunk]:
    size = max(1, min(chunk_steps, MAX_POINTS))
    return [Chunk(first, min(size, grid.size - first)) for first in range(0, grid.size, size)]


Seen = dict[bytes, dict[str, str]]  # label sets decoded so far, by their JSON text


def parse(name: str, body: bytes, chunk: Chunk, *, grid: Grid | None = None,
          seen: Seen | None = None) -> list[Series]:
    """The matrix of one answer, read without building a Python object per point.

    A week of 1,000 ISVCs is tens of millions of points: ``json.loads`` makes two
    Python objects of each, which costs more than the replay. Each series' labels are
    decoded as JSON, once per reading where ``seen`` is kept between answers (the same
    series comes back in every chunk; the label dicts are shared, never changed); its
    points, ``[t,"v"]`` pairs, are read by NumPy (`decimals`). The byte patterns
    searched for cannot occur inside a JSON string (its quotes would be escaped), and
    a label value is a string, so ``"warnings":[`` is the top-level key. With the
    ``grid``, a series with a point at every step of the chunk has exactly the chunk's
    instants, and only its values are read (`_series`).
    """
    head = body[:body.find(b'"result":[')]
    if b'"resultType":"matrix"' not in head or b'"status":"success"' not in head:
        raise MetricsUnavailable(f"{name} range query did not return a matrix")
    tail = body.rfind(b'"warnings":[')
    if tail > body.rfind(b'"values":['):
        try:
            warnings = json.loads(body[tail + len(b'"warnings":'):].rstrip(b"}\n "))
        except ValueError:
            warnings = [body[tail:tail + 300].decode(errors="replace")]
        if warnings:
            raise MetricsUnavailable(f"partial answer to the {name} range query "
                                     f"(warnings: {'; '.join(map(str, warnings))[:300]})")
    try:
        known: Seen = {} if seen is None else seen
        pieces = body.split(b'{"metric":')[1:]
        return [_series(piece, chunk, grid, known, last=number == len(pieces) - 1)
                for number, piece in enumerate(pieces)]
    except (KeyError, TypeError, ValueError) as exc:
        raise MetricsUnavailable(f"{name} range query did not return a matrix") from exc


_POINTS = bytes.maketrans(b",", b" ")


def _series(piece: bytes, chunk: Chunk, grid: Grid | None, seen: Seen, *,
            last: bool) -> Series:
    split = piece.index(b',"values":[')
    labels = seen.get(piece[:split])
    if labels is None:
        labels = json.loads(piece[:split])
        if not isinstance(labels, dict):
            raise TypeError("labels are not an object")
        seen[piece[:split]] = labels
    # The values end every piece but the last, which has the answer's tail after them
    # (``warnings``, or ``infos`` in later versions: strings that may hold "]]").
    end = piece.index(b"]]", split) if last else piece.rfind(b"]]")
    if end < split:
        raise ValueError("no points")
    points = piece[split + len(b',"values":['):end + 1]
    values = None if grid is None else _full(points, chunk.size)
    if grid is not None and values is not None:
        # Ascending, distinct instants of the chunk, one per step: all of them. The
        # values are the quoted fields; reading only them halves the numbers.
        first = grid.start + chunk.first * grid.step
        return Series(labels=labels, chunk=chunk, values=values, full=True,
                      stamps=first + grid.step * np.arange(chunk.size, dtype=np.float64))
    numbers = np.fromstring(points.translate(_POINTS, b'[]"').decode(), sep=" ")
    if numbers.size % 2:
        raise ValueError("odd number of point fields")
    return Series(labels=labels, chunk=chunk, stamps=numbers[0::2], values=numbers[1::2])


def _full(points: bytes, size: int) -> Array | None:
    """The values of ``size`` points (a point at every step of the chunk), or None
    where there are fewer: one value for all (`decimals.constant`), else by array
    operations (`decimals.values`), else by ``np.fromstring``."""
    same = decimals.constant(points, size)
    if same is not None:
        return np.full(size, same)
    found = decimals.values(points)
    if found is None and points.count(b"],[") + 1 == size:
        found = np.fromstring(b" ".join(points.split(b'"')[1::2]).decode(), sep=" ")
    return found if found is not None and found.size == size else None


def on_chunk(grid: Grid, series: Series) -> Array:
    """The series over its chunk's steps, NaN where it has no point (a full series'
    values are that already)."""
    if series.full:
        return series.values
    out = np.full(series.chunk.size, np.nan)
    index = np.rint((series.stamps - grid.start) / grid.step).astype(np.int64) - series.chunk.first
    keep = (index >= 0) & (index < series.chunk.size)
    out[index[keep]] = series.values[keep]
    return out
