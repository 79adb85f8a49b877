"""What every strategy gets to work with, and what it must provide."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from reclaimer.errors import Conflict, Refused
from reclaimer.executor import isvc_state as st
from reclaimer.kserve import OWN_START_REASON, OWN_STOP_REASON
from reclaimer.kube.ports import Cluster, Obj, RuntimeWorkload
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import Action

T = TypeVar("T")


class Caller(Protocol):
    def __call__(self, fn: Callable[[], T]) -> T: ...


@dataclass(frozen=True)
class Context:
    """``call`` runs one API call under the retry policy (5xx backoff, Retry-After)."""

    cluster: Cluster
    ledger: Ledger
    call: Caller
    may_write: Callable[[], str | None] = lambda: None
    """The executor's guard, for writes made after the chunk's check (putting back a
    stop that failed): why this process may not write now, or None."""
    actor: str = "reclaimer"
    """The replica identity rows written by a strategy carry (`modelmesh`'s woken starts)."""


@dataclass(frozen=True)
class Workload:
    """What runs for one ISVC, as one tick's LISTs saw it: its live pods (Terminating
    ones hold their GPUs, so they count) and, for a strategy that `reads_deployments`,
    its component Deployments (the objects KServe's own readiness is made from)."""

    pods: int = 0
    deployments: tuple[Obj, ...] = ()
    unread: str | None = None
    """Why the Deployments could not be read this tick (then nothing counts as done)."""
    runtime: RuntimeWorkload | None = None
    """A ModelMesh ISVC's shared runtime Deployment and its pods (`managed.runtime`)."""


class Handler(Protocol):
    name: str
    reads_deployments: bool
    """Whether verification needs the ISVC's component Deployments (one more LIST per
    namespace with such a transition awaiting)."""

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        """Make the change; returns what kind of stop was achieved, for Event and status."""

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str: ...

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        """Why this strategy will not act on ``obj`` at all, decided before any write."""

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """What to save before acting that ``obj`` alone tells: the executor writes it
        with the planned row, in the chunk's one transaction. None when there is nothing
        to save, or when ``stop`` saves its own because it needs more than the object."""

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        """What the cluster does not show yet for the transition to count as done (GPU
        really free for a stop, the model served again for a start), or None once it
        shows it. Never a condition that KServe may leave stale across the change."""

    def still_stopped(self, obj: Obj) -> bool:
        """Whether this strategy's stop is still in place (nobody started it by hand)."""

    def freed_gpus(self, ctx: Context, obj: Obj) -> int | None:
        """After a successful stop: the GPUs it freed when the strategy knows better
        than the decision's count (a ModelMesh stop), recorded on its row; None keeps
        the decision's count."""


def write_condition(ctx: Context, obj: Obj, *, stopped: bool, message: str,
                    at: datetime, attempts: int = 3) -> None:
    """Assert reclaimer's Stopped condition.

    KServe writes status right after our spec changes, so a 409 is expected: re-read and
    try again a few times; if it still conflicts, the next tick's re-assert does it.
    """
    ref = st.ref_of(obj)
    for attempt in range(attempts):
        if attempt:
            obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
        body = st.with_condition(obj, status="True" if stopped else "False",
                                 reason=OWN_STOP_REASON if stopped else OWN_START_REASON,
                                 message=message, at=at)
        try:
            ctx.call(lambda body=body: ctx.cluster.patch_isvc_status(ref, body))  # type: ignore[misc]
        except Conflict:
            continue
        return


def saved_restore_info(ctx: Context, obj: Obj, *, strategy: str, restores: str) -> dict[str, Any]:
    """What a managed stop saved before it changed anything; refuse to guess without it."""
    ref = st.ref_of(obj)
    saved = ctx.ledger.load_restore_info(ref, st.uid_of(obj))
    if saved is None or saved.get("strategy") != strategy:
        raise Refused(f"no restore information saved for a managed stop of {ref}; "
                      f"start it by hand (restore {restores})")
    return dict(saved)
