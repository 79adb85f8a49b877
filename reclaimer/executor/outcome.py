"""What happened to one transition, for the loop, the CLI and the tests; what is
followed up after (`Awaiting`, `HeldStop`); the executor's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from reclaimer.config import ExecutorSettings
from reclaimer.executor import isvc_state as st
from reclaimer.executor.managed.modelmesh import NAME as MODELMESH
from reclaimer.executor.retry import RetryPolicy
from reclaimer.executor.strategy import HANDLERS, Strategy, parse_strategy
from reclaimer.kube.kserve_version import KServeVersion, parse_kserve_version
from reclaimer.kube.ports import Obj
from reclaimer.model import Action, DeploymentMode, ServiceRef, Transition


class ErrorClass(StrEnum):
    """`errors.is_transient`, as the metric's label."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


class OutcomeKind(StrEnum):
    APPLIED = "applied"
    VERIFIED = "verified"
    FAILED = "failed"
    ABANDONED = "abandoned"
    RETRY = "retry"
    """Transient failure (409, 429, 5xx, API down): the planned row stays, next tick retries."""
    SKIPPED = "skipped"
    """Nothing to do here (another replica claimed the edge, or the ISVC is gone)."""


@dataclass(frozen=True)
class Outcome:
    ref: ServiceRef
    action: Action
    kind: OutcomeKind
    record_id: int | None
    message: str
    strategy: str | None = None
    error: ErrorClass | None = None
    """How the API error behind a ``retry`` or ``failed`` outcome was classed."""


def outcome(t: Transition, kind: OutcomeKind, record_id: int | None, message: str,
            strategy: str | None = None, *, error: ErrorClass | None = None) -> Outcome:
    """``t``'s outcome."""
    return Outcome(ref=t.ref, action=t.action, kind=kind, record_id=record_id,
                   message=message, strategy=strategy, error=error)


@dataclass(frozen=True)
class Awaiting:
    """An applied transition whose effect is checked once per tick until ``deadline``."""

    record_id: int
    ref: ServiceRef
    uid: str
    action: Action
    strategy: str
    deadline: datetime
    message: str


def held_while_stopped(strategy: str) -> bool:
    """A stop of this strategy writes reclaimer's own Stopped condition, which an old
    KServe (or anyone rewriting status) may drop: it is held, its condition written
    again while the stop is in place. ModelMesh's too: its condition is all the ISVC
    shows of a stop made on its runtime."""
    return strategy.startswith("managed") or strategy == MODELMESH


@dataclass(frozen=True)
class HeldStop:
    """A managed stop in force: its Stopped condition is written again while it lasts."""

    ref: ServiceRef
    uid: str
    strategy: str
    message: str

    def in_place(self, obj: Obj | None) -> bool:
        """The stop's own state is still there (e.g. autoscalerClass external), whether
        or not KServe kept our condition: the service counts as stopped."""
        return (obj is not None and st.uid_of(obj) == self.uid
                and HANDLERS[self.strategy].still_stopped(obj))


@dataclass(frozen=True)
class ManagedStops:
    """The managed stops in force as one tick observes them."""

    in_place: frozenset[ServiceRef]
    """Stopped, whatever their condition says."""
    released: dict[ServiceRef, str]
    """Started by hand this tick (why, in words): their hold ended, their condition is
    removed; running, for the loop to book the external start."""


@dataclass(frozen=True)
class ExecutorOptions:
    strategy: Strategy = Strategy.AUTO
    verify_timeout: timedelta = timedelta(minutes=5)
    default_mode: DeploymentMode = DeploymentMode.KNATIVE
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    chunk_size: int = 200
    """Transitions claimed and marked per ledger transaction; bounds a tick's memory."""
    retry_rejected_after: timedelta = timedelta(hours=1)
    """A decision without an edge (idle) that failed permanently (403, 422, a refusal)
    is tried again this much later, not every tick; an edge is tried at the next edge."""
    kserve_version: KServeVersion | None = None
    """``executor.kserveVersion``: what KServe's stop covers (`strategy.native_covers`)."""

    @classmethod
    def from_settings(cls, settings: ExecutorSettings, *,
                      default_mode: DeploymentMode) -> ExecutorOptions:
        """``default_mode`` is the cluster's, from `kube.inventory.default_mode`."""
        return cls(strategy=parse_strategy(settings.strategy),
                   verify_timeout=settings.verify_timeout, default_mode=default_mode,
                   kserve_version=parse_kserve_version(settings.kserve_version))
