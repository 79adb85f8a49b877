"""ModelMesh: KServe has no per-ISVC stop and never writes a Stopped condition."""

from __future__ import annotations

import pytest

from sandbox_tests.simkit import STOP, annotate, conditions, isvc, scenario
from tests.fixtures.sandbox import MakeSandbox

pytestmark = pytest.mark.integration
VERSIONS = [pytest.param("0.14", id="kserve-0.14"), pytest.param("0.16", id="kserve-0.16")]


@pytest.mark.parametrize("kserve", VERSIONS)
def test_modelmesh_is_ready_without_a_stopped_condition(make_sandbox: MakeSandbox,
                                                         kserve: str) -> None:
    conds = conditions(isvc(make_sandbox(scenario("ModelMesh", kserve=kserve))))
    assert (conds["Ready"]["status"], "Stopped" in conds) == ("True", False)


@pytest.mark.parametrize("kserve", VERSIONS)
def test_modelmesh_ignores_stop(make_sandbox: MakeSandbox, kserve: str) -> None:
    h = make_sandbox(scenario("ModelMesh", kserve=kserve))
    annotate(h, {STOP: "true"})
    conds = conditions(isvc(h))
    assert (conds["Ready"]["status"], "Stopped" in conds) == ("True", False)


def test_modelmesh_status_reports_the_mode(make_sandbox: MakeSandbox) -> None:
    assert isvc(make_sandbox(scenario("ModelMesh")))["status"]["deploymentMode"] == "ModelMesh"
