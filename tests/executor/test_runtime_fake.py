"""The runtime-level action on the in-memory cluster: crashes and retries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reclaimer.executor.base import Context
from reclaimer.executor.managed import runtime as rt
from reclaimer.ledger import MemoryLedger
from tests.fixtures.memory_cluster import MemoryCluster

pytestmark = pytest.mark.timeout(10)
AT = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
NS = "team-a"


def _world(replicas: int | None) -> tuple[MemoryCluster, Context]:
    cluster = MemoryCluster()
    spec = {} if replicas is None else {"replicas": replicas}
    cluster.put_serving_runtime({"metadata": {"name": "triton", "namespace": NS,
                                              "uid": "uid-rt"}, "spec": spec})
    return cluster, Context(cluster=cluster, ledger=MemoryLedger(), call=lambda fn: fn())


@pytest.mark.parametrize("replicas", [pytest.param(None, id="absent"),
                                      pytest.param(3, id="three")])
def test_a_retry_after_a_crash_between_saving_and_scaling_restores_the_first_value(
        replicas: int | None) -> None:
    cluster, ctx = _world(replicas)
    cluster.fail("patch", "servingruntimes", status=503)  # the "crash": saved, not scaled
    with pytest.raises(Exception, match="injected"):
        rt.scale_down(ctx, NS, "triton", by="uid-a", at=AT)
    rt.scale_down(ctx, NS, "triton", by="uid-a", at=AT)
    rt.scale_down(ctx, NS, "triton", by="uid-a", at=AT)  # a second retry finds 0 under a live row
    rt.scale_up(ctx, NS, "triton", at=AT)
    assert cluster.serving_runtime(NS, "triton")["spec"].get("replicas") == replicas


def test_a_retried_start_after_the_runtime_is_back_writes_nothing() -> None:
    cluster, ctx = _world(2)
    rt.scale_down(ctx, NS, "triton", by="uid-a", at=AT)
    rt.scale_up(ctx, NS, "triton", at=AT)
    writes = cluster.writes()
    said = rt.scale_up(ctx, NS, "triton", at=AT)
    assert (cluster.writes() - writes, "no scale-down" in said) == (0, True)


def test_the_sharing_refusal_names_every_running_user() -> None:
    from reclaimer.model import ServiceRef  # noqa: PLC0415
    assert rt.sharing_refusal("triton", [ServiceRef(NS, "z"), ServiceRef(NS, "b")]) == (
        "refused: runtime triton also serves team-a/b, team-a/z")
