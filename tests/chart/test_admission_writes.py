"""Every write reclaimer really sends passes the chart's ValidatingAdmissionPolicy.

The real executor stops and starts services against the sandbox with each strategy
(native on KServe 0.16; managed Standard and managed Knative on KServe 0.14), and the
leader elector takes and renews its Lease. A `Rest` that reads each object before it
writes it keeps (object before, object the server returned) for every write: the
oldObject and object admission sees. Each is then evaluated, as the service account,
against the policy the chart renders for that strategy: all must be allowed, and the
drive must have reached every kind of write the policy is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, OutcomeKind
from reclaimer.executor.strategy import parse_strategy
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.rest import Obj, Rest
from reclaimer.ledger import MemoryLedger
from reclaimer.model import Action, DeploymentMode, Reason, ServiceRef, Transition, Trigger
from tests.chart.admission import KINDS, Policy, Request, evaluate
from tests.chart.helm import ADMISSION_KUBE_VERSION, NAMESPACE, Helm
from tests.executor.test_other_kinds import GRAPH, GRAPH_OBJ, LLM, LLM_OBJ
from tests.fixtures.sandbox import MakeSandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
TEAM = "team-a"
ACCOUNT = f"system:serviceaccount:{NAMESPACE}:reclaimer"
PLURALS = {plural: group for group, plural, _ in KINDS.values()}
WRITES = {"PATCH": "UPDATE", "PUT": "UPDATE", "POST": "CREATE"}


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    before: Obj | None
    after: Obj


class RecordingRest(Rest):
    """The real client; each write is preceded by a GET of its target, and kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[Write] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Obj:
        if method not in WRITES:
            return super().request(method, path, **kwargs)
        before = super().request("GET", path) if method != "POST" else None
        after = super().request(method, path, **kwargs)
        self.writes.append(Write(method, path, before, after))
        return after


def admission_request(write: Write) -> Request:
    """/apis/G/V/namespaces/NS/PLURAL[/NAME[/SUB]] (or /api/v1/...) as admission sees it."""
    parts = write.path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    namespace, plural, *tail = rest[1:]
    name = tail[0] if tail else write.after["metadata"]["name"]
    return Request(operation=WRITES[write.method], group=PLURALS[plural], resource=plural,
                   subresource=tail[1] if len(tail) > 1 else "", namespace=namespace,
                   name=name, username=ACCOUNT, object=write.after, old_object=write.before)


def _transition(rest: Rest, ref: ServiceRef, action: Action) -> Transition:
    uid = KubeCluster(rest).get_isvc(ref)["metadata"]["uid"]
    reason = Reason.SCHEDULE_STOP if action is Action.STOP else Reason.SCHEDULE_START
    return Transition(ref=ref, uid=uid, action=action,
                      trigger=Trigger.SCHEDULE, reason=reason, policy=f"{TEAM}/p", at=T0)


@pytest.fixture
def recorded(make_sandbox: MakeSandbox) -> Iterator[Any]:
    clients: list[Any] = []

    def drive(kserve: str, mode: str, strategy: str) -> list[Write]:
        others = kserve == "0.17"  # and the kinds only KServe's own annotation stops
        sandbox = make_sandbox({"kserve": kserve, "podTerminationSeconds": 0,
                                "namespaces": [TEAM, NAMESPACE],
                                "inferenceServices": [{"namespace": TEAM, "name": "llama",
                                                       "mode": mode, "gpus": 1}],
                                "objects": [LLM_OBJ, GRAPH_OBJ] if others else []})
        sandbox.wait_idle()
        api = api_client_for_host(sandbox.url)
        clients.append(api)
        rest = RecordingRest(api)
        options = ExecutorOptions(strategy=parse_strategy(strategy),
                                  default_mode=DeploymentMode.KNATIVE)
        executor = Executor(KubeCluster(rest), MemoryLedger(), actor="r", options=options)
        refs = [ServiceRef(TEAM, "llama"), *((LLM, GRAPH) if others else ())]
        for ref in refs:
            for action in (Action.STOP, Action.START):
                outcome = executor.apply(_transition(rest, ref, action), at=T0)
                assert outcome.kind is OutcomeKind.APPLIED, outcome.message
                sandbox.wait_idle(terminations=True)
        _lease_twice(rest)
        return rest.writes

    yield drive
    for api in clients:
        api.close()


def _lease_twice(rest: Rest) -> None:
    ticks = iter(range(100))
    elector = LeaderElector(rest, LeaseSettings(NAMESPACE, "reclaimer-leader", "r-0"),
                            now=lambda: T0 + timedelta(seconds=next(ticks)),
                            monotonic=lambda: 0.0)
    assert elector.try_acquire_or_renew()  # create
    assert elector.try_acquire_or_renew()  # update


@pytest.mark.parametrize(
    ("kserve", "mode", "strategy", "reaches"),
    [
        pytest.param("0.16", "Standard", "native", {"inferenceservices"}, id="native"),
        pytest.param("0.17", "Standard", "auto",
                     {"inferenceservices", "llminferenceservices", "inferencegraphs"},
                     id="other kinds"),
        pytest.param("0.14", "Standard", "auto",
                     {"inferenceservices", "inferenceservices/status", "deployments/scale"},
                     id="managed Standard"),
        pytest.param("0.14", "Knative", "auto",
                     {"inferenceservices", "inferenceservices/status"}, id="managed Knative"),
    ],
)
def test_every_write_reclaimer_sends_is_allowed(
        helm: Helm, recorded: Any, kserve: str, mode: str, strategy: str,
        reaches: set[str]) -> None:
    rendered = helm.template(set_values=[f"config.executor.strategy={strategy}"],
                             kube_version=ADMISSION_KUBE_VERSION)
    policy = Policy(rendered.one("ValidatingAdmissionPolicy")["spec"])
    requests = [admission_request(w) for w in recorded(kserve, mode, strategy)]
    denied = [(r.resource, r.subresource, evaluate(policy, r).denials) for r in requests
              if not evaluate(policy, r).allowed]
    assert denied == []
    matched = {r.resource + (f"/{r.subresource}" if r.subresource else "")
               for r in requests if policy.matches(r)}
    assert matched == reaches
    unmatched = {r.resource for r in requests if not policy.matches(r)}
    assert unmatched == {"events", "leases"}
