"""The memoised edges equal the direct computation (DST days included), are computed
once per schedule and span, and give the same next due edge as the edge-by-edge search."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaimer.model import DecideSettings, Edge, LedgerView, Policy, Window
from reclaimer.policy import decide, schedule
from reclaimer.policy.context import Tick
from reclaimer.policy.schedule import cached_edges_between, edges_between, next_edge
from tests.policy.test_schedule_properties import instants
from tests.policy.test_schedule_properties import policies as schedule_policies

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


@settings(max_examples=60, deadline=None)
@given(plan=schedule_policies(), start=instants, span_hours=st.integers(1, 24 * 10))
def test_cached_edges_equal_direct_edges_for_any_schedule(plan: Policy, start: datetime,
                                                          span_hours: int) -> None:
    end = start + timedelta(hours=span_hours)
    assert cached_edges_between(plan, start, end) == edges_between(plan, start, end)


def test_policies_sharing_a_schedule_get_their_own_edges() -> None:
    one, other = _policy("Europe/Berlin", CRONS[0]), replace(_policy("Europe/Berlin", CRONS[0]),
                                                            name="other")
    start, end = BASE, BASE + timedelta(days=3)
    assert cached_edges_between(other, start, end) == edges_between(other, start, end)
    assert {e.policy for e in cached_edges_between(one, start, end)} == {"p"}


@pytest.fixture
def computations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[datetime, datetime]]]:
    """The spans the memo computes, from an empty memo."""
    spans: list[tuple[datetime, datetime]] = []

    def spy(policy: Policy, start: datetime, end: datetime) -> list[Edge]:
        spans.append((start, end))
        return edges_between(policy, start, end)

    schedule.clear()
    monkeypatch.setattr(schedule, "edges_between", spy)
    yield spans
    schedule.clear()


HORIZON = timedelta(days=8)


@pytest.mark.parametrize("policies", [pytest.param(1, id="one"), pytest.param(30, id="thirty")])
def test_a_cold_horizon_is_one_computation_per_schedule(
        computations: list[tuple[datetime, datetime]], policies: int) -> None:
    now = BASE + timedelta(hours=17)
    for i in range(policies):
        cached_edges_between(replace(_policy("Europe/Berlin", CRONS[0]), name=f"p{i}"),
                             now - HORIZON, now)
    assert len(computations) == 1


@pytest.mark.parametrize(("later", "expected"), [
    pytest.param(timedelta(minutes=30), 0, id="same-day"),
    pytest.param(timedelta(days=1), 0, id="next-day-computed-ahead"),
    pytest.param(schedule.AHEAD, 0, id="last-day-computed-ahead"),
    pytest.param(schedule.AHEAD + timedelta(days=1), 1, id="beyond-adds-one-span"),
])
def test_later_ticks_compute_only_new_days(computations: list[tuple[datetime, datetime]],
                                           later: timedelta, expected: int) -> None:
    policy, now = _policy("Europe/Berlin", CRONS[0]), BASE + timedelta(hours=17)
    cached_edges_between(policy, now - HORIZON, now)
    cached_edges_between(policy, now + later - HORIZON, now + later)
    assert len(computations) == 1 + expected


@settings(max_examples=60, deadline=None)
@given(plan=schedule_policies(), now=instants,
       lead=st.sampled_from([timedelta(0), timedelta(minutes=10), timedelta(hours=3)]))
def test_next_due_edge_from_the_memo_equals_the_search(plan: Policy, now: datetime,
                                                       lead: timedelta) -> None:
    tick = Tick(now=now, signals={}, ledger=LedgerView(),
                settings=DecideSettings(start_lead_time=lead))
    assert decide.next_due_edge(plan, tick) == decide._search(plan, tick)


@pytest.mark.parametrize("crons", [
    pytest.param(("0 8 1 * *", "0 19 1 * *"), id="monthly-beyond-the-memo"),
    pytest.param(("0 8 29 2 *", "0 19 29 2 *"), id="leap-day"),
])
def test_next_due_edge_searches_beyond_the_memo(crons: tuple[str, str]) -> None:
    tick = Tick(now=BASE, signals={}, ledger=LedgerView(), settings=DecideSettings())
    plan = _policy("Europe/Berlin", crons)
    assert decide.next_due_edge(plan, tick) == next_edge(plan, BASE)
