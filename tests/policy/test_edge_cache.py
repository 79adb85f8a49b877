"""The per-day memoised edges equal the direct computation, DST days included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaimer.model import Policy, Window
from reclaimer.policy.edge_cache import cached_edges_between
from reclaimer.policy.schedule import edges_between

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
CRONS = [("0 8 * * mon-fri", "0 19 * * mon-fri"), ("30 2 * * *", "0 4 * * *"),
         ("*/15 1-3 * * sun", "50 3 * * sun")]
BASE = datetime(2026, 3, 20, tzinfo=UTC)


def _policy(zone: str, crons: tuple[str, str]) -> Policy:
    return Policy(name="p", namespace=None, source="test", time_zone=zone,
                  schedule=(Window(start=crons[0], stop=crons[1]),))


@settings(max_examples=40, deadline=None)
@given(zone=st.sampled_from(ZONES), crons=st.sampled_from(CRONS),
       start_minutes=st.integers(0, 60 * 24 * 240), span_minutes=st.integers(1, 60 * 24 * 9))
def test_cached_edges_equal_direct_edges(zone: str, crons: tuple[str, str],
                                         start_minutes: int, span_minutes: int) -> None:
    policy = _policy(zone, crons)
    start = BASE + timedelta(minutes=start_minutes)
    end = start + timedelta(minutes=span_minutes)
    assert cached_edges_between(policy, start, end) == edges_between(policy, start, end)


@pytest.mark.parametrize(("start", "end"), [
    pytest.param(BASE, BASE, id="empty-range"),
    pytest.param(BASE + timedelta(days=1), BASE, id="reversed-range"),
])
def test_degenerate_ranges_have_no_edges(start: datetime, end: datetime) -> None:
    assert cached_edges_between(_policy("Europe/Berlin", CRONS[0]), start, end) == []
