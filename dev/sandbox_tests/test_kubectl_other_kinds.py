"""The real kubectl reads the Events reclaimer writes on the other kinds (issue 15):
``kubectl events --for llmisvc/NAME`` and ``--for ig/NAME`` on the sandbox's KServe 0.17,
through the CRDs' short names, as for ``isvc/NAME``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubesandbox.server import ApiServer
from sandbox_tests.conftest import Kubectl
from sandbox_tests.simkit import scenario
from tests.executor.test_other_kinds import GRAPH_OBJ, LLM_OBJ
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def world(make_sandbox: MakeSandbox) -> SandboxHandle:
    return make_sandbox({**scenario("Standard", kserve="0.17"),
                         "objects": [LLM_OBJ, GRAPH_OBJ]})


@pytest.fixture
def server(world: SandboxHandle) -> Iterator[ApiServer]:
    yield world.world.server


@pytest.mark.parametrize(("kind", "short", "name"), [
    pytest.param("LLMInferenceService", "llmisvc", "chat", id="llmisvc"),
    pytest.param("InferenceGraph", "ig", "pipeline", id="ig"),
])
def test_events_for_another_kind(kubectl: Kubectl, kind: str, short: str, name: str) -> None:
    kubectl("create", "--validate=false", "-f", "-", stdin=f"""\
apiVersion: v1
kind: Event
metadata: {{name: {name}.1, namespace: team-a}}
involvedObject: {{apiVersion: serving.kserve.io/v1alpha1, kind: {kind},
                 name: {name}, namespace: team-a}}
reason: Reclaimed
message: stopped
type: Normal
""")
    out = kubectl("events", "--for", f"{short}/{name}")
    assert "Reclaimed" in out
