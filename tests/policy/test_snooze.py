"""A snooze's bounds (`reclaimer.policy.snooze`): maxSnooze and the next start edge."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from reclaimer.errors import ArgumentInvalid
from reclaimer.model import Policy
from reclaimer.policy.snooze import bounded_snooze
from tests.policy.decide_builders import idle_only, office, t

pytestmark = pytest.mark.timeout(10)

EVENING = t("01-12 17:50")  # Monday 18:50 in Berlin


@pytest.mark.parametrize(("policy", "asked", "until", "cut"), [
    pytest.param(office(), t("01-12 20:00"), t("01-12 20:00"), None, id="two-hours-as-asked"),
    pytest.param(office(), t("01-13 12:00"), t("01-13 05:50"), "maxSnooze",
                 id="cut-to-12h"),
    pytest.param(replace(office(), max_snooze=timedelta(days=2)), t("01-13 12:00"),
                 t("01-13 07:00"), "start edge", id="cut-at-next-start"),
    pytest.param(None, t("01-13 12:00"), t("01-13 05:50"), "maxSnooze",
                 id="no-policy-default-12h"),
    pytest.param(idle_only(max_snooze=timedelta(hours=1)), t("01-12 20:00"),
                 t("01-12 18:50"), "maxSnooze", id="policy-max-1h"),
])
def test_snooze_bounds(policy: Policy | None, asked: datetime, until: datetime,
                       cut: str | None) -> None:
    got = bounded_snooze(asked, policy=policy, now=EVENING)
    assert got.until == until
    assert (got.cut is None) if cut is None else (cut in (got.cut or ""))


def test_snooze_in_the_past_names_until() -> None:
    with pytest.raises(ArgumentInvalid, match=r"^until: "):
        bounded_snooze(EVENING, policy=office(), now=EVENING)
