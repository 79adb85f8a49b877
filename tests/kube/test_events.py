"""Events on the ISVC: reason, reporting component, and dedupe by count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.kube.events import EventRecorder
from reclaimer.model import ServiceRef
from tests.kube.conftest import NS, MakeRest, isvc

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def _events(rest: object) -> list[dict[str, object]]:
    return list(rest.request("GET", f"/api/v1/namespaces/{NS}/events")["items"])  # type: ignore[attr-defined]


def test_an_event_names_the_isvc_and_reclaimer(make_rest: MakeRest) -> None:
    _, rest = make_rest({"inferenceServices": [isvc("llama")]})
    EventRecorder(rest, instance="pod-1").emit(ServiceRef(NS, "llama"), "uid-1",
                                               reason="Reclaimed", message="stopped", at=T0)
    (event,) = _events(rest)
    assert (event["reason"], event["type"], event["reportingComponent"],
            event["reportingInstance"], event["source"], event["involvedObject"]) == (
        "Reclaimed", "Normal", "reclaimer", "pod-1", {"component": "reclaimer"},
        {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
         "namespace": NS, "name": "llama", "uid": "uid-1"})


def test_a_repeated_event_bumps_its_count(make_rest: MakeRest) -> None:
    _, rest = make_rest({"inferenceServices": [isvc("llama")]})
    recorder = EventRecorder(rest)
    for minute in range(3):
        recorder.emit(ServiceRef(NS, "llama"), "uid-1", reason="Deferred",
                      message="busy: 12 requests in the last 5m", at=T0 + timedelta(minutes=minute))
    (event,) = _events(rest)
    assert (event["count"], event["lastTimestamp"]) == (3, "2026-03-02T19:02:00Z")


def test_a_different_message_is_a_new_event(make_rest: MakeRest) -> None:
    _, rest = make_rest({"inferenceServices": [isvc("llama")]})
    recorder = EventRecorder(rest)
    for message in ("first", "second"):
        recorder.emit(ServiceRef(NS, "llama"), "uid-1", reason="Deferred", message=message,
                      at=T0)
    assert len(_events(rest)) == 2


def test_a_failed_event_write_does_not_raise(make_rest: MakeRest) -> None:
    handle, rest = make_rest({"inferenceServices": [isvc("llama")]})
    handle.faults.add("create", "events", status=500)
    EventRecorder(rest).emit(ServiceRef(NS, "llama"), "u", reason="Reclaimed", message="m",
                             at=T0, warning=True)
    assert _events(rest) == []
