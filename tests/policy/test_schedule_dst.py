"""DST rules of docs/design.md §3.1 with literal instants, for zones north, south and without DST.

Transition days used (2026): Europe/Berlin Mar 29 / Oct 25 (repeated hour 02:00-03:00);
America/New_York Mar 8 / Nov 1 (repeated hour 01:00-02:00); Australia/Sydney Oct 4
(DST starts) / Apr 5 (DST ends, repeated 02:00-03:00); Australia/Lord_Howe Oct 4 (a
30-minute jump); Asia/Kolkata never changes (+05:30); Pacific/Apia skipped 2011-12-30
when it moved across the date line (-10:00 to +14:00).
"""

from __future__ import annotations

import pytest

from reclaimer.model import Action
from reclaimer.policy.schedule import edges_between
from tests.policy.scheduling import policy, utc

RARE_STOP = "0 0 1 1 *"


def start_instants(zone: str, expression: str, lo: str, hi: str) -> list[str]:
    edges = edges_between(policy(zone, (expression, RARE_STOP)), utc(lo), utc(hi))
    return [e.at.strftime("%Y-%m-%dT%H:%M") for e in edges if e.action is Action.START]


@pytest.mark.parametrize(("zone", "expression", "lo", "hi", "expected"), [
    pytest.param("Europe/Berlin", "30 2 * * *", "2026-03-28T12:00", "2026-03-29T12:00",
                 ["2026-03-29T01:00"], id="berlin-spring-gap-fires-at-03:00-CEST"),
    pytest.param("Europe/Berlin", "30 2 * * *", "2026-10-24T12:00", "2026-10-25T12:00",
                 ["2026-10-25T00:30"], id="berlin-fall-repeated-fires-once-at-first"),
    pytest.param("Europe/Berlin", "30 2 * * *", "2026-03-27T12:00", "2026-03-28T12:00",
                 ["2026-03-28T01:30"], id="berlin-day-before-spring-is-CET"),
    pytest.param("Europe/Berlin", "30 2 * * *", "2026-03-29T12:00", "2026-03-30T12:00",
                 ["2026-03-30T00:30"], id="berlin-day-after-spring-is-CEST"),
    pytest.param("America/New_York", "30 2 * * *", "2026-03-07T18:00", "2026-03-08T18:00",
                 ["2026-03-08T07:00"], id="newyork-spring-gap-fires-at-03:00-EDT"),
    pytest.param("America/New_York", "30 2 * * *", "2026-10-31T18:00", "2026-11-01T18:00",
                 ["2026-11-01T07:30"], id="newyork-fall-02:30-is-not-repeated"),
    pytest.param("America/New_York", "30 1 * * *", "2026-10-31T18:00", "2026-11-01T18:00",
                 ["2026-11-01T05:30"], id="newyork-fall-01:30-fires-once-in-EDT"),
    pytest.param("Australia/Sydney", "30 2 * * *", "2026-10-03T06:00", "2026-10-04T06:00",
                 ["2026-10-03T16:00"], id="sydney-october-gap-fires-at-03:00-AEDT"),
    pytest.param("Australia/Sydney", "30 2 * * *", "2026-04-04T06:00", "2026-04-05T06:00",
                 ["2026-04-04T15:30"], id="sydney-april-repeated-fires-once-in-AEDT"),
    pytest.param("Australia/Lord_Howe", "15 2 * * *", "2026-10-03T06:00", "2026-10-04T06:00",
                 ["2026-10-03T15:30"], id="lord-howe-half-hour-gap-fires-at-02:30"),
    pytest.param("Asia/Kolkata", "30 2 * * *", "2026-03-28T12:00", "2026-03-29T12:00",
                 ["2026-03-28T21:00"], id="kolkata-no-dst-on-berlin-spring-day"),
    pytest.param("Asia/Kolkata", "30 2 * * *", "2026-10-24T12:00", "2026-10-25T12:00",
                 ["2026-10-24T21:00"], id="kolkata-no-dst-on-berlin-fall-day"),
    pytest.param("Asia/Kolkata", "0 9 * * *", "2026-06-01T00:00", "2026-06-01T12:00",
                 ["2026-06-01T03:30"], id="kolkata-half-hour-offset"),
    pytest.param("Pacific/Apia", "0 12 * * *", "2011-12-29T00:00", "2011-12-31T00:00",
                 ["2011-12-29T22:00", "2011-12-30T10:00", "2011-12-30T22:00"],
                 id="apia-skipped-day-fires-when-the-next-day-begins"),
])
def test_fixed_local_time_on_transition_days(
    zone: str, expression: str, lo: str, hi: str, expected: list[str]
) -> None:
    assert start_instants(zone, expression, lo, hi) == expected


QUARTERS_0000_TO_0200 = ["2026-10-25T00:00", "2026-10-25T00:15", "2026-10-25T00:30",
                         "2026-10-25T00:45", "2026-10-25T01:00", "2026-10-25T01:15",
                         "2026-10-25T01:30", "2026-10-25T01:45", "2026-10-25T02:00"]


@pytest.mark.parametrize(("zone", "expression", "lo", "hi", "expected"), [
    pytest.param("Europe/Berlin", "*/15 * * * *", "2026-10-24T23:50", "2026-10-25T02:10",
                 QUARTERS_0000_TO_0200, id="berlin-every-15m-keeps-rhythm-through-repeat"),
    pytest.param("America/New_York", "*/15 * * * *", "2026-11-01T04:50", "2026-11-01T06:20",
                 ["2026-11-01T05:00", "2026-11-01T05:15", "2026-11-01T05:30",
                  "2026-11-01T05:45", "2026-11-01T06:00", "2026-11-01T06:15"],
                 id="newyork-every-15m-fires-in-both-passes"),
    pytest.param("Australia/Sydney", "*/30 * * * *", "2026-04-04T14:50", "2026-04-04T17:10",
                 ["2026-04-04T15:00", "2026-04-04T15:30", "2026-04-04T16:00",
                  "2026-04-04T16:30", "2026-04-04T17:00"],
                 id="sydney-every-30m-fires-in-both-passes"),
    pytest.param("Europe/Berlin", "*/15 2 * * *", "2026-10-24T23:50", "2026-10-25T02:10",
                 ["2026-10-25T00:00", "2026-10-25T00:15", "2026-10-25T00:30",
                  "2026-10-25T00:45"], id="berlin-fixed-hour-quarters-fire-once"),
    pytest.param("Europe/Berlin", "*/15 * * * *", "2026-03-29T00:20", "2026-03-29T01:40",
                 ["2026-03-29T00:30", "2026-03-29T00:45", "2026-03-29T01:00",
                  "2026-03-29T01:15", "2026-03-29T01:30"],
                 id="berlin-every-15m-gap-matches-collapse-into-03:00"),
    pytest.param("America/New_York", "*/20 * * * *", "2026-03-08T06:30", "2026-03-08T07:30",
                 ["2026-03-08T06:40", "2026-03-08T07:00", "2026-03-08T07:20"],
                 id="newyork-every-20m-gap-matches-collapse"),
])
def test_frequent_expressions_around_transitions(
    zone: str, expression: str, lo: str, hi: str, expected: list[str]
) -> None:
    assert start_instants(zone, expression, lo, hi) == expected


@pytest.mark.parametrize(("zone", "day", "lo", "hi", "expected"), [
    pytest.param("Europe/Berlin", "2026-03-29", "2026-03-28T12:00", "2026-03-29T12:00",
                 [], id="berlin-spring-exception-on-gap-day"),
    pytest.param("Europe/Berlin", "2026-10-25", "2026-10-24T12:00", "2026-10-25T12:00",
                 [], id="berlin-fall-exception-skips-both-occurrences"),
    pytest.param("Europe/Berlin", "2026-10-24", "2026-10-24T12:00", "2026-10-25T12:00",
                 ["2026-10-25T00:30"], id="berlin-exception-other-day-no-effect"),
    pytest.param("Australia/Sydney", "2026-10-04", "2026-10-03T06:00", "2026-10-04T06:00",
                 [], id="sydney-exception-is-a-local-date"),
])
def test_except_dates_are_local_dates(
    zone: str, day: str, lo: str, hi: str, expected: list[str]
) -> None:
    plan = policy(zone, ("30 2 * * *", RARE_STOP), except_dates=(day,))
    edges = edges_between(plan, utc(lo), utc(hi))
    assert [e.at.strftime("%Y-%m-%dT%H:%M") for e in edges] == expected


@pytest.mark.parametrize(("zone", "lo", "hi", "expected"), [
    pytest.param("Europe/Berlin", "2026-03-28T12:00", "2026-03-29T12:00",
                 [("2026-03-29T01:00", Action.STOP)], id="berlin-window-inside-gap-is-empty"),
    pytest.param("America/New_York", "2026-03-07T18:00", "2026-03-08T18:00",
                 [("2026-03-08T07:00", Action.STOP)], id="newyork-window-inside-gap-is-empty"),
    pytest.param("Europe/Berlin", "2026-10-24T12:00", "2026-10-25T12:00",
                 [("2026-10-25T00:30", Action.START), ("2026-10-25T00:45", Action.STOP)],
                 id="berlin-window-in-repeated-hour-runs-once"),
])
def test_window_inside_transition(
    zone: str, lo: str, hi: str, expected: list[tuple[str, Action]]
) -> None:
    plan = policy(zone, ("30 2 * * *", "45 2 * * *"))
    edges = edges_between(plan, utc(lo), utc(hi))
    assert [(e.at.strftime("%Y-%m-%dT%H:%M"), e.action) for e in edges] == expected
