"""Retry policy for one API call: backoff for 5xx, the server's Retry-After for 429.

Anything else (409, 404, no answer) is returned to the executor at once: a conflict is
re-read on the next tick, and an unreachable API server must not be hammered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reclaimer.errors import ServerError, TooManyRequests

T = TypeVar("T")
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 0.5
    max_retry_after: float = 10.0
    """A longer Retry-After is not slept through inline; the call waits for a later tick."""

    def run(self, call: Callable[[], T], *, sleep: Sleep) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except TooManyRequests as exc:
                if attempt == self.attempts or exc.retry_after > self.max_retry_after:
                    raise
                sleep(exc.retry_after)
            except ServerError:
                if attempt == self.attempts:
                    raise
                sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")
