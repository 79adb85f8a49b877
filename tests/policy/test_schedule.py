"""Schedule rules (docs/design.md §3.1) with literal instants; DST cases: test_schedule_dst."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reclaimer.model import Action, Edge, Policy
from reclaimer.policy.schedule import edges_between, next_edge, previous_edge, window_open
from tests.policy.scheduling import policy, utc

RARE_STOP = "0 4 1 1 *"
OFFICE = ("0 8 * * mon-fri", "0 19 * * mon-fri")


def stamps(edges: list[Edge]) -> list[tuple[str, str]]:
    return [(e.at.strftime("%Y-%m-%dT%H:%M"), e.action.value) for e in edges]


# 2026-01-03 is a Saturday; Berlin is UTC+1 in January.
@pytest.mark.parametrize(("expression", "expected"), [
    pytest.param("0 3 * * 0", "2026-01-04T02:00", id="0-is-sunday"),
    pytest.param("0 3 * * 7", "2026-01-04T02:00", id="7-is-sunday"),
    pytest.param("0 3 * * sun", "2026-01-04T02:00", id="sun-name"),
    pytest.param("0 3 * * 1-5", "2026-01-05T02:00", id="1-5-starts-monday"),
    pytest.param("0 3 * * mon-fri", "2026-01-05T02:00", id="mon-fri-name"),
    pytest.param("0 3 * * 1", "2026-01-05T02:00", id="1-is-monday"),
    pytest.param("0 3 * * 6", "2026-01-10T02:00", id="6-is-saturday-next-week"),
    pytest.param("0 3 * * 5-7", "2026-01-04T02:00", id="5-7-includes-sunday"),
    pytest.param("0 3 * * 0,6", "2026-01-04T02:00", id="weekend-list"),
    pytest.param("0 3 6 * mon", "2026-01-05T02:00", id="day-of-month-or-day-of-week"),
])
def test_numeric_day_of_week_follows_cron(expression: str, expected: str) -> None:
    edge = next_edge(policy("Europe/Berlin", (expression, RARE_STOP)), utc("2026-01-03T12:00"))
    assert edge is not None
    assert (edge.at.strftime("%Y-%m-%dT%H:%M"), edge.action) == (expected, Action.START)


# Week of Mon 2026-03-30 .. Sun 2026-04-05 in Berlin (CEST, UTC+2).
@pytest.mark.parametrize(("windows", "lo", "hi", "expected"), [
    pytest.param([OFFICE], "2026-03-30T00:00", "2026-03-31T00:00",
                 [("2026-03-30T06:00", "start"), ("2026-03-30T17:00", "stop")],
                 id="office-hours-weekday"),
    pytest.param([OFFICE], "2026-04-04T00:00", "2026-04-06T00:00", [],
                 id="office-hours-weekend-has-no-edges"),
    pytest.param([OFFICE, ("0 10 * * *", "0 14 * * *")], "2026-03-30T00:00", "2026-03-31T00:00",
                 [("2026-03-30T06:00", "start"), ("2026-03-30T08:00", "start"),
                  ("2026-03-30T17:00", "stop")],
                 id="overlapping-window-end-does-not-stop"),
    pytest.param([OFFICE, ("0 10 * * *", "0 14 * * *")], "2026-04-04T00:00", "2026-04-05T00:00",
                 [("2026-04-04T08:00", "start"), ("2026-04-04T12:00", "stop")],
                 id="second-window-alone-on-saturday"),
    pytest.param([("0 8 * * *", "0 12 * * *"), ("0 12 * * *", "0 19 * * *")],
                 "2026-03-30T00:00", "2026-03-31T00:00",
                 [("2026-03-30T06:00", "start"), ("2026-03-30T10:00", "start"),
                  ("2026-03-30T17:00", "stop")],
                 id="back-to-back-windows-start-wins"),
    pytest.param([("0 8 * * *", "0 8 * * *")], "2026-03-30T00:00", "2026-03-31T00:00",
                 [("2026-03-30T06:00", "stop")], id="own-start-and-stop-coincide-closed"),
    pytest.param([("0 8 * * mon-fri", "0 19 * * fri")], "2026-03-30T00:00", "2026-04-04T00:00",
                 [("2026-03-30T06:00", "start"), ("2026-03-31T06:00", "start"),
                  ("2026-04-01T06:00", "start"), ("2026-04-02T06:00", "start"),
                  ("2026-04-03T06:00", "start"), ("2026-04-03T17:00", "stop")],
                 id="repeated-starts-reassert"),
    pytest.param([OFFICE], "2026-03-30T06:00", "2026-03-30T17:00",
                 [("2026-03-30T17:00", "stop")], id="start-exclusive-end-inclusive"),
])
def test_edges_of_merged_windows(
    windows: list[tuple[str, str]], lo: str, hi: str, expected: list[tuple[str, str]]
) -> None:
    assert stamps(edges_between(policy("Europe/Berlin", *windows), utc(lo), utc(hi))) == expected


THANKSGIVING = policy("America/New_York", ("0 8 * * 1-5", "0 18 * * 1-5"),
                      except_dates=("2026-11-26",))


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    pytest.param("2026-11-26T05:00", "2026-11-27T05:00", [("2026-11-26T23:00", "stop")],
                 id="holiday-skips-start-keeps-stop"),
    pytest.param("2026-11-27T05:00", "2026-11-28T05:00",
                 [("2026-11-27T13:00", "start"), ("2026-11-27T23:00", "stop")],
                 id="day-after-holiday-normal"),
])
def test_except_dates_skip_start_edges(lo: str, hi: str, expected: list[tuple[str, str]]) -> None:
    assert stamps(edges_between(THANKSGIVING, utc(lo), utc(hi))) == expected


@pytest.mark.parametrize(("plan", "at", "expected"), [
    pytest.param(policy("Europe/Berlin", OFFICE), "2026-03-30T10:00", True, id="inside"),
    pytest.param(policy("Europe/Berlin", OFFICE), "2026-03-30T06:00", True, id="at-start"),
    pytest.param(policy("Europe/Berlin", OFFICE), "2026-03-30T17:00", False, id="at-stop"),
    pytest.param(policy("Europe/Berlin", OFFICE), "2026-04-04T10:00", False, id="weekend"),
    pytest.param(THANKSGIVING, "2026-11-26T17:00", False, id="holiday-stays-closed"),
    pytest.param(policy("Europe/Berlin", ("0 8 1 * *", "0 8 15 * *")), "2026-03-10T00:00", True,
                 id="monthly-window-open"),
    pytest.param(policy("Europe/Berlin", ("0 8 1 * *", "0 8 15 * *")), "2026-03-20T00:00",
                 False, id="monthly-window-closed"),
    pytest.param(policy("UTC", ("0 0 1 1 *", "0 0 1 7 *")), "2026-06-30T00:00", True,
                 id="yearly-window-open"),
    pytest.param(policy("UTC", ("0 0 29 2 *", "0 0 1 3 *")), "2028-02-29T12:00", True,
                 id="leap-day-window-open"),
    pytest.param(policy(None), "2026-03-30T10:00", None, id="no-schedule-is-none"),
])
def test_window_open(plan: Policy, at: str, expected: bool | None) -> None:
    assert window_open(plan, utc(at)) is expected


@pytest.mark.parametrize(("windows", "at", "expected"), [
    pytest.param([OFFICE], "2026-03-30T06:00", ("2026-03-30T06:00", "start"), id="inclusive"),
    pytest.param([OFFICE], "2026-04-05T12:00", ("2026-04-03T17:00", "stop"), id="over-weekend"),
    pytest.param([("0 8 1 * *", "0 8 15 * *")], "2026-03-10T00:00", ("2026-03-01T07:00", "start"),
                 id="monthly"),
    pytest.param([("0 0 1 1 *", "0 0 2 7 *")], "2026-06-30T00:00", ("2025-12-31T23:00", "start"),
                 id="yearly"),
    pytest.param([("0 0 29 2 *", "0 0 1 3 *")], "2027-12-01T00:00", ("2027-02-28T23:00", "stop"),
                 id="leap-day-stop"),
    pytest.param([("0 0 29 2 *", "0 1 29 2 *")], "2027-12-01T00:00", ("2024-02-29T00:00", "stop"),
                 id="leap-day-years-back"),
])
def test_previous_edge_looks_back_far(
    windows: list[tuple[str, str]], at: str, expected: tuple[str, str]
) -> None:
    edge = previous_edge(policy("Europe/Berlin", *windows), utc(at))
    assert edge is not None
    assert stamps([edge]) == [expected]


@pytest.mark.parametrize(("windows", "after", "expected"), [
    pytest.param([OFFICE], "2026-03-30T06:00", ("2026-03-30T17:00", "stop"), id="exclusive"),
    pytest.param([OFFICE], "2026-04-03T17:00", ("2026-04-06T06:00", "start"), id="over-weekend"),
    pytest.param([("0 0 1 1 *", "0 0 2 7 *")], "2026-07-03T00:00", ("2026-12-31T23:00", "start"),
                 id="yearly"),
])
def test_next_edge_looks_ahead_far(
    windows: list[tuple[str, str]], after: str, expected: tuple[str, str]
) -> None:
    edge = next_edge(policy("Europe/Berlin", *windows), utc(after))
    assert edge is not None
    assert stamps([edge]) == [expected]


@pytest.mark.parametrize("call", [
    pytest.param(lambda p: edges_between(p, utc("2026-01-01T00:00"), utc("2026-02-01T00:00")),
                 id="edges_between"),
    pytest.param(lambda p: previous_edge(p, utc("2026-01-01T00:00")), id="previous_edge"),
    pytest.param(lambda p: next_edge(p, utc("2026-01-01T00:00")), id="next_edge"),
])
def test_policy_without_schedule_has_no_edges(call: Callable[[Policy], Any]) -> None:
    assert call(policy(None)) in ([], None)


def test_edges_are_utc_and_carry_the_policy_key() -> None:
    plan = policy("Asia/Kolkata", OFFICE, namespace="team-a")
    local_lo = datetime(2026, 3, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    edge = next_edge(plan, local_lo)
    assert edge == Edge(utc("2026-03-30T02:30"), Action.START, "team-a/p")
    assert edge.at.tzinfo is UTC


def test_expression_that_never_fires_has_no_edges() -> None:
    plan = policy("UTC", ("0 8 30 2 *", "0 9 30 2 *"))
    assert edges_between(plan, utc("2026-01-01T00:00"), utc("2027-01-01T00:00")) == []


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        edges_between(policy("UTC", OFFICE), datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_no_code_uses_apscheduler_from_crontab() -> None:
    """docs/design.md §3.1: it reads numeric day-of-week with 0 = Monday (tooling.md §1)."""
    package = Path(__file__).parents[2] / "reclaimer"
    assert [p.name for p in package.rglob("*.py") if "from_crontab" in p.read_text()] == []
