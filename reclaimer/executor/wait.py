"""Bounded waiting for one transition's verification, for `reclaimer stop/start`.

The service never waits (verification runs once per tick for everything at once); a
person at a terminal wants the answer, so the CLI polls the same follow-up step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import Outcome


def wait_verified(executor: Executor, outcome: Outcome, *, now: Callable[[], datetime],
                  timeout: float, poll: float = 1.0,
                  sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """The final outcome of ``outcome``'s record, or ``outcome`` itself on timeout."""
    deadline = time.monotonic() + timeout
    while outcome.record_id is not None:
        for done in executor.follow_up(at=now()):
            if done.record_id == outcome.record_id:
                return done
        if time.monotonic() >= deadline:
            return outcome
        sleep(poll)
    return outcome
