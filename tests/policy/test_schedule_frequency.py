"""Issue 13 case 8: a schedule whose edges come more often than every 15 minutes is a
policy error, named at the field; the rest keep a cheap edge memo."""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.errors import PolicyInvalid
from reclaimer.policy.schema import parse_policy


def _doc(*windows: tuple[str, str]) -> dict[str, Any]:
    return {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
            "metadata": {"name": "p", "namespace": "team-a"},
            "spec": {"timeZone": "Europe/Berlin",
                     "schedule": [{"start": a, "stop": b} for a, b in windows]}}


@pytest.mark.parametrize(("windows", "field"), [
    pytest.param([("* * * * *", "0 19 * * *")], "spec.schedule[0].start", id="minutely"),
    pytest.param([("0 8 * * *", "*/5 * * * *")], "spec.schedule[0].stop", id="every-5m"),
    pytest.param([("0,10 8 * * *", "0 19 * * *")], "spec.schedule[0].start", id="two-in-10m"),
    pytest.param([("5,55 8,9 * * *", "0 19 * * *")], "spec.schedule[0].start",
                 id="across-the-hour"),
    pytest.param([("55 23 * * *", "5 0 * * *")], "spec.schedule[0].start",
                 id="across-midnight"),
    pytest.param([("0 8 * * *", "5 8 * * *")], "spec.schedule[0].start", id="start-then-stop"),
    pytest.param([("0 8 * * mon", "0 19 * * mon"), ("10 19 * * mon", "0 23 * * mon")],
                 "spec.schedule[0].stop", id="two-windows"),
])
def test_case8_edges_closer_than_15_minutes_are_a_policy_error(
        windows: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(PolicyInvalid) as invalid:
        parse_policy(_doc(*windows), source="ReclaimPolicy team-a/p", index=0, cluster=True)
    assert invalid.value.field == field
    assert "at most one edge per 15 minutes" in invalid.value.message
    assert "\n" not in str(invalid.value)


@pytest.mark.parametrize("windows", [
    pytest.param([("0 8 * * mon-fri", "0 19 * * mon-fri")], id="office-hours"),
    pytest.param([("*/15 * * * *", "0 3 1 1 *")], id="every-15m-is-the-limit"),
    pytest.param([("0 8 * * mon", "5 8 * * tue")], id="close-times-on-other-days"),
    pytest.param([("0 8 * * *", "0 12 * * *"), ("0 12 * * *", "0 19 * * *")],
                 id="back-to-back-windows-coincide"),
    pytest.param([("0 8 1 * *", "5 8 2 * *")], id="close-times-on-other-days-of-month"),
])
def test_case8_schedules_at_most_one_edge_per_15_minutes_are_valid(
        windows: list[tuple[str, str]]) -> None:
    policy = parse_policy(_doc(*windows), source="ReclaimPolicy team-a/p", index=0, cluster=True)
    assert len(policy.schedule) == len(windows)


def test_too_frequent_names_nothing_for_an_hourly_cron() -> None:
    from reclaimer.policy.frequency import too_frequent  # noqa: PLC0415 - new in this fix

    assert too_frequent([("a", "0 * * * *"), ("b", "30 * * * *")]) is None
