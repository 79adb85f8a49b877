"""Give back to the system the memory a tick's phases freed (glibc's ``malloc_trim``).

An evaluation at 10,000 ISVCs decodes 10-15 MB of answers on the Prometheus threads
and the act phase PATCHes on eight more; glibc keeps what each thread's arena freed,
so the resident size climbs from tick to tick until every arena holds its own
high-water mark (benchmarks/RESULTS.md: 220 → 247 MiB over six steady ticks, and about
30 MiB less with ``MALLOC_ARENA_MAX=2``). ``malloc_trim(0)`` returns the free pages
of every arena (glibc 2.8+) in a few milliseconds, so the next phase starts from what
is live, not from the last peak; the arena cap in the image stays as headroom. On a C
library without it (musl) this does nothing.

`tune_collector` sets the cyclic garbage collector's thresholds once at start. With
Python's defaults (a young collection every 700 net container allocations) a tick's
short-lived objects (LIST items, answer rows, ORM rows) are promoted in bulk and set
off full collections over the whole heap: 4-5 a steady tick at 10,000 ISVCs, 8 at
50,000 (3.5-5.6 s of a 44 s tick there; benchmarks/RESULTS.md). A young generation of
50,000 lets them die first; full collections still come, ticks apart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

GC_THRESHOLDS = (50_000, 20, 10)


def _trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _trim()


def release() -> bool:
    """Free pages back to the system; False where the C library cannot."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


def tune_collector() -> None:
    """`GC_THRESHOLDS` for the whole process (`reclaimer run` at start)."""
    gc.set_threshold(*GC_THRESHOLDS)
