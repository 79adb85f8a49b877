"""A real sandbox API server, the official client over HTTP, and an executor on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, Outcome
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.rest import Rest
from reclaimer.ledger import Ledger, MemoryLedger
from reclaimer.model import Action, DeploymentMode, Reason, ServiceRef, Transition, Trigger
from tests.fixtures.sandbox import SandboxHandle

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
NS = "team-a"


@dataclass
class Harness:
    handle: SandboxHandle
    rest: Rest
    cluster: KubeCluster
    ledger: Ledger
    executor: Executor
    sleeps: list[float] = field(default_factory=list)
    inventory: Inventory | None = None

    def ref(self, name: str = "llama") -> ServiceRef:
        return ServiceRef(NS, name)

    def isvc(self, name: str = "llama") -> dict[str, Any]:
        return self.cluster.get_isvc(self.ref(name))

    def transition(self, action: Action, name: str = "llama", *,
                   edge_key: str | None = None) -> Transition:
        reason = Reason.SCHEDULE_STOP if action is Action.STOP else Reason.SCHEDULE_START
        return Transition(ref=self.ref(name), uid=self.isvc(name)["metadata"]["uid"],
                          action=action, trigger=Trigger.SCHEDULE, reason=reason,
                          policy="team-a/office-hours", at=T0, edge_key=edge_key)

    def apply(self, action: Action, name: str = "llama", *, at: datetime = T0) -> Outcome:
        return self.executor.apply(self.transition(action, name), at=at)

    def settle(self) -> None:
        self.handle.wait_idle(terminations=True)

    def follow_up(self, at: datetime = T0) -> list[Outcome]:
        return self.executor.followup.run(at=at)

    def states(self) -> list[str]:
        return [r.state.value for r in sorted(self.ledger.history(), key=lambda r: r.id)]

    def events(self) -> list[dict[str, Any]]:
        return list(self.rest.request("GET", f"/api/v1/namespaces/{NS}/events")["items"])


def isvc_entry(name: str = "llama", mode: str = "Standard", **extra: Any) -> dict[str, Any]:
    return {"namespace": NS, "name": name, "mode": mode, "gpus": 1,
            "labels": {"tier": "dev"}, **extra}


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(make_sandbox: Callable[..., SandboxHandle]) -> Iterator[MakeHarness]:
    clients: list[Any] = []

    inventories: list[Inventory] = []

    def factory(kserve: str, *isvcs: dict[str, Any], strategy: str = "auto",
                verify_timeout: timedelta = timedelta(minutes=5), termination: float = 0,
                cache: str | None = None, chunk_size: int = 200,
                ledger: Ledger | None = None,
                scenario: dict[str, Any] | None = None) -> Harness:
        """``cache``: "live" (watched, as `reclaimer run` has it) or "frozen" (listed
        once and never updated, so the executor acts on a stale copy) or None;
        ``scenario``: further scenario keys (``objects``, ``keda``, ...);
        ``ledger``: a SQL store to act on; a fresh `MemoryLedger` by default."""
        from reclaimer.executor.strategy import parse_strategy  # noqa: PLC0415

        handle = make_sandbox({"kserve": kserve, "podTerminationSeconds": termination,
                               "namespaces": [NS], "inferenceServices": list(isvcs),
                               **(scenario or {})})
        api = api_client_for_host(handle.url)
        clients.append(api)
        rest = Rest(api)
        cluster = KubeCluster(rest)
        ledger = ledger if ledger is not None else MemoryLedger()
        sleeps: list[float] = []
        options = ExecutorOptions(strategy=parse_strategy(strategy),
                                  verify_timeout=verify_timeout,
                                  default_mode=DeploymentMode.KNATIVE, chunk_size=chunk_size)
        inventory = _inventory(rest, cache)
        if inventory is not None:
            inventories.append(inventory)
        executor = Executor(cluster, ledger, actor="test-replica", options=options,
                            sleep=sleeps.append, cached=inventory)
        return Harness(handle, rest, cluster, ledger, executor, sleeps, inventory)

    yield factory
    for inventory in inventories:
        inventory.stop()
    for api in clients:
        api.close()


def _inventory(rest: Rest, cache: str | None) -> Inventory | None:
    if cache is None:
        return None
    inventory = Inventory(rest)
    if cache == "live":
        inventory.start()
    else:
        inventory.isvcs.resync()
    return inventory
