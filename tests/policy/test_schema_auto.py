"""``idle.after: auto`` and its bounds: accepted with defaults, refused in one line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reclaimer.errors import PolicyInvalid
from reclaimer.model import AutoIdle
from reclaimer.policy.schema import parse_policy
from tests.policy.test_schema import doc

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(("idle", "auto"), [
    pytest.param({"after": "auto"}, AutoIdle(), id="defaults-14d-10m-2h"),
    pytest.param({"after": "auto", "learnFrom": "7d", "autoMin": "5m", "autoMax": "1h"},
                 AutoIdle(learn_from=timedelta(days=7), auto_min=timedelta(minutes=5),
                          auto_max=timedelta(hours=1)), id="all-set"),
    pytest.param({"after": "auto", "autoMin": "2h"}, AutoIdle(auto_min=timedelta(hours=2)),
                 id="autoMin-equal-autoMax"),
])
def test_auto_accepted(idle: dict[str, Any], auto: AutoIdle) -> None:
    rule = parse_policy(doc(**{"spec.idle": idle}), source="p.yaml", index=1).idle
    assert rule is not None
    assert (rule.auto, rule.after) == (auto, auto.auto_max)  # after: autoMax until learned


@pytest.mark.parametrize(("idle", "field", "message"), [
    pytest.param({"after": "auto", "autoMin": "3h"}, "spec.idle.autoMin",
                 "3h is longer than autoMax 2h", id="autoMin-above-autoMax"),
    pytest.param({"after": "auto", "learnFrom": "1h"}, "spec.idle.learnFrom",
                 "1h is shorter than autoMax 2h", id="learnFrom-below-autoMax"),
    pytest.param({"after": "auto", "learnFrom": "40d"}, "spec.idle.learnFrom",
                 "40d is longer than 31d", id="learnFrom-over-a-month"),
    pytest.param({"after": "auto", "autoMin": "0s"}, "spec.idle.autoMin",
                 "must be longer than 0s", id="autoMin-zero"),
    pytest.param({"after": "auto", "autoMax": "2 hours"}, "spec.idle.autoMax",
                 '"2 hours" is not a duration', id="autoMax-not-a-duration"),
    pytest.param({"after": "30m", "learnFrom": "7d"}, "spec.idle.learnFrom",
                 "applies only with after: auto", id="learnFrom-with-fixed-after"),
    pytest.param({"after": "Auto"}, "spec.idle.after", '"Auto" is not a duration',
                 id="after-auto-is-lower-case"),
    pytest.param({"after": "auto", "autoMn": "5m"}, "spec.idle.autoMn",
                 'did you mean "autoMin"?', id="typo-suggested"),
])
def test_auto_refused(idle: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(doc(**{"spec.idle": idle}), source="p.yaml", index=1)
    assert raised.value.field == field
    assert message in raised.value.message
    assert "\n" not in str(raised.value)
