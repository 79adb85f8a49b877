"""``spec.notify`` and ``spec.maxSnooze`` (issue 19): parsed values and one-line errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reclaimer.errors import PolicyInvalid
from reclaimer.model import DEFAULT_MAX_SNOOZE, Notify
from reclaimer.policy.schema import parse_policy
from reclaimer.policy.spec import schema

pytestmark = pytest.mark.timeout(10)


def doc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
            "metadata": {"name": "office", "namespace": "team-a"},
            "spec": {"idle": {"after": "30m"}, **spec}}


def test_notify_and_max_snooze_are_read() -> None:
    policy = parse_policy(doc(notify={"before": "15m", "sinks": ["team-a", "audit"]},
                              maxSnooze="4h"), source="p.yaml", index=1)
    assert policy.notify == Notify(before=timedelta(minutes=15), sinks=("team-a", "audit"))
    assert policy.max_snooze == timedelta(hours=4)


def test_defaults_without_them() -> None:
    policy = parse_policy(doc(), source="p.yaml", index=1)
    assert (policy.notify, policy.max_snooze) == (None, DEFAULT_MAX_SNOOZE)


@pytest.mark.parametrize(("spec", "field", "message"), [
    pytest.param({"notify": {"before": "15 minutes"}}, "spec.notify.before",
                 "is not a duration", id="bad-duration"),
    pytest.param({"notify": {"before": "0s"}}, "spec.notify.before", "longer than 0s",
                 id="zero-before"),
    pytest.param({"notify": {}}, "spec.notify.before", "", id="before-missing"),
    pytest.param({"notify": {"before": "5m", "sink": ["a"]}}, "spec.notify.sink",
                 "sinks", id="typo-suggests-sinks"),
    pytest.param({"notify": {"before": "5m", "sinks": ["a", "a"]}}, "spec.notify.sinks[1]",
                 "listed twice", id="duplicate-sink"),
    pytest.param({"notify": {"before": "5m", "sinks": ["Not_A_Name"]}},
                 "spec.notify.sinks[0]", "", id="sink-not-a-name"),
    pytest.param({"maxSnooze": "0s"}, "spec.maxSnooze", "longer than 0s", id="zero-snooze"),
    pytest.param({"maxSnooze": "400d"}, "spec.maxSnooze", "maximum", id="snooze-over-a-year"),
])
def test_bad_notify_names_the_field(spec: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(doc(**spec), source="p.yaml", index=1)
    assert caught.value.field == field
    assert message in caught.value.message
    assert "\n" not in str(caught.value)


def test_crd_carries_notify_and_max_snooze() -> None:
    spec = schema()["properties"]["spec"]["properties"]
    assert spec["notify"]["required"] == ["before"]
    assert "pattern" in spec["maxSnooze"]
