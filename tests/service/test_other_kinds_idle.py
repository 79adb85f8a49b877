"""Idle rules on other kinds through the whole loop, with a real Prometheus (issue 15).

The sandbox plays KServe 0.17; Prometheus 2.42 holds backfilled series of two
LLMInferenceServices (vLLM on their workload pods, metrics.md §2.3): ``chat`` idle for
hours, ``coder`` generating. An idle rule over LLMInferenceServices stops ``chat`` and
leaves ``coder``. An InferenceGraph under an idle rule has no request signal: while its
member ``llama`` runs it stays running, and its signals say why, never silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from reclaimer.model import Action, ServiceKind, ServiceRef, ServiceState, Signals, Trigger
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.fixtures.sandbox import SandboxHandle, api_client_for
from tests.service.loop_world import FRIDAY_STOP, build, quiet, scenario
from tests.service.test_other_kinds_schedule import GPU
from tests.signals.render import llm_pods, vllm

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
CHAT = ServiceRef("team-a", "chat", ServiceKind.LLM_INFERENCE_SERVICE)
CODER = ServiceRef("team-a", "coder", ServiceKind.LLM_INFERENCE_SERVICE)
GRAPH = ServiceRef("team-a", "pipeline", ServiceKind.INFERENCE_GRAPH)
ISVC = ServiceRef("team-a", "llama")
AT = FRIDAY_STOP
IDLE_KINDS = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: idle-llm}
spec:
  selector:
    kinds: [LLMInferenceService, InferenceGraph]
    matchLabels: {reclaim: idle}
  idle: {after: 30m, minUptime: 15m}
"""


def _series() -> OpenMetrics:
    om = OpenMetrics()
    at, n = AT - timedelta(hours=3), 0
    while at <= AT + timedelta(minutes=5):
        vllm(om, CHAT, llm_pods(om, CHAT, at, util=0.0), at, done=40, running=0)
        vllm(om, CODER, llm_pods(om, CODER, at, util=70.0), at, done=40 + n, running=1)
        at, n = at + timedelta(seconds=15), n + 1
    return om


def _objects() -> list[dict[str, object]]:
    meta = {"namespace": "team-a", "labels": {"reclaim": "idle"}}
    llms = [{"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
             "metadata": {"name": ref.name, **meta},
             "spec": {"replicas": 1, "template": {"containers": [
                 {"name": "main", "image": "vllm/vllm-openai:latest",
                  "resources": {"limits": GPU, "requests": GPU}}]}}} for ref in (CHAT, CODER)]
    graph = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph",
             "metadata": {"name": GRAPH.name, **meta,
                          "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
             "spec": {"nodes": {"root": {"routerType": "Sequence",
                                         "steps": [{"serviceName": "llama"}]}}}}
    return [*llms, graph]


@dataclass(frozen=True)
class Run:
    states: dict[ServiceRef, ServiceState]
    stops: set[tuple[ServiceRef, Trigger]]
    signals: dict[ServiceRef, Signals]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    """One sandbox for the module's single run (the `make_sandbox` fixture is per test)."""
    from kubesandbox.world import World  # noqa: PLC0415 - keeps collection cheap

    world = World.start(port=0, scenario={**scenario(("team-a", "llama", {"tier": "dev"})),
                                          "kserve": "0.17", "objects": _objects()})
    handle = SandboxHandle(world=world, api_client=api_client_for(world.url))
    yield handle
    handle.close()
    assert world.simulator.errors == []


@pytest.fixture(scope="module")
def run(sandbox: SandboxHandle, prometheus_factory: Callable[[OpenMetrics], str],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    source = PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": prometheus_factory(_series())}))
    world = build(sandbox, tmp_path_factory.mktemp("idle-kinds"),
                  policies={"idle": IDLE_KINDS}, scripts={ISVC: quiet()}, source=source)
    try:
        first = world.tick(AT)
        world.tick(AT + timedelta(minutes=1))
        yield Run(states={s.ref: s.state for s in world.inventory.snapshot()},
                  stops={(r.transition.ref, r.transition.trigger)
                         for r in world.ledger.history()
                         if r.transition.action is Action.STOP and not r.transition.blocked},
                  signals=dict(first.observation.signals.by_service))
    finally:
        world.close()
        source.close()


def test_an_idle_llmisvc_is_stopped_by_the_idle_rule(run: Run) -> None:
    assert (run.states[CHAT], run.stops) == (ServiceState.STOPPED, {(CHAT, Trigger.IDLE)})


def test_a_generating_llmisvc_keeps_running(run: Run) -> None:
    assert run.states[CODER] is ServiceState.RUNNING


def test_a_graph_under_an_idle_rule_runs_and_its_signals_say_schedule_only(run: Run) -> None:
    reason = run.signals[GRAPH].reason or ""
    assert (run.states[GRAPH], "no request signal" in reason, "schedule" in reason) == (
        ServiceState.RUNNING, True, True)
