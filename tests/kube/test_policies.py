"""ReclaimPolicy CRs: an invalid one gets Valid=False naming the field; others keep working."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from reclaimer.kube import rest
from reclaimer.kube.policies import PolicySource
from tests.kube.conftest import NS, MakeRest, policy_crd

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def _cr(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "reclaimer.io/v1alpha1", "kind": "ReclaimPolicy",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


GOOD = _cr("office-hours", {"selector": {"matchLabels": {"tier": "dev"}},
                            "timeZone": "Europe/Berlin",
                            "schedule": [{"start": "0 8 * * mon-fri",
                                          "stop": "0 19 * * mon-fri"}]})
BAD = _cr("broken", {"idle": {"after": "30 minutes"}})


def _source(make_rest: MakeRest, *crs: dict[str, Any]) -> tuple[Any, rest.Rest, PolicySource]:
    handle, client = make_rest({"objects": [policy_crd()]})
    for cr in crs:
        client.create(rest.POLICY, NS, cr)
    source = PolicySource(client)
    source.start()
    return handle, client, source


def _valid(client: rest.Rest, name: str) -> dict[str, Any]:
    status = client.get(rest.POLICY, NS, name).get("status") or {}
    return next(c for c in status.get("conditions") or [] if c["type"] == "Valid")


def test_an_invalid_cr_does_not_stop_the_valid_one(make_rest: MakeRest) -> None:
    _, _, source = _source(make_rest, GOOD, BAD)
    try:
        read = source.read()
    finally:
        source.stop()
    assert [p.key for p in read.valid] == [f"{NS}/office-hours"]
    assert [e.field for e in read.invalid] == ["spec.idle.after"]


def test_status_says_valid_false_with_the_field(make_rest: MakeRest) -> None:
    _, client, source = _source(make_rest, GOOD, BAD)
    try:
        read = source.read()
        source.publish(read, matched={f"{NS}/office-hours": 3},
                       next_edges={f"{NS}/office-hours": T0}, at=T0)
    finally:
        source.stop()
    bad, good = _valid(client, "broken"), _valid(client, "office-hours")
    assert (bad["status"], bad["reason"]) == ("False", "Invalid")
    assert bad["message"].startswith("spec.idle.after:")
    assert (good["status"], good["reason"]) == ("True", "Valid")
    status = client.get(rest.POLICY, NS, "office-hours")["status"]
    assert (status["matchedServices"], status["nextTransition"]) == (3, "2026-03-02T19:00:00Z")


def test_an_unchanged_status_is_not_written_again(make_rest: MakeRest) -> None:
    handle, _, source = _source(make_rest, GOOD)
    try:
        source.publish(source.read(), matched={}, next_edges={}, at=T0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not source.read().objects[0].get("status"):
            time.sleep(0.02)
        handle.request_log.clear()
        written = source.publish(source.read(), matched={}, next_edges={}, at=T0)
    finally:
        source.stop()
    assert (written, handle.request_log.count(verb="patch")) == (0, 0)
