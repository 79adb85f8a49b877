"""Properties of schedule edges that must hold for any cron, zone and instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from reclaimer.model import Action, Policy
from reclaimer.policy.schedule import edges_between, next_edge, previous_edge, window_open
from tests.policy.scheduling import policy

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
         "Australia/Lord_Howe", "UTC"]
# Instants around 2026, including every transition day of the zones above.
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),
                        timezones=st.just(UTC))
minutes = st.sampled_from([0, 15, 30, 45])
hours = st.sampled_from(["*", "1", "2", "3", "8", "19", "1-3", "*/2"])
weekdays = st.sampled_from(["*", "1-5", "mon-fri", "0", "7", "6,0", "fri"])


@st.composite
def expressions(draw: st.DrawFn) -> str:
    return f"{draw(minutes)} {draw(hours)} * * {draw(weekdays)}"


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    count = draw(st.integers(min_value=1, max_value=3))
    windows = [(draw(expressions()), draw(expressions())) for _ in range(count)]
    return policy(draw(st.sampled_from(ZONES)), *windows)


PROPERTY = settings(max_examples=60, deadline=None)


@PROPERTY
@given(policies(), instants, st.integers(min_value=1, max_value=72))
def test_edges_are_strictly_increasing_utc(plan: Policy, start: datetime, hours_: int) -> None:
    edges = edges_between(plan, start, start + timedelta(hours=hours_))
    assert all(a.at < b.at for a, b in pairwise(edges))
    assert all(e.at.tzinfo is UTC for e in edges)


@PROPERTY
@given(policies(), instants, st.integers(min_value=1, max_value=48),
       st.integers(min_value=1, max_value=48))
def test_splitting_a_range_changes_nothing(
    plan: Policy, start: datetime, first: int, second: int
) -> None:
    middle, end = start + timedelta(hours=first), start + timedelta(hours=first + second)
    whole = edges_between(plan, start, end)
    assert whole == edges_between(plan, start, middle) + edges_between(plan, middle, end)


@PROPERTY
@given(policies(), instants)
def test_window_open_agrees_with_previous_edge(plan: Policy, at: datetime) -> None:
    latest = previous_edge(plan, at)
    assert window_open(plan, at) is (latest is not None and latest.action is Action.START)


@PROPERTY
@given(policies(), instants)
def test_next_edge_is_the_previous_edge_at_its_instant(plan: Policy, after: datetime) -> None:
    upcoming = next_edge(plan, after)
    assert upcoming is not None and upcoming.at > after
    assert previous_edge(plan, upcoming.at) == upcoming
    assert edges_between(plan, after, upcoming.at) == [upcoming]


@PROPERTY
@given(st.sampled_from(["Asia/Kolkata", "UTC"]), st.integers(0, 23), st.integers(0, 23),
       minutes, instants)
def test_one_daily_window_alternates_without_dst(
    zone: str, start_hour: int, stop_hour: int, minute: int, start: datetime
) -> None:
    if start_hour == stop_hour:
        stop_hour = (stop_hour + 1) % 24
    plan = policy(zone, (f"{minute} {start_hour} * * *", f"{minute} {stop_hour} * * *"))
    actions = [e.action for e in edges_between(plan, start, start + timedelta(days=5))]
    assert len(actions) == 10
    assert all(a is not b for a, b in pairwise(actions))
