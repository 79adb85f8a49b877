"""Notices in the ledger (issue 19): a StopPlanned notice is claimed once, in every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.ledger import Ledger
from reclaimer.ledger.records import NoticeRecord
from reclaimer.model import ServiceRef, Trigger

pytestmark = pytest.mark.timeout(30)

REF = ServiceRef("team-a", "llama")
EDGE = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)


def notice(at: datetime = EDGE, *, trigger: Trigger = Trigger.SCHEDULE) -> NoticeRecord:
    return NoticeRecord(key=f"team-a/office|uid-1|{trigger.value}|{at.isoformat()}", ref=REF,
                        uid="uid-1", policy="team-a/office", trigger=trigger, at=at,
                        sent_at=at - timedelta(minutes=15))


def test_a_notice_is_claimed_once(ledger: Ledger) -> None:
    assert [ledger.record_notice(notice()), ledger.record_notice(notice())] == [True, False]
    assert ledger.notices(since=EDGE - timedelta(days=1)) == [notice()]


def test_notices_since_reads_planned_instants_from_there(ledger: Ledger) -> None:
    older, newer = notice(EDGE - timedelta(days=3)), notice(EDGE, trigger=Trigger.IDLE)
    for each in (newer, older):
        ledger.record_notice(each)
    assert ledger.notices(since=EDGE - timedelta(days=1)) == [newer]
    assert ledger.notices(since=EDGE - timedelta(days=4)) == [older, newer]
