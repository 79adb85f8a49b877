"""Adversarial cases for the per-ISVC strategy (issue 15 item 1), against the sandbox.

Each test is named after the case it proves: an odd controller image, a condition that
is not KServe's, a person's edit while a predictor-only stop is in place.
"""

from __future__ import annotations

from typing import Any

import pytest

from reclaimer.executor.outcome import OutcomeKind
from reclaimer.executor.recover import recover
from reclaimer.executor.strategy import HANDLERS
from reclaimer.kube.kserve_version import KServeVersion, controller_version
from reclaimer.kube.rest import DEPLOYMENT
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import Action
from tests.executor.conftest import NS, T0, MakeHarness, isvc_entry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
FORK = "quay.io/opendatahub/kserve-controller:v2.19.0"


@pytest.mark.parametrize(("image", "want"), [
    pytest.param("registry.local:5000/kserve/kserve-controller:v0.16.0",
                 KServeVersion(0, 16, 0), id="registry-with-a-port"),
    pytest.param("registry.local:5000/kserve/kserve-controller", None,
                 id="registry-with-a-port-and-no-tag"),
    pytest.param("kserve/kserve-controller:latest", None, id="latest"),
    pytest.param("kserve/kserve-controller@sha256:" + "a" * 64, None, id="digest"),
    pytest.param("kserve/kserve-controller:v0.16.0@sha256:" + "a" * 64, None,
                 id="tag-and-digest"),
    pytest.param("kserve/kserve-controller:v0.15.2-rc1", KServeVersion(0, 15, 2),
                 id="pre-release"),
    pytest.param(FORK, None, id="a-forks-own-product-version"),
    pytest.param("example.com/ml/kserve-controller:2025.06.1", None, id="calendar-tag"),
])
def test_the_version_read_from_the_controller_image(make_harness: MakeHarness, image: str,
                                                    want: KServeVersion | None) -> None:
    h = make_harness("0.16", isvc_entry(), scenario={"kserveControllerImage": image})
    assert controller_version(h.rest, namespace="kserve") == want


def test_a_forks_version_tag_does_not_make_a_raw_isvc_on_0_15_native(
        make_harness: MakeHarness) -> None:
    """A fork tagged with its product's version (ODH ``v2.19.0``) is no KServe release:
    read as 2.19 ≥ 0.16, a Raw ISVC on 0.15 got the annotation, its pods rolled and the
    GPU stayed busy."""
    h = make_harness("0.15", isvc_entry(mode="Standard"),
                     scenario={"kserveControllerImage": FORK})
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0


def _foreign_stopped(h: Any) -> None:
    """Another tool's Stopped condition, with its own reason, on the ISVC's status."""
    obj = h.isvc()
    conds = [c for c in obj["status"].get("conditions") or [] if c.get("type") != "Stopped"]
    conds.append({"type": "Stopped", "status": "False", "reason": "ScaledUp",
                  "lastTransitionTime": "2026-03-01T00:00:00Z"})
    h.cluster.patch_isvc_status(h.ref(), {"status": {"conditions": conds}})


def test_a_stopped_condition_with_a_reason_is_not_kserves_on_a_raw_isvc_on_0_15(
        make_harness: MakeHarness) -> None:
    """KServe writes Stopped without a reason (0.15 and 0.16+, kserve_stop.md §9); a
    condition with another tool's reason said "≥ 0.16" and the Raw ISVC got the
    annotation, which 0.15 does not stop."""
    h = make_harness("0.15", isvc_entry(mode="Standard"),
                     scenario={"kserveControllerImage": ""})
    _foreign_stopped(h)
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_a_persons_minreplicas_edit_while_predictor_only_stopped_survives_the_start(
        make_harness: MakeHarness) -> None:
    """The start of a 0.15 predictor-only stop restores minReplicas only where ours (0)
    is still there; a value a person set meanwhile is theirs."""
    h = make_harness("0.15", isvc_entry(mode="Knative", transformer=True, minReplicas=1))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    stop = h.apply(Action.STOP)
    h.settle()
    assert stop.strategy == "native-predictor"
    h.cluster.patch_isvc(h.ref(), {"spec": {"transformer": {"minReplicas": 2}}})
    h.settle()
    start = h.apply(Action.START)
    h.settle()
    assert (start.kind, start.strategy) == (OutcomeKind.APPLIED, "native-predictor")
    spec = h.isvc()["spec"]
    assert (spec["predictor"].get("minReplicas"), spec["transformer"].get("minReplicas")) == (1, 2)


def test_the_start_of_a_predictor_only_stop_restores_the_untouched_components(
        make_harness: MakeHarness) -> None:
    h = make_harness("0.15", isvc_entry(mode="Knative", transformer=True, minReplicas=1))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    h.apply(Action.STOP)
    h.settle()
    assert h.isvc()["spec"]["transformer"]["minReplicas"] == 0
    h.apply(Action.START)
    h.settle()
    assert h.isvc()["spec"]["transformer"].get("minReplicas") is None  # as the user had it


def _upgrade_kserve(h: Any, kserve: str) -> None:
    """KServe upgraded in place: the simulator swapped, the controller image bumped."""
    h.handle.apply({"kserve": kserve, "podTerminationSeconds": 0, "namespaces": [NS]})
    h.rest.merge_patch(DEPLOYMENT, "kserve", "kserve-controller-manager", {"spec": {"template": {
        "spec": {"containers": [{"name": "manager",
                                 "image": f"kserve/kserve-controller:v{kserve}.0"}]}}}})
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    h.settle()


@pytest.mark.parametrize(("entry", "strategy", "running"), [
    pytest.param(isvc_entry(mode="Knative", transformer=True), "native-predictor", 2,
                 id="knative-transformer-predictor-only-stop"),
    pytest.param(isvc_entry(mode="Standard"), "managed-raw", 1, id="raw-managed-stop"),
])
def test_a_start_after_kserve_was_upgraded_0_15_to_0_16_undoes_the_0_15_stop(
        make_harness: MakeHarness, entry: dict[str, Any], strategy: str,
        running: int) -> None:
    h = make_harness("0.15", entry)
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.strategy, [o.kind for o in h.follow_up()]) == (
        strategy, [OutcomeKind.VERIFIED])
    _upgrade_kserve(h, "0.16")
    assert h.executor.kserve_version == KServeVersion(0, 16, 0)
    start = h.apply(Action.START)
    h.settle()
    assert (start.kind, start.strategy) == (OutcomeKind.APPLIED, strategy)
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(h.ref(), 0) == running
    spec = h.isvc()["spec"]
    assert [spec[c].get("minReplicas") for c in ("predictor", "transformer") if c in spec] \
        == [None] * (2 if "transformer" in spec else 1)


def test_a_managed_stop_without_restore_info_is_not_started_as_native_on_0_16(
        make_harness: MakeHarness) -> None:
    """Stopped the managed way by another ledger (the CLI with its own ``--db``): the
    start has no restore information. On 0.16 auto would pick native, whose start sees no
    annotation and calls the service "already running" while its replicas stay 0."""
    h = make_harness("0.16", isvc_entry(mode="Standard"), strategy="managed")
    h.apply(Action.STOP)
    h.settle()
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0
    fresh = type(h.executor)(h.cluster, type(h.ledger)(), actor="other-replica")
    fresh.detected_version = controller_version(h.rest, namespace="kserve")
    start = fresh.apply(h.transition(Action.START), at=T0)
    assert (start.kind, start.strategy) == (OutcomeKind.FAILED, "managed-raw")
    assert "start it by hand" in start.message


@pytest.mark.parametrize("kserve", [pytest.param("0.16", id="0.16"),
                                    pytest.param("0.15", id="0.15")])
def test_a_start_of_a_running_isvc_with_the_users_external_class_is_already_running(
        make_harness: MakeHarness, kserve: str) -> None:
    """``autoscalerClass: external`` is also a user's own choice: with nothing saved and
    every Deployment up, a start edge records "already running", not a failure."""
    h = make_harness(kserve, isvc_entry(
        mode="Standard", annotations={"serving.kserve.io/autoscalerClass": "external"}))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    h.settle()
    start = h.apply(Action.START)
    assert (start.kind, start.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert start.message.startswith("already running")


@pytest.mark.parametrize("status", [
    pytest.param(403, id="rbac-denies-the-read"),
    pytest.param(404, id="no-controller-deployment"),
    pytest.param(500, id="api-server-error"),
])
def test_an_unreadable_controller_leaves_the_version_unknown_and_0_15_raw_managed(
        make_harness: MakeHarness, status: int) -> None:
    h = make_harness("0.15", isvc_entry(mode="Standard"))
    h.handle.faults.add("get", "deployments", "kserve", "kserve-controller-manager",
                        status=status, times=-1)
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    assert h.executor.kserve_version is None
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


def test_a_controller_in_another_namespace_is_not_read(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    assert controller_version(h.rest, namespace="kserve-system") is None


def test_a_policy_stop_of_a_hand_annotated_0_15_transformer_isvc_frees_the_transformer(
        make_harness: MakeHarness) -> None:
    """A person's ``stop: "true"`` on 0.15 stops only the predictor; the policy's stop
    was "already stopped", the transformer kept its GPU and verification failed 5 minutes
    later. The stop gives the other components minReplicas 0 and the start restores them
    (and, as for any stop reclaimer did not make, removes the annotation)."""
    h = make_harness("0.15", isvc_entry(mode="Knative", transformer=True,
                                        annotations={"serving.kserve.io/stop": "true"}))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    h.settle()
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, "native-predictor")
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.cluster.pod_counts().get(h.ref(), 0) == 0
    start = h.apply(Action.START)
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert (start.strategy, h.cluster.pod_counts().get(h.ref(), 0)) == ("native-predictor", 2)
    assert h.isvc()["spec"]["transformer"].get("minReplicas") is None


def test_a_crash_between_the_predictor_only_restore_info_and_the_patch_is_decided_again(
        make_harness: MakeHarness) -> None:
    """The planned row and the restore info are on disk, the PATCH never happened: the
    restart abandons the row, the next stop saves the same info and the start restores it."""
    h = make_harness("0.15", isvc_entry(mode="Knative", transformer=True))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    handler = HANDLERS["native-predictor"]
    restore = handler.restore_before(h.isvc(), action=Action.STOP)
    h.ledger.record_planned_many([PlannedEntry(h.transition(Action.STOP), handler.name,
                                               restore)], actor="crashed", at=T0)
    assert [o.kind for o in recover(h.executor, at=T0)] == [OutcomeKind.ABANDONED]
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, [o.kind for o in h.follow_up()]) == (
        OutcomeKind.APPLIED, [OutcomeKind.VERIFIED])
    h.apply(Action.START)
    h.settle()
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]
    assert h.isvc()["spec"]["transformer"].get("minReplicas") is None
    assert h.states() == ["abandoned", "verified", "verified"]


def test_a_reasonless_stopped_condition_on_a_raw_isvc_is_outweighed_by_a_known_0_15(
        make_harness: MakeHarness) -> None:
    """A Stopped condition copied from a 0.16 cluster (a restore with status) looks like
    KServe's; the version read from the controller wins over it."""
    h = make_harness("0.15", isvc_entry(mode="Standard"))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    obj = h.isvc()
    conds = [c for c in obj["status"].get("conditions") or [] if c.get("type") != "Stopped"]
    h.cluster.patch_isvc_status(h.ref(), {"status": {"conditions": [
        *conds, {"type": "Stopped", "status": "False", "severity": "Info"}]}})
    stop = h.apply(Action.STOP)
    h.settle()
    assert (stop.kind, stop.strategy) == (OutcomeKind.APPLIED, "managed-raw")
    assert [o.kind for o in h.follow_up()] == [OutcomeKind.VERIFIED]


@pytest.mark.parametrize(("kserve", "mode"), [
    pytest.param("0.16", "Standard", id="0.16-standard-native"),
    pytest.param("0.15", "Knative", id="0.15-knative-native"),
])
def test_disable_auto_update_refuses_the_native_stop_and_writes_nothing(
        make_harness: MakeHarness, kserve: str, mode: str) -> None:
    h = make_harness(kserve, isvc_entry(
        mode=mode, transformer=True,
        annotations={"serving.kserve.io/disable-auto-update": "true"}))
    h.executor.detected_version = controller_version(h.rest, namespace="kserve")
    stop = h.apply(Action.STOP)
    notes = h.isvc()["metadata"].get("annotations") or {}
    assert (stop.kind, "disable-auto-update" in stop.message) == (OutcomeKind.FAILED, True)
    assert "serving.kserve.io/stop" not in notes
    assert h.isvc()["spec"]["transformer"].get("minReplicas") is None


@pytest.mark.parametrize(("status", "want"), [
    pytest.param(503, KServeVersion(0, 16, 0), id="a-transient-error-keeps-the-version"),
    pytest.param(403, None, id="a-revoked-read-forgets-it"),
])
def test_a_resync_that_cannot_read_the_controller(make_harness: MakeHarness, status: int,
                                                  want: KServeVersion | None) -> None:
    """A 503 during one resync said "version unknown" for the next five minutes, so a
    Standard ISVC KServe had not reconciled yet was stopped the managed way on 0.16."""
    h = make_harness("0.16", isvc_entry(), cache="live")
    assert h.inventory is not None
    assert h.inventory.kserve_version == KServeVersion(0, 16, 0)
    h.handle.faults.add("get", "deployments", "kserve", "kserve-controller-manager",
                        status=status, times=-1)
    h.inventory.resync()
    assert h.inventory.kserve_version == want
