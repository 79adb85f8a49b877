"""Give back to the system the memory a tick's phases freed (glibc's ``malloc_trim``).

An evaluation at 10,000 ISVCs decodes 10-15 MB of answers on the Prometheus threads
and the act phase PATCHes on eight more; glibc keeps what each thread's arena freed,
so the resident size climbs from tick to tick until every arena holds its own
high-water mark (benchmarks/RESULTS.md: 220 → 247 MiB over six steady ticks, and about
30 MiB less with ``MALLOC_ARENA_MAX=2``). ``malloc_trim(0)`` returns the free pages
of every arena (glibc 2.8+) in a few milliseconds, so the next phase starts from what
is live, not from the last peak; the arena cap in the image stays as headroom. On a C
library without it (musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


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
