"""What happened to one transition, for the loop, the CLI and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from reclaimer.config import ExecutorSettings
from reclaimer.executor.retry import RetryPolicy
from reclaimer.executor.strategy import Strategy, parse_strategy
from reclaimer.kube.kserve_version import KServeVersion, parse_kserve_version
from reclaimer.model import Action, DeploymentMode, ServiceRef


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
