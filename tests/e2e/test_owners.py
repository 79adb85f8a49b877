"""Owners in the loop (issue 19), end to end: `reclaimer run` as a child process.

Friday 2030-03-29, office hours stop at 19:00 Berlin. The child has notify.before 15m,
the owners' API on, and two sinks: a live local webhook and a dead one. Timeline from
18:40 at 60x (a real second is a simulated minute):

- the notice for both dev models arrives around 18:45 with the documented body;
- at 18:50 bob (may only get ISVCs in team-a) tries to snooze llama: 403, nothing
  changes; alice (may patch them) snoozes it until 21:00: 200, a hold with her name;
- at 19:00 mistral is stopped on time although one sink is dead, and llama keeps
  running past 19:00, its stop recorded as held by alice.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaimer.ledger.records import TransitionRecord
from reclaimer.model import Action, ServiceRef
from tests.e2e.harness import berlin, held, wait_for
from tests.e2e.policies import office_hours
from tests.e2e.stage import stage
from tests.fixtures.prometheus import free_port
from tests.fixtures.webhook import running_webhook

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(150)]

START = berlin(2030, 3, 29, 18, 40)
NOTICE = berlin(2030, 3, 29, 18, 45)
SNOOZE_AT = berlin(2030, 3, 29, 18, 50)
STOP = berlin(2030, 3, 29, 19, 0)
LLAMA = ServiceRef("team-a", "llama")
MISTRAL = ServiceRef("team-a", "mistral")
EXTERNAL = "https://reclaimer.example"
# At 60x a 1 s tick is a simulated minute; a loaded 2-core host adds a few.
SLACK = timedelta(minutes=4)


@dataclass(frozen=True)
class Run:
    bodies: list[dict[str, Any]]
    arrived: list[datetime]
    bob: tuple[int, dict[str, Any]]
    alice: tuple[int, dict[str, Any]]
    held_after_bob: bool
    rows: list[TransitionRecord]
    llama_stop: str | None
    mistral_stop: str | None
    metrics: dict[str, float]


def post(url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, method="POST", data=b"",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), json.loads(exc.read())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Run]:
    timeline = held(START, speed=60.0, lead=10.0)
    policy = office_hours(busy_at_stop="force") + "  notify: {before: 15m}\n"
    api_port, dead = free_port(), f"http://127.0.0.1:{free_port()}/hook"
    with running_webhook() as hook, stage(
            tmp_path_factory.mktemp("owners"), template_db, timeline=timeline,
            services={LLAMA: {"tier": "dev"}, MISTRAL: {"tier": "dev"}},
            policies={"office-hours.yaml": policy}) as stage_:
        hook.receiver.stamp = timeline.now
        child = stage_.start(
            api={"enabled": True, "host": "127.0.0.1", "port": api_port,
                 "externalUrl": EXTERNAL},
            notify={"retries": 3, "backoff": "1s", "timeout": "1s", "sinks": [
                {"name": "live", "url": hook.url, "default": True},
                {"name": "dead", "url": dead, "default": True}]})
        child.wait_ticking(timeout=30)
        assert timeline.now() < NOTICE, "child started too late"
        hook.receiver.wait_for(2, timeout=60)
        timeline.wait_until(SNOOZE_AT, timeout=60)
        base = f"http://127.0.0.1:{api_port}/v1/namespaces/team-a/inferenceservices/llama"
        until = "2030-03-29T20:00:00Z"  # 21:00 in Berlin
        bob = post(f"{base}:snooze?until={until}", "bob-token")
        held_after_bob = any(r.transition.blocked for r in stage_.rows(LLAMA))
        alice = post(f"{base}:snooze?until={until}&reason=evaluation", "alice-token")
        timeline.wait_until(STOP + timedelta(minutes=5), timeout=60)
        wait_for(lambda: stage_.stop_annotation(MISTRAL), timeout=30, what="mistral's stop")
        child.check_alive()
        yield Run(bodies=hook.receiver.wait_for(2), arrived=list(hook.receiver.stamps),
                  bob=bob, alice=alice, held_after_bob=held_after_bob,
                  rows=stage_.history(), llama_stop=stage_.stop_annotation(LLAMA),
                  mistral_stop=stage_.stop_annotation(MISTRAL), metrics=child.metrics())


def test_notice_arrives_before_ahead_with_the_documented_body(run: Run) -> None:
    by_name = {b["name"]: b for b in run.bodies}
    assert set(by_name) == {"llama", "mistral"}
    llama = by_name["llama"]
    assert {k: llama[k] for k in ("kind", "service", "action", "at", "trigger", "policy")} == {
        "kind": "StopPlanned", "service": "team-a/llama", "action": "stop",
        "at": STOP.isoformat(), "trigger": "schedule", "policy": "office-hours"}
    assert llama["snoozeUrl"] == f"{EXTERNAL}/v1/namespaces/team-a/inferenceservices/llama:snooze"
    assert all(NOTICE <= at <= NOTICE + SLACK for at in run.arrived), run.arrived


def test_a_user_who_may_not_patch_gets_403_and_nothing_changes(run: Run) -> None:
    assert run.bob[0] == 403
    assert not run.held_after_bob


def test_allowed_snooze_keeps_the_model_running_past_19(run: Run) -> None:
    assert (run.alice[0], run.alice[1]["who"]) == (200, "alice")
    assert run.llama_stop is None
    llama = [r.transition for r in run.rows
             if r.transition.ref == LLAMA and r.transition.action is Action.STOP]
    assert [(r.reason.value, "by alice" in (r.blocked or "")) for r in llama] == [
        ("Held", True)]


def test_a_dead_webhook_does_not_delay_the_stop(run: Run) -> None:
    (stop,) = [r for r in run.rows if r.transition.ref == MISTRAL and not r.transition.blocked]
    assert run.mistral_stop == "true"
    assert stop.applied_at is not None and stop.applied_at - STOP <= SLACK
    assert run.metrics.get('reclaimer_notifications_total{outcome="delivered",sink="live"}') == 2
