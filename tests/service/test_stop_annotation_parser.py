"""Issue 13 case 5: ``serving.kserve.io/stop: " true"`` is read as KServe reads it.

KServe stops only on an exact, case-insensitive "true" (no trimming), so a service
annotated ``" true"`` is running: a schedule stop must really stop it (write exactly
"true"), report the odd value, and never record an "already stopped" stop that did not
happen nor a phantom external start afterwards.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer import kserve
from reclaimer.kube.rest import ISVC
from reclaimer.ledger.records import RecordState
from reclaimer.model import Action, ServiceRef, Trigger
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import FRIDAY_STOP, OFFICE_HOURS, build, quiet, scenario

LLAMA = ServiceRef("team-a", "llama")


@pytest.mark.parametrize(("value", "stops"), [
    pytest.param("true", True, id="lower"),
    pytest.param("True", True, id="title"),
    pytest.param("TRUE", True, id="upper"),
    pytest.param(" true", False, id="leading-space"),
    pytest.param("true ", False, id="trailing-space"),
    pytest.param("true\n", False, id="newline"),
    pytest.param("yes", False, id="yes"),
    pytest.param("1", False, id="one"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="absent"),
    pytest.param(True, False, id="not-a-string"),
    pytest.param("\u0074rue", True, id="plain-unicode-t"),
    pytest.param("tru\u00e9", False, id="accented"),
])
def test_case5_stop_parser_is_kserves(value: object, stops: bool) -> None:
    assert kserve.stop_requested(value) is stops


@pytest.mark.parametrize(("value", "odd"), [
    pytest.param(" true", True, id="leading-space"),
    pytest.param("TRUE\t", True, id="tab"),
    pytest.param("true", False, id="a-real-stop"),
    pytest.param("false", False, id="false"),
    pytest.param(None, False, id="absent"),
])
def test_case5_odd_values_are_named(value: object, odd: bool) -> None:
    assert (kserve.odd_stop_value(value) is not None) is odd


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_case5_space_true_is_running_and_a_stop_writes_exactly_true(
        make_sandbox: MakeSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    world_scenario = scenario(("team-a", "llama", {"tier": "dev"}))
    world_scenario["inferenceServices"][0]["annotations"] = {  # type: ignore[index]
        kserve.STOP_ANNOTATION: " true"}
    world = build(make_sandbox(world_scenario), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}}, scripts={LLAMA: quiet()})
    try:
        world.tick(FRIDAY_STOP - timedelta(minutes=5))
        world.tick(FRIDAY_STOP)
        for minute in (1, 2, 3):
            world.tick(FRIDAY_STOP + timedelta(minutes=minute))
        obj = world.rest.get(ISVC, "team-a", "llama")
        records = [r for r in world.ledger.history(name="llama")
                   if r.state is not RecordState.SKIPPED]
    finally:
        world.close()
    assert obj["metadata"]["annotations"][kserve.STOP_ANNOTATION] == "true"
    assert [(r.transition.action, r.transition.trigger, r.state) for r in records] == [
        (Action.STOP, Trigger.SCHEDULE, RecordState.VERIFIED)]
    assert any("' true'" in message for message in caplog.messages)
