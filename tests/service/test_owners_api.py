"""The owners' API over HTTP (issue 19) against the sandbox's TokenReview and SAR.

Scenario users (`kubesandbox.reviews`): alice may patch ISVCs in team-a, bob may
only get them. Instants are literal (Friday 2030-03-29, the stop edge at 18:00Z).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from reclaimer.executor.outcome import ExecutorOptions
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.rest import EVENT, ISVC
from reclaimer.kube.reviews import Reviewer
from reclaimer.ledger.protocol import Ledger
from reclaimer.ledger.records import RecordState
from reclaimer.ledger.schema_check import HEAD
from reclaimer.model import ServiceRef
from reclaimer.service.api import ApiServer, OwnersApi
from reclaimer.service.owners import OwnerMetrics, OwnerParts, Owners
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import FRIDAY_STOP, OFFICE_HOURS, LoopWorld, build, quiet, scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
NOW = FRIDAY_STOP - timedelta(minutes=10)  # 18:50 in Berlin
BASE = "/v1/namespaces/team-a/inferenceservices/llama"
UNTIL = "2030-03-29T20:00:00Z"  # 21:00 in Berlin
NEXT = f"{int(HEAD) + 1:04d}"  # a later release's schema


@dataclass
class Owned:
    world: LoopWorld
    server: ApiServer
    metrics: OwnerMetrics

    def call(self, path: str, *, token: str | None = "alice-token",
             method: str = "POST") -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.server.port}{path}",
                                         method=method, data=b"" if method == "POST" else None)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:
                return int(answer.status), json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return int(exc.code), json.loads(exc.read())

    def events(self, reason: str) -> list[dict[str, Any]]:
        items = self.world.rest.list_items(EVENT, namespace="team-a")
        return [e for e in items if e.get("reason") == reason]


@pytest.fixture
def owned(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Owned]:
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    cluster = KubeCluster(world.rest, events=EventRecorder(world.rest))
    metrics = OwnerMetrics(CollectorRegistry())
    owners = Owners(OwnerParts(services=world.inventory, ledger=store, cluster=cluster,
                               policy_for=world.reconciler.policy_for,
                               options=ExecutorOptions(), now=lambda: NOW), metrics)
    server = ApiServer(OwnersApi(owners, Reviewer(world.rest)), host="127.0.0.1", port=0)
    server.start()
    yield Owned(world=world, server=server, metrics=metrics)
    server.stop()
    world.close()


def test_allowed_snooze_is_a_hold_with_the_callers_name(owned: Owned) -> None:
    code, body = owned.call(f"{BASE}:snooze?until={UNTIL}&reason=eval")
    assert (code, body["who"], body["until"]) == (200, "alice", "2030-03-29T20:00:00+00:00")
    hold = owned.world.ledger.view(NOW).holds[LLAMA]
    assert (hold.who, hold.reason) == ("alice", "snoozed via api: eval")
    assert len(owned.events("Snoozed")) == 1
    assert owned.metrics.snoozes.labels(namespace="team-a", name="llama")._value.get() == 1


def test_snooze_keeps_it_running_past_the_stop_edge(owned: Owned) -> None:
    assert owned.call(f"{BASE}:snooze?until={UNTIL}")[0] == 200
    owned.world.tick(FRIDAY_STOP)
    owned.world.tick(FRIDAY_STOP + timedelta(minutes=30))
    obj = owned.world.rest.get(ISVC, "team-a", "llama")
    assert "serving.kserve.io/stop" not in (obj["metadata"].get("annotations") or {})
    (row,) = owned.world.ledger.history(namespace="team-a", name="llama")
    assert (row.state, row.transition.reason.value) == (RecordState.SKIPPED, "Held")
    assert "by alice" in (row.transition.blocked or "")


@pytest.mark.parametrize(("token", "code"), [
    pytest.param(None, 401, id="no-token"),
    pytest.param("forged-token", 401, id="unknown-token"),
    pytest.param("bob-token", 403, id="may-not-patch"),
])
def test_refused_callers_change_nothing(owned: Owned, token: str | None, code: int) -> None:
    for op in (f":snooze?until={UNTIL}", ":stop", ":start"):
        assert owned.call(f"{BASE}{op}", token=token)[0] == code
    assert owned.world.ledger.view(NOW).holds == {}
    assert owned.world.ledger.history() == []
    assert owned.events("Snoozed") == []


@pytest.mark.parametrize("review", ["tokenreviews", "subjectaccessreviews"])
def test_reviews_failing_fail_closed(owned: Owned, review: str) -> None:
    owned.world.sandbox.faults.add("create", review, status=500, times=1)
    code, body = owned.call(f"{BASE}:snooze?until={UNTIL}")
    assert (code, "nothing was changed" in body["error"]) == (503, True)
    assert owned.world.ledger.view(NOW).holds == {}


def test_snooze_is_cut_to_max_snooze(owned: Owned) -> None:
    code, body = owned.call(f"{BASE}:snooze?until=2030-03-31T12:00:00Z")
    assert (code, body["until"]) == (200, "2030-03-30T05:50:00+00:00")
    assert "maxSnooze" in body["cut"]


@pytest.mark.parametrize(("query", "field"), [
    pytest.param("", "until", id="missing"),
    pytest.param("?until=tonight", "until", id="not-a-time"),
    pytest.param("?until=2030-03-29T17:00:00Z", "until", id="in-the-past"),
])
def test_bad_until_is_400_naming_it(owned: Owned, query: str, field: str) -> None:
    code, body = owned.call(f"{BASE}:snooze{query}")
    assert code == 400 and body["error"].startswith(f"{field}: ")


def test_stop_is_a_manual_transition_by_the_caller(owned: Owned) -> None:
    code, body = owned.call(f"{BASE}:stop")
    assert (code, body["outcome"], body["by"]) == (200, "applied", "alice")
    (row,) = owned.world.ledger.history(namespace="team-a", name="llama")
    planned = row.transition
    assert (planned.trigger.value, row.actor, planned.evidence["via"]) == ("manual", "alice", "api")


def test_status_needs_only_get(owned: Owned) -> None:
    code, body = owned.call(f"{BASE}/status", token="bob-token", method="GET")
    assert (code, body["state"], body["policy"], body["hold"]) == (
        200, "running", "office-hours", None)


def test_unknown_service_is_404_after_auth(owned: Owned) -> None:
    code, _ = owned.call("/v1/namespaces/team-a/inferenceservices/nope:stop")
    assert code == 404


def _schema_version(store: Ledger, version: str) -> None:
    engine = store._engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})


def test_a_ledger_migrated_past_this_release_changes_nothing(owned: Owned,
                                                              store: Ledger) -> None:
    """A replica left on the older release by a rolling upgrade answers 503, writes no
    hold or row, and says why; reading the status still works."""
    _schema_version(store, NEXT)
    answers = [owned.call(f"{BASE}{op}") for op in (f":snooze?until={UNTIL}", ":stop",
                                                     ":start")]
    status = owned.call(f"{BASE}/status", method="GET")[0]
    _schema_version(store, HEAD)
    assert {(code, body["error"].startswith(f"nothing was changed: the ledger's schema is "
                                            f"at {NEXT}, newer than this release's {HEAD}"))
            for code, body in answers} == {(503, True)}
    assert (status, owned.world.ledger.view(NOW).holds, owned.world.ledger.history(),
            owned.events("Snoozed")) == (200, {}, [], [])
