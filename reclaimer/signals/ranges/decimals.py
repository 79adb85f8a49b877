"""The values of one series' points, read by NumPy from the bytes, exactly as strtod.

A week of 1,000 ISVCs is about 70 million values; ``np.fromstring`` reads about 5 a
microsecond (it calls the C library's locale-aware ``strtod`` per number), and was
half the CPU of reading history here (benchmarks/RESULTS.md, issue 18). Prometheus
writes a value as Go's ``FormatFloat(v, 'f', -1, 64)``: most are short decimals
(``"1"``, ``"3"``, ``"36.9294"``). `values` reads those with array operations, one
pass per character position, and gives back None for anything else (a sign, an
exponent, ``NaN``, ``+Inf``, more than 15 digits), which the caller reads the slow
way. Exactness: the digits make an integer below 10^15 < 2^53 and the divisor is a
power of ten at most 10^15, both exact in float64, so the one division is correctly
rounded: the same double ``strtod`` returns (Clinger's fast path).

`constant` is cheaper still: a series whose every point has the same value (a pod's
labels, a GPU request, a sample count) is recognised by counting one byte pattern.
"""

from __future__ import annotations

import numpy as np

from reclaimer.signals.ranges.history import Array

MAX_DIGITS = 15  # 10^15 < 2^53: every such integer is exact in float64
_QUOTE, _DOT, _ZERO = ord('"'), ord("."), ord("0")


def values(points: bytes) -> Array | None:
    """Each point's value of ``[t,"v"],[t,"v"],...`` (the quoted fields), or None
    where some value is not a plain decimal of at most 15 digits."""
    buf = np.frombuffer(points, dtype=np.uint8)
    quotes = np.flatnonzero(buf == _QUOTE)
    if quotes.size == 0 or quotes.size % 2:
        return None
    start, length = quotes[0::2] + 1, quotes[1::2] - quotes[0::2] - 1
    longest = int(length.max())
    if int(length.min()) < 1 or longest > MAX_DIGITS + 1:
        return None
    number = np.zeros(start.size, dtype=np.int64)
    digits = np.zeros(start.size, dtype=np.int64)
    after = np.full(start.size, -1, dtype=np.int64)  # digits after the dot; -1: no dot
    for position in range(longest):
        inside = length > position
        byte = buf[np.where(inside, start + position, 0)].astype(np.int64)
        dot = inside & (byte == _DOT)
        digit = inside & ~dot
        if (dot & (after >= 0)).any() or ((byte < _ZERO) | (byte > _ZERO + 9))[digit].any():
            return None
        number = np.where(digit, number * 10 + (byte - _ZERO), number)
        digits += digit
        after = np.where(dot, 0, np.where(digit & (after >= 0), after + 1, after))
    if int(digits.min()) < 1 or int(digits.max()) > MAX_DIGITS:
        return None
    result: Array = number / np.power(10.0, np.maximum(after, 0))
    return result


def constant(points: bytes, size: int) -> float | None:
    """The value every one of ``size`` points has, or None. Each point holds ``,"`` once,
    right before its value, so ``size`` matches of ``,"v"]`` mean every value is v."""
    start = points.find(b',"')
    end = points.find(b'"]', start + 2)
    if start < 0 or end < 0:
        return None
    text = points[start + 2:end]
    if points.count(b',"' + text + b'"]') != size:
        return None
    try:
        return float(text)
    except ValueError:
        return None
