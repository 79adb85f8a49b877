"""`reclaimer stop/start/hold/history` with other kinds named kubectl's way, against the
sandbox's KServe 0.17 over HTTP (issue 15): the LLMInferenceService is acted on, not an
InferenceService of the same name, and its GPUs are counted from its workload pods."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reclaimer.cli import main
from reclaimer.ledger import open_ledger
from reclaimer.ledger.engine import parse_url
from reclaimer.ledger.schema_check import upgrade
from reclaimer.model import ServiceKind
from tests.executor.conftest import NS, isvc_entry
from tests.executor.test_other_kinds import GRAPH_OBJ, LLM_OBJ
from tests.fixtures.sandbox import SandboxHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _setup(make_sandbox: Callable[..., SandboxHandle], tmp_path: Path) -> tuple[list[str], str]:
    # An InferenceService named like the LLMInferenceService: only the kind tells them apart.
    handle = make_sandbox({"kserve": "0.17", "podTerminationSeconds": 0, "namespaces": [NS],
                           "inferenceServices": [isvc_entry(name="chat")],
                           "objects": [LLM_OBJ, GRAPH_OBJ]})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(handle.world.kubeconfig())
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade(parse_url(db))
    return ["--kubeconfig", str(kubeconfig), "--db", db, "--actor", "alice@laptop",
            "--timeout", "30s"], db


def test_stop_and_start_act_on_the_kind_named(make_sandbox: Callable[..., SandboxHandle],
                                              tmp_path: Path) -> None:
    flags, db = _setup(make_sandbox, tmp_path)
    codes = [main(["stop", f"llmisvc/{NS}/chat", *flags]),
             main(["stop", f"ig/{NS}/pipeline", *flags]),
             main(["start", f"llmisvc/{NS}/chat", *flags])]
    ledger = open_ledger(db)
    try:
        rows = sorted(ledger.history(), key=lambda r: r.id)
    finally:
        ledger.close()
    assert codes == [0, 0, 0]
    assert [(r.transition.ref.kind, r.transition.action.value, r.transition.gpus,
             r.state.value) for r in rows] == [
        (ServiceKind.LLM_INFERENCE_SERVICE, "stop", 2, "verified"),
        (ServiceKind.INFERENCE_GRAPH, "stop", None, "verified"),
        (ServiceKind.LLM_INFERENCE_SERVICE, "start", 2, "verified")]


def test_hold_and_history_filter_by_kind(make_sandbox: Callable[..., SandboxHandle],
                                         tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    flags, db = _setup(make_sandbox, tmp_path)
    kubeconfig = flags[1]
    assert main(["hold", f"llmisvc/{NS}/chat", "--until", "2h", "--reason", "demo",
                 "--kubeconfig", kubeconfig, "--db", db]) == 0
    assert main(["stop", f"llmisvc/{NS}/chat", *flags]) == 1  # held
    assert main(["stop", f"{NS}/chat", *flags]) == 0  # the InferenceService is not held
    capsys.readouterr()
    assert main(["history", "--db", db, "--kind", "llminferenceservice", "-o", "json"]) == 0
    kinds = {item["kind"] for item in json.loads(capsys.readouterr().out)}
    assert main(["history", "--db", db, "--kind", "isvc", "-o", "json"]) == 0
    isvcs = [(i["kind"], i["name"]) for i in json.loads(capsys.readouterr().out)]
    assert (kinds, isvcs) == (set(), [("InferenceService", "chat")])
