"""A validated ReclaimPolicy and the values it is made of (schedule windows, idle rule,
selectors, schedule edges)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from reclaimer.model.actions import Action
from reclaimer.model.empty import EMPTY
from reclaimer.model.service import DEFAULT_KINDS, Service, ServiceKind


class PolicyMode(StrEnum):
    ENFORCE = "enforce"
    DRY_RUN = "dryRun"


class BusyAtStop(StrEnum):
    DEFER = "defer"
    FORCE = "force"


class IdleDuring(StrEnum):
    ALWAYS = "always"
    OFF_HOURS = "offHours"


@dataclass(frozen=True)
class LabelRequirement:
    """One Kubernetes LabelSelector matchExpression."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present


@dataclass(frozen=True)
class LabelSelector:
    """Kubernetes LabelSelector semantics; the empty selector matches everything."""

    match_labels: Mapping[str, str] = EMPTY
    match_expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(req.matches(labels) for req in self.match_expressions)


@dataclass(frozen=True)
class NamespaceSelector:
    """Which namespaces a file policy covers; CR policies cover only their own."""

    match_names: tuple[str, ...] = ()

    def matches(self, namespace: str) -> bool:
        return not self.match_names or namespace in self.match_names


@dataclass(frozen=True)
class Window:
    """Keep running from each ``start`` cron edge to the next ``stop`` cron edge."""

    start: str
    stop: str


@dataclass(frozen=True)
class AutoIdle:
    """``idle.after: auto``: the bounds of a learned timeout (`policy.auto_idle`).
    ``fallback`` is the rule's answer when the gaps show no pattern."""

    auto_min: timedelta = timedelta(minutes=10)
    auto_max: timedelta = timedelta(hours=2)
    learn_from: timedelta = timedelta(days=14)
    fallback: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class IdleRule:
    """``auto`` set: ``after: auto``, and ``after`` is ``autoMax``, the timeout used
    whenever no learned one is given (fail-safe: no learned timeout is longer)."""

    after: timedelta
    max_requests: int = 0
    gpu_utilization_below: float = 5.0
    min_uptime: timedelta = timedelta(minutes=15)
    during: IdleDuring = IdleDuring.ALWAYS
    auto: AutoIdle | None = None


@dataclass(frozen=True)
class Notify:
    """``spec.notify``: tell a service's owners ``before`` ahead of a planned stop.

    ``sinks`` names notification sinks configured on the service (``notify.sinks`` in
    its config); none named means the configured default sinks. A policy never carries
    a URL: a namespace's CR must not make reclaimer call an address of its choosing.
    """

    before: timedelta
    sinks: tuple[str, ...] = ()


DEFAULT_MAX_SNOOZE = timedelta(hours=12)


@dataclass(frozen=True)
class Policy:
    """A validated ReclaimPolicy.

    ``namespace`` is set for CRs (which govern only their own namespace) and None for
    file policies, which use ``namespace_selector``.
    """

    name: str
    namespace: str | None
    source: str
    selector: LabelSelector = LabelSelector()
    namespace_selector: NamespaceSelector = NamespaceSelector()
    time_zone: str | None = None
    schedule: tuple[Window, ...] = ()
    except_dates: frozenset[str] = frozenset()
    idle: IdleRule | None = None
    busy_at_stop: BusyAtStop = BusyAtStop.DEFER
    max_defer: timedelta = timedelta(hours=2)
    mode: PolicyMode = PolicyMode.ENFORCE
    priority: int = 0
    kinds: frozenset[ServiceKind] = DEFAULT_KINDS
    notify: Notify | None = None
    max_snooze: timedelta = DEFAULT_MAX_SNOOZE

    @property
    def key(self) -> str:
        """Stable identity used in edge keys and the ledger (``ns/name`` or ``name``)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def governs(self, service: Service) -> bool:
        if self.namespace is not None:
            in_scope = service.ref.namespace == self.namespace
        else:
            in_scope = self.namespace_selector.matches(service.ref.namespace)
        return (in_scope and service.kind in self.kinds
                and self.selector.matches(service.labels))


@dataclass(frozen=True, order=True)
class Edge:
    """One schedule edge: at ``at`` (UTC) the policy wants ``action``."""

    at: datetime
    action: Action
    policy: str

    def key_for(self, uid: str) -> str:
        """The ledger's unique key: an edge is applied once per ISVC (docs/design.md §3.2)."""
        return f"{self.policy}|{uid}|{self.at.isoformat()}|{self.action.value}"
