"""StopPlanned delivery (issue 19): bodies by format, retries, a dead sink never blocks.

Sinks are real HTTP endpoints on 127.0.0.1 (`tests.fixtures.webhook`); waits between
attempts are shortened through the settings, and tests count attempts, never time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from reclaimer.errors import ConfigInvalid
from reclaimer.model import ServiceRef, Trigger
from reclaimer.policy.notices import PlannedStop
from reclaimer.service.notify import Delivery, Notifier, NotifyMetrics, body, snooze_url
from reclaimer.service.notify_config import NotifySettings, Sink, parse_notify
from tests.fixtures.webhook import Webhook

pytestmark = pytest.mark.timeout(30)

REF = ServiceRef("team-a", "llama")
STOP = PlannedStop(ref=REF, uid="uid-1", policy="team-a/office", trigger=Trigger.SCHEDULE,
                   at=datetime(2026, 1, 12, 18, 0, tzinfo=UTC), reason="schedule stop",
                   sinks=())
SNOOZE = "https://reclaimer.example/v1/namespaces/team-a/inferenceservices/llama:snooze"
FAST = timedelta(milliseconds=10)


def test_generic_body_is_the_documented_one() -> None:
    assert body(STOP, fmt="generic", snooze=SNOOZE) == {
        "kind": "StopPlanned", "service": "team-a/llama", "namespace": "team-a",
        "name": "llama", "action": "stop", "at": "2026-01-12T18:00:00+00:00",
        "trigger": "schedule", "reason": "schedule stop", "policy": "team-a/office",
        "snoozeUrl": SNOOZE}


@pytest.mark.parametrize(("fmt", "keys"), [
    pytest.param("slack", {"text"}, id="slack"),
    pytest.param("teams", {"@type", "@context", "summary", "text"}, id="teams"),
])
def test_chat_formats_carry_the_snooze_url(fmt: str, keys: set[str]) -> None:
    got = body(STOP, fmt=fmt, snooze=SNOOZE)
    assert set(got) == keys
    assert SNOOZE in got["text"] and "team-a/llama" in got["text"]


def test_snooze_url_from_the_external_url() -> None:
    assert snooze_url("https://reclaimer.example/", REF) == SNOOZE
    assert snooze_url(None, REF) is None


def notifier(url: str, *, retries: int = 3, post: Any = None) -> Notifier:
    settings = NotifySettings(sinks=(Sink("hook", url, default=True),), retries=retries,
                              backoff=FAST, timeout=timedelta(seconds=2))
    made = Notifier(settings, NotifyMetrics(CollectorRegistry()),
                    **({"post": post} if post else {}))
    made.start()
    return made


def outcome(made: Notifier, what: str) -> float:
    return made.metrics.sent.labels(sink="hook", outcome=what)._value.get()


def deliver(made: Notifier) -> None:
    made.submit(Delivery(sink=made.settings.sinks[0], ref=REF,
                         payload=body(STOP, fmt="generic", snooze=None)))


def test_delivered_after_two_failures(webhook: Webhook) -> None:
    webhook.receiver.fail_first = 2
    made = notifier(webhook.url)
    deliver(made)
    assert made.drain()
    made.stop()
    assert (webhook.receiver.attempts, len(webhook.receiver.bodies)) == (3, 1)
    assert (outcome(made, "delivered"), outcome(made, "failed")) == (1, 0)


def test_dead_sink_fails_after_retries_with_a_metric(dead_url: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    made = notifier(dead_url, retries=2)
    deliver(made)
    assert made.drain()
    made.stop()
    assert (outcome(made, "delivered"), outcome(made, "failed")) == (0, 1)
    assert "failed after 3 attempts" in caplog.text


def test_submit_never_waits_for_the_sink() -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(url: str, data: bytes, timeout: float) -> int:
        entered.set()
        release.wait(10)
        return 200

    made = notifier("http://127.0.0.1:9/hook", post=stuck)
    deliver(made)
    assert entered.wait(5)
    deliver(made)  # returns although the worker is stuck in the first delivery
    release.set()
    assert made.drain()
    made.stop()
    assert outcome(made, "delivered") == 2


@pytest.mark.parametrize(("raw", "key"), [
    pytest.param({"sinks": [{"name": "a", "url": "ftp://x"}]}, "notify.sinks[0].url",
                 id="not-http"),
    pytest.param({"sinks": [{"name": "a", "url": "http://x", "format": "irc"}]},
                 "notify.sinks[0].format", id="bad-format"),
    pytest.param({"sinks": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]},
                 "notify.sinks[1].name", id="duplicate-name"),
    pytest.param({"sinks": [{"name": "a", "uri": "http://x"}]}, "notify.sinks[0].uri",
                 id="unknown-key"),
    pytest.param({"retries": 99}, "notify.retries", id="too-many-retries"),
    pytest.param({"backoff": "soon"}, "notify.backoff", id="bad-backoff"),
])
def test_bad_notify_config_names_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        parse_notify(raw)
    assert caught.value.key == key


def test_policy_sinks_or_defaults() -> None:
    settings = parse_notify({"sinks": [{"name": "a", "url": "http://a", "default": True},
                                       {"name": "b", "url": "http://b", "format": "slack"}]})
    assert [s.name for s in settings.for_policy(())] == ["a"]
    assert [s.name for s in settings.for_policy(("b",))] == ["b"]
    assert settings.unknown_sinks(("b", "c")) == ["c"]


def test_a_dead_sink_never_holds_back_a_live_one(webhook: Webhook, dead_url: str) -> None:
    settings = NotifySettings(sinks=(Sink("dead", dead_url), Sink("live", webhook.url)),
                              retries=3, backoff=timedelta(seconds=5))
    made = Notifier(settings, NotifyMetrics(CollectorRegistry()))
    made.start()
    for _ in range(2):
        for sink in settings.sinks:
            made.submit(Delivery(sink=sink, ref=REF, payload={"n": 1}))
    assert len(webhook.receiver.wait_for(2, timeout=10)) == 2  # dead one still retrying
    made.stop(timeout=1)
