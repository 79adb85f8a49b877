"""The write guard asks the ledger's schema once per tick, and says a change once.

The schema answers here are literal strings in a list (what `schema_refusal` returns);
the real stores' answers are tests/ledger/test_schema_fence.py, and the running service
under a moved schema is tests/e2e/test_schema_moved_under_the_leader.py.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.service.app import readiness_of
from reclaimer.service.http import Readiness
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import WriteGuard

pytestmark = pytest.mark.timeout(30)
AHEAD = "the ledger's schema is at 0005, newer than this release's 0004: ..."
NOW = datetime(2030, 4, 10, 17, 0, tzinfo=UTC)


class Answers:
    """The schema's answer at each read, in turn; counts the reads."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.reads = 0

    def __call__(self) -> str | None:
        self.reads += 1
        return self.answers.pop(0)


def _guard(answers: Answers) -> WriteGuard:
    return WriteGuard(AlwaysLeader(), stopping=threading.Event(), budget=math.inf,
                      metrics=ServiceMetrics(), schema=answers)


def test_the_schema_is_read_once_per_tick_however_many_chunks_ask() -> None:
    answers = Answers(None, AHEAD)
    guard = _guard(answers)
    said = []
    for _ in range(2):
        guard.begin_tick()
        said.append([guard() for _ in range(3)])
    assert (said, answers.reads) == ([[None] * 3, [AHEAD] * 3], 2)


def test_a_refusal_is_logged_once_while_it_lasts_and_its_end_once(
        caplog: pytest.LogCaptureFixture) -> None:
    guard = _guard(Answers(AHEAD, AHEAD, AHEAD, None, None))
    with caplog.at_level(logging.INFO, logger="reclaimer.service"):
        for _ in range(5):
            guard.begin_tick()
            guard()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"no writes: {AHEAD}"),
        ("INFO", "the ledger's schema is this release's again: writing again")]


def test_the_guard_keeps_the_last_ticks_answer_for_readiness() -> None:
    guard = _guard(Answers(AHEAD))
    guard.begin_tick()
    guard()
    assert guard.schema_refusal == AHEAD


@pytest.mark.parametrize(("last", "expected"), [
    pytest.param(NOW - timedelta(seconds=30), Readiness(False, "leader", 30.0, AHEAD),
                 id="ticking"),
    pytest.param(None, Readiness(False, "leader", None, f"{AHEAD}; no tick yet"),
                 id="no-tick-yet"),
])
def test_a_leader_that_may_not_write_is_not_ready_and_says_why(
        last: datetime | None, expected: Readiness) -> None:
    assert readiness_of("leader", last, now=NOW, tick=timedelta(seconds=30), slow=None,
                        refusal=AHEAD) == expected
