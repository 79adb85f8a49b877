"""A managed Raw transition is verified by what the cluster runs, not by ``Ready``.

KServe 0.15 keeps an ISVC ``Ready=True`` while reclaimer's managed stop holds its
Deployments at 0 (0 replicas count as available; docs/fidelity.md, the real controller),
so right after a start ``Ready=True`` is the stale word of the stopped service. These run
on the sandbox's 0.15 profile; "controllers stalled" is the moment on a real cluster
between reclaimer's writes and the kube and KServe controllers' reaction to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube import rest
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@contextmanager
def controllers_stalled(h: Harness) -> Iterator[None]:
    """The API server takes writes, no controller reacts; afterwards they catch up."""
    world = h.handle.world
    h.settle()
    stalled = world.simulator
    stalled.stop()
    try:
        yield
    finally:
        world.simulator = type(stalled)(world.store, stalled.settings)
        world.simulator.start()
        h.settle()


def _stopped(h: Harness) -> None:
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_a_managed_start_is_not_verified_before_the_controllers_have_acted(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry())
    _stopped(h)
    with controllers_stalled(h):
        assert h.apply(Action.START).kind is OutcomeKind.APPLIED
        ready_while_stalled = st.is_true(h.isvc(), st.READY)
        early = [o.kind for o in h.follow_up()]
    assert (ready_while_stalled, early) == (True, [])
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_a_managed_start_whose_pod_cannot_be_scheduled_fails_naming_the_deployment(
        make_harness: MakeHarness) -> None:
    """The sandbox's twin of tests/controlplane/test_freed_gpus.py: a training pod
    (here another model) took the GPU while the model was stopped."""
    h = make_harness("0.15", isvc_entry(), isvc_entry("taker"), verify_timeout=timedelta(0),
                     scenario={"gpuCapacity": 1})
    _stopped(h)
    assert h.cluster.pod_counts().get(h.ref("taker"), 0) == 1
    h.apply(Action.START)
    h.settle()
    (failed,) = h.follow_up()
    assert (failed.kind, failed.message) == (
        OutcomeKind.FAILED,
        "not verified within 0s: Deployment llama-predictor: 0 of 1 available")


def test_a_managed_stop_is_not_verified_while_a_deployment_has_replicas_again(
        make_harness: MakeHarness) -> None:
    """Pods gone is not enough: somebody (a person, an autoscaler) scaled the predictor
    back before its new pod exists."""
    h = make_harness("0.15", isvc_entry())
    assert h.apply(Action.STOP).kind is OutcomeKind.APPLIED
    with controllers_stalled(h):
        h.rest.merge_patch(rest.DEPLOYMENT, NS, "llama-predictor", {"spec": {"replicas": 1}},
                           subresource="scale")
        pods = h.cluster.pod_counts().get(h.ref(), 0)
        early = [o.kind for o in h.follow_up()]
    assert (pods, early) == (0, [])


def test_deployments_that_cannot_be_read_hold_back_only_their_namespace(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry(), isvc_entry("bert", mode="Knative",
                                                      namespace="team-b"),
                     scenario={"namespaces": [NS, "team-b"]})
    bert = Transition(ref=ServiceRef("team-b", "bert"),
                      uid=h.cluster.get_isvc(ServiceRef("team-b", "bert"))["metadata"]["uid"],
                      action=Action.STOP, trigger=Trigger.SCHEDULE,
                      reason=Reason.SCHEDULE_STOP, policy="team-b/p", at=T0)
    outcomes = h.executor.apply_many([h.transition(Action.STOP), bert], at=T0)
    assert [o.strategy for o in outcomes] == ["managed-raw", "native"]
    h.settle()
    h.handle.faults.add("list", "deployments", namespace=NS, status=403, times=-1)
    now = [(o.ref.name, o.kind) for o in h.follow_up()]
    (late,) = h.follow_up(T0 + timedelta(minutes=5))
    assert now == [("bert", OutcomeKind.VERIFIED)]
    assert (late.ref.name, late.kind) == ("llama", OutcomeKind.FAILED)
    assert late.message.startswith("not verified within 5m: component Deployments "
                                   "not read: 403")
