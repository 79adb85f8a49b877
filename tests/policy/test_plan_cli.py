"""`reclaimer plan`: offline decisions for a kubectl dump, as a table or docs/design.md §8 JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from freezegun import freeze_time

from reclaimer.cli import main

ROOT = Path(__file__).resolve().parents[2]
OFFICE = """
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: office, namespace: team-a}
spec:
  timeZone: Europe/Berlin
  schedule: [{start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}]
  idle: {after: 30m}
  busyAtStop: force
"""
BAD = """
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: broken, namespace: team-a}
spec: {idle: {after: "30 minutes"}}
"""


def isvc(name: str, *, stopped: bool = False, uid: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "team-a", "uid": uid or f"uid-{name}",
                            "creationTimestamp": "2026-01-05T09:00:00Z"}
    if stopped:
        meta["annotations"] = {"serving.kserve.io/stop": "true"}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": meta, "spec": {"predictor": {}},
            "status": {"conditions": [{"type": "Stopped", "status": "True" if stopped
                                       else "False"}]}}


def without_uid(obj: dict[str, Any]) -> dict[str, Any]:
    del obj["metadata"]["uid"]
    return obj


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def inventory(tmp_path: Path, items: list[Any], *, as_json: bool = False) -> Path:
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    text = json.dumps(doc) if as_json else yaml.safe_dump(doc)
    return write(tmp_path, "inv.json" if as_json else "inv.yaml", text)


def plan(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["plan", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_documented_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = inventory(tmp_path, [isvc("llama"), isvc("mistral", stopped=True)])
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T19:01:00+01:00", "-o", "json")
    assert code == 0
    assert json.loads(out) == [
        {"kind": "InferenceService", "namespace": "team-a", "name": "llama", "action": "stop",
         "trigger": "schedule", "policy": "team-a/office", "reason": "ScheduleStop",
         "at": "2026-01-12T18:01:00+00:00"},
        {"kind": "InferenceService", "namespace": "team-a", "name": "mistral",
         "action": "stop", "trigger": "schedule",
         "policy": "team-a/office", "reason": "ScheduleStop", "at": "2026-01-12T18:01:00+00:00",
         "blocked": "already stopped"}]


def test_table_has_one_row_per_service(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    inv = inventory(tmp_path, [isvc("llama", stopped=True)])
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T08:00:00+01:00")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAMESPACE", "NAME", "ACTION", "TRIGGER", "POLICY",
                                           "REASON", "BLOCKED"]
    assert out.splitlines()[1].split() == ["team-a", "llama", "start", "schedule",
                                           "team-a/office", "ScheduleStart", "<none>"]


def test_offline_idle_is_unknown_so_no_idle_stop(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    inv = inventory(tmp_path, [isvc("llama")])
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T12:00:00+01:00", "-o", "json")
    assert (code, [(i["trigger"], i["blocked"]) for i in json.loads(out)]) == (
        0, [("catch-up", "already running")])


def test_kubectl_json_output_is_accepted(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    inv = inventory(tmp_path, [isvc("llama")], as_json=True)
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T19:01:00+01:00", "-o", "json")
    assert (code, len(json.loads(out))) == (0, 1)


def test_invalid_policy_exits_1_and_still_plans_the_valid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = write(tmp_path, "p.yaml", OFFICE + "---" + BAD)
    code, out, err = plan(capsys, "--policies", policies, "--inventory",
                          inventory(tmp_path, [isvc("llama")]),
                          "--at", "2026-01-12T19:01:00+01:00", "-o", "json")
    assert code == 1
    assert "spec.idle.after" in err
    assert len(json.loads(out)) == 1


@pytest.mark.parametrize(("items", "message"), [
    pytest.param([isvc("a"), without_uid(isvc("b"))],
                 "items[1]: InferenceService team-a/b: metadata.uid", id="missing-uid"),
    pytest.param(["not-an-object"], "items[0]: not a mapping", id="item-not-a-mapping"),
])
def test_bad_inventory_item_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     items: list[Any], message: str) -> None:
    code, _, err = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inventory(tmp_path, items),
                        "--at", "2026-01-12T19:01:00+01:00")
    assert code == 1
    assert message in err


@pytest.mark.parametrize(("text", "message"), [
    pytest.param(None, "--inventory: cannot read", id="missing-file"),
    pytest.param("items: [", "is not YAML or JSON", id="not-yaml"),
    pytest.param("items: 3", "items: expected a list", id="items-not-a-list"),
])
def test_unreadable_inventory_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       text: str | None, message: str) -> None:
    inv = tmp_path / "inv.yaml"
    if text is not None:
        inv.write_text(text)
    code, _, err = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T19:01:00+01:00")
    assert (code, message in err) == (1, True)


@pytest.mark.parametrize("at", [
    pytest.param("tomorrow", id="not-rfc3339"),
    pytest.param("2026-01-12T19:01:00", id="no-offset"),
])
def test_bad_at_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               at: str) -> None:
    code, _, err = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inventory(tmp_path, [isvc("llama")]), "--at", at)
    assert (code, "--at" in err) == (1, True)


@freeze_time("2026-01-12T19:01:00+01:00")
def test_without_at_the_plan_is_for_the_wall_clock_now(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE),
                        "--inventory", inventory(tmp_path, [isvc("llama")]), "-o", "json")
    assert (code, json.loads(out)[0]["at"]) == (0, "2026-01-12T18:01:00+00:00")


def test_conflicts_are_warned_on_stderr(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    twin = OFFICE.replace("name: office", "name: office-twin")
    code, _, err = plan(capsys, "--policies", write(tmp_path, "p.yaml", OFFICE + "---" + twin),
                        "--inventory", inventory(tmp_path, [isvc("llama")]),
                        "--at", "2026-01-12T19:01:00+01:00")
    assert code == 0
    assert "same priority; using team-a/office" in err


def test_bundled_example_plans(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(capsys, "--policies", ROOT / "policies", "--inventory",
                        ROOT / "examples" / "inventory.yaml",
                        "--at", "2026-03-30T19:05:00+02:00", "-o", "json")
    got = {(i["namespace"], i["name"]): (i["action"], i["reason"], i.get("blocked", "")[:9])
           for i in json.loads(out)}
    assert code == 0
    assert got == {("team-a", "llama-dev"): ("stop", "DeferredBusy", "deferred:"),
                   ("team-a", "mistral-dev"): ("stop", "ScheduleStop", "already s"),
                   ("ml-nyc", "whisper"): ("start", "CaughtUp", "already r"),
                   ("research", "bert-trial"): ("start", "CaughtUp", "already r")}


KINDS_OFFICE = OFFICE.replace("spec:\n", "spec:\n  selector: {kinds: [LLMInferenceService, "
                              "InferenceGraph]}\n", 1)


def other_kind(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": "team-a", "uid": f"uid-{name}",
                         "creationTimestamp": "2026-01-05T09:00:00Z"}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def test_other_kinds_in_the_dump_are_planned_with_their_kind(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = inventory(tmp_path, [isvc("llama"), other_kind("LLMInferenceService", "chat"),
                               other_kind("InferenceGraph", "flow")])
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", KINDS_OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T19:01:00+01:00", "-o", "json")
    assert (code, sorted((i["kind"], i["name"], i["action"]) for i in json.loads(out))) == (
        0, [("InferenceGraph", "flow", "stop"), ("LLMInferenceService", "chat", "stop")])


def test_an_idle_rule_over_graphs_is_said_to_be_schedule_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = inventory(tmp_path, [other_kind("InferenceGraph", "flow"),
                               other_kind("InferenceGraph", "flow2")])
    code, _, err = plan(capsys, "--policies", write(tmp_path, "p.yaml", KINDS_OFFICE),
                        "--inventory", inv, "--at", "2026-01-12T12:00:00+01:00")
    warnings = [line for line in err.splitlines() if "no request signal" in line]
    assert (code, len(warnings)) == (0, 1)
    assert warnings[0].startswith("reclaimer: warning: policy team-a/office: its idle rule "
                                  "governs InferenceGraphs: InferenceGraph has no request")
def meshed(name: str, *, tier: str) -> dict[str, Any]:
    """A ModelMesh ISVC on runtime ``triton``, running."""
    obj = isvc(name)
    obj["metadata"].update(labels={"tier": tier},
                           annotations={"serving.kserve.io/deploymentMode": "ModelMesh"})
    obj["spec"] = {"predictor": {"model": {"modelFormat": {"name": "onnx"},
                                           "runtime": "triton"}}}
    return obj


@pytest.mark.parametrize(("other_tier", "blocked"), [
    pytest.param("prod", "refused: runtime triton also serves team-a/other",
                 id="other-user-running-refused"),
    pytest.param("dev", None, id="every-user-stopped-together"),
])
def test_a_modelmesh_stop_is_refused_while_its_runtime_serves_another(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], other_tier: str,
        blocked: str | None) -> None:
    """The executor's words; a runtime of the same name in another namespace is another."""
    policy = OFFICE.replace("busyAtStop: force", "busyAtStop: force\n  selector: "
                            "{matchLabels: {tier: dev}}")
    elsewhere = meshed("z", tier="prod")
    elsewhere["metadata"]["namespace"] = "team-b"
    inv = inventory(tmp_path, [meshed("a", tier="dev"), meshed("other", tier=other_tier),
                               elsewhere])
    code, out, _ = plan(capsys, "--policies", write(tmp_path, "p.yaml", policy),
                        "--inventory", inv, "--at", "2026-01-12T19:01:00+01:00", "-o", "json")
    stops = [i.get("blocked") for i in json.loads(out) if i["name"] == "a"]
    assert (code, stops) == (0, [blocked])
