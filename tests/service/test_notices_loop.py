"""StopPlanned through the loop (issue 19): sandbox, real ledger, a local webhook.

The notice is an Event on the ISVC and one POST per sink, once per planned stop, even
across a restart (a new Reconciler on the same ledger); a dead sink never delays a stop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.rest import EVENT, ISVC
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import ServiceRef
from reclaimer.service.loop import Reconciler
from reclaimer.service.notify import Announcer, Notifier, NotifyMetrics
from reclaimer.service.notify_config import NotifySettings, Sink
from tests.fixtures.sandbox import MakeSandbox
from tests.fixtures.webhook import Webhook
from tests.service.loop_world import (
    FRIDAY_STOP,
    OFFICE_HOURS,
    LoopWorld,
    build,
    busy_until,
    quiet,
    scenario,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
NOTIFY = OFFICE_HOURS % {"busy": "force"} + "  notify: {before: 15m}\n"
API = "https://reclaimer.example"


def with_notices(world: LoopWorld, url: str, *, retries: int = 2) -> Notifier:
    settings = NotifySettings(sinks=(Sink("hook", url, default=True),), retries=retries,
                              backoff=timedelta(milliseconds=50))
    notifier = Notifier(settings, NotifyMetrics(CollectorRegistry()))
    notifier.start()
    cluster = KubeCluster(world.rest, events=EventRecorder(world.rest))
    world.reconciler.parts = replace(world.reconciler.parts, announcer=Announcer(
        world.ledger, cluster, notifier, api_url=API))
    return notifier


@pytest.fixture
def office(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[LoopWorld]:
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": NOTIFY}, scripts={LLAMA: quiet()}, ledger=store)
    yield world
    world.close()


def planned_events(world: LoopWorld) -> list[dict[str, object]]:
    events = world.rest.list_items(EVENT, namespace="team-a")
    return [e for e in events if e.get("reason") == "StopPlanned"]


def _marks(world: LoopWorld) -> tuple[object, object]:
    meta = world.rest.get(ISVC, "team-a", "llama")["metadata"]
    return meta.get("annotations"), meta.get("labels")


def test_notice_arrives_before_the_stop_once(office: LoopWorld, webhook: Webhook) -> None:
    notifier = with_notices(office, webhook.url)
    before = _marks(office)
    for minutes in (16, 15, 14, 10):
        office.tick(FRIDAY_STOP - timedelta(minutes=minutes))
    assert _marks(office) == before  # nothing on the ISVC: it would roll the pods
    assert notifier.drain()
    notifier.stop()
    (got,) = webhook.receiver.bodies
    assert (got["service"], got["action"], got["at"], got["policy"]) == (
        "team-a/llama", "stop", FRIDAY_STOP.isoformat(), "office-hours")
    assert got["snoozeUrl"] == f"{API}/v1/namespaces/team-a/inferenceservices/llama:snooze"
    assert len(planned_events(office)) == 1


def test_a_restart_does_not_repeat_the_notice(office: LoopWorld, webhook: Webhook) -> None:
    notifier = with_notices(office, webhook.url)
    office.tick(FRIDAY_STOP - timedelta(minutes=15))
    office.reconciler.close()
    office.reconciler = Reconciler(office.reconciler.parts, settings=office.reconciler.settings)
    office.tick(FRIDAY_STOP - timedelta(minutes=14))
    assert notifier.drain()
    notifier.stop()
    assert len(webhook.receiver.bodies) == 1
    assert len(planned_events(office)) == 1


def test_dead_webhook_does_not_delay_the_stop(office: LoopWorld, dead_url: str) -> None:
    notifier = with_notices(office, dead_url, retries=3)
    office.tick(FRIDAY_STOP - timedelta(minutes=1))
    result = office.tick(FRIDAY_STOP)
    assert [o.kind.value for o in result.outcomes][:1] == ["applied"]
    obj = office.rest.get(ISVC, "team-a", "llama")
    assert obj["metadata"]["annotations"]["serving.kserve.io/stop"] == "true"
    assert notifier.drain()
    notifier.stop()
    assert notifier.metrics.sent.labels(sink="hook", outcome="failed")._value.get() == 1


IDLE_NOTIFY = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: idle-30m}
spec:
  selector: {matchLabels: {reclaim: idle}}
  idle: {after: 30m, minUptime: 15m}
  notify: {before: 15m}
"""


def test_idle_notice_comes_before_the_idle_timeout(make_sandbox: MakeSandbox, tmp_path: Path,
                                                   store: Ledger, webhook: Webhook) -> None:
    last_use = FRIDAY_STOP
    world = build(make_sandbox(scenario(("team-a", "llama", {"reclaim": "idle"}))), tmp_path,
                  policies={"idle": IDLE_NOTIFY}, scripts={LLAMA: busy_until(last_use)},
                  ledger=store)
    try:
        notifier = with_notices(world, webhook.url)
        for minutes in (10, 14, 16, 20):
            world.tick(last_use + timedelta(minutes=minutes))
        assert notifier.drain()
        notifier.stop()
    finally:
        world.close()
    (got,) = webhook.receiver.bodies
    assert (got["trigger"], got["action"]) == ("idle", "stop")
    planned = datetime.fromisoformat(got["at"])
    assert last_use + timedelta(minutes=29) <= planned <= last_use + timedelta(minutes=31)


def test_no_notice_while_the_guard_refuses_writes(office: LoopWorld, webhook: Webhook) -> None:
    """A notice is a ledger row, an Event and a POST: a leader past its lease's margin,
    or on a ledger a newer release migrated, sends none; the next tick that may write
    does, once."""
    notifier = with_notices(office, webhook.url)
    office.reconciler.parts.executor.guard = lambda: "the ledger's schema is at 0005, ..."
    office.tick(FRIDAY_STOP - timedelta(minutes=15))
    refused = (len(planned_events(office)), office.ledger.notices(since=FRIDAY_STOP))
    office.reconciler.parts.executor.guard = lambda: None
    office.tick(FRIDAY_STOP - timedelta(minutes=14))
    assert notifier.drain()
    notifier.stop()
    assert (refused, len(webhook.receiver.bodies), len(planned_events(office))) == (
        (0, []), 1, 1)
