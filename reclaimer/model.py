"""Frozen values shared by every part of reclaimer.

These are the contract between the pure decision core (`policy/`) and the adapters
(`kube/`, `signals/`, `ledger/`, `executor/`): adapters produce and consume only these,
so `decide()` can be tested with literal values and no I/O.

All instants are timezone-aware UTC ``datetime`` values; local time exists only inside
`policy/schedule.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn


class _EmptyMapping(Mapping[Any, Any]):
    """The shared empty default: immutable and hashable, so dataclasses accept it
    as a field default (Python 3.11 rejects unhashable defaults such as
    ``MappingProxyType({})`` as mutable)."""

    def __getitem__(self, key: Any) -> NoReturn:
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        """False at once (`Mapping`'s own asks `__getitem__` and catches its KeyError:
        five times per service and evaluation in `assemble`)."""
        return False

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


EMPTY: Mapping[Any, Any] = _EmptyMapping()


class Action(StrEnum):
    STOP = "stop"
    START = "start"


class Trigger(StrEnum):
    """Why a transition was considered at all (docs/design.md §6)."""

    SCHEDULE = "schedule"
    IDLE = "idle"
    MANUAL = "manual"
    EXTERNAL = "external"
    CATCH_UP = "catch-up"


class Reason(StrEnum):
    """The specific rule that produced a plan entry."""

    SCHEDULE_STOP = "ScheduleStop"
    SCHEDULE_START = "ScheduleStart"
    IDLE_TIMEOUT = "IdleTimeout"
    CAUGHT_UP = "CaughtUp"
    MISSED = "Missed"
    SUPERSEDED = "Superseded"
    DEFERRED_BUSY = "DeferredBusy"
    FORCED_AFTER_MAX_DEFER = "ForcedAfterMaxDefer"
    HELD = "Held"
    DRY_RUN = "DryRun"
    MAX_STOPS_PER_TICK = "MaxStopsPerTick"
    MASS_IDLE_BREAKER = "MassIdleBreaker"
    STAGGERED = "Staggered"
    MEMBERS_STOPPED = "MembersStopped"
    MEMBER_STARTING = "MemberStarting"
    RUNTIME_WOKEN = "RuntimeWoken"
    """A ModelMesh service served again because another's start brought its runtime back."""
    MANUAL = "Manual"
    EXTERNAL_CHANGE = "ExternalChange"


class DeploymentMode(StrEnum):
    """KServe deployment modes, new names; `reclaimer.kserve.parse_mode` maps the old."""

    KNATIVE = "Knative"
    STANDARD = "Standard"
    MODELMESH = "ModelMesh"
    UNKNOWN = "Unknown"




class ServiceKind(StrEnum):
    """The KServe resource a service is. A policy governs only the kinds its selector
    lists (``spec.selector.kinds``), InferenceService alone by default, so a policy
    written before other kinds were observed never starts governing them."""

    INFERENCE_SERVICE = "InferenceService"
    LLM_INFERENCE_SERVICE = "LLMInferenceService"
    INFERENCE_GRAPH = "InferenceGraph"


DEFAULT_KINDS = frozenset({ServiceKind.INFERENCE_SERVICE})
KIND_SHORT_NAMES = {ServiceKind.INFERENCE_SERVICE: "isvc",
                    ServiceKind.LLM_INFERENCE_SERVICE: "llmisvc",
                    ServiceKind.INFERENCE_GRAPH: "ig"}
"""kubectl's short names (the CRDs' ``shortNames``)."""


class ServiceState(StrEnum):
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


class PolicyMode(StrEnum):
    ENFORCE = "enforce"
    DRY_RUN = "dryRun"


class BusyAtStop(StrEnum):
    DEFER = "defer"
    FORCE = "force"


class IdleDuring(StrEnum):
    ALWAYS = "always"
    OFF_HOURS = "offHours"


@dataclass(frozen=True, order=True)
class ServiceRef:
    """Which object: namespace, name and KServe kind. An InferenceService and an
    LLMInferenceService may share a name in one namespace (a migration from one to the
    other), so the kind is part of the identity everywhere, the ledger included."""

    namespace: str
    name: str
    kind: ServiceKind = ServiceKind.INFERENCE_SERVICE

    def __str__(self) -> str:
        """``ns/name`` for an InferenceService (as always), ``llmisvc/ns/name`` and
        ``ig/ns/name`` for the other kinds."""
        where = f"{self.namespace}/{self.name}"
        short = KIND_SHORT_NAMES[self.kind]
        return where if self.kind is ServiceKind.INFERENCE_SERVICE else f"{short}/{where}"

    def __hash__(self) -> int:
        """Computed once per object: a tick hashes each service's ref dozens of times
        (6.6 million hashes in one evaluation at 50,000 ISVCs), and the generated hash
        built a tuple and called the enum's Python-level hash each time."""
        try:
            return self.__dict__["_hash"]  # type: ignore[no-any-return]
        except KeyError:
            value = hash((self.namespace, self.name, self.kind))
            object.__setattr__(self, "_hash", value)
            return value

    def __getstate__(self) -> dict[str, object]:
        """Without the cached hash: a string's hash differs between processes."""
        return {"namespace": self.namespace, "name": self.name, "kind": self.kind}


@dataclass(frozen=True)
class Service:
    """One observed InferenceService.

    ``stop_changed_by`` comes from managedFields: the field manager that last set the
    stop annotation, which names the actor of an external change (docs/design.md §3.2).
    ``stop_changed_at`` is that entry's ``time``, kept for display only: the API server
    moves it whenever that manager changes *any* of its fields, so no decision uses it;
    the time of a change is when reclaimer observed it (the ledger's ``observed`` row).
    """

    ref: ServiceRef
    uid: str
    mode: DeploymentMode
    state: ServiceState
    created_at: datetime
    labels: Mapping[str, str] = EMPTY
    gpus: int | None = None
    stop_changed_at: datetime | None = None
    stop_changed_by: str | None = None
    kind: ServiceKind = ServiceKind.INFERENCE_SERVICE
    members: tuple[str, ...] | None = None
    """An InferenceGraph's member InferenceServices (same namespace); None when unknown
    or for other kinds (`reclaimer.kserve.graph_members`)."""


# --- policies ---------------------------------------------------------------------


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


# --- signals ----------------------------------------------------------------------


class SignalState(StrEnum):
    KNOWN = "known"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RecentActivity:
    """Activity within the evaluation's recent span (the busy-at-stop lookback).

    A schedule stop that defers busy services asks what happened in the last few
    minutes, not over an idle rule's longer window: a GPU that ran a long generation
    with no request completed is busy (docs/design.md §3.4). Completed requests and requests
    in flight are in ``Signals.seconds_since_last_request`` (an in-flight gauge above
    0 at a step is activity at that step); this adds the GPU.
    """

    span: timedelta
    gpu_utilization_max: float | None = None


@dataclass(frozen=True)
class Signals:
    """What Prometheus said about one ISVC over ``window`` ending at ``at``.

    Every value may be None: unknown is explicit, and unknown is never idle.
    ``recent`` is None where the source did not measure it or the state is unknown.
    """

    ref: ServiceRef
    at: datetime
    window: timedelta
    state: SignalState
    requests: float | None = None
    seconds_since_last_request: float | None = None
    gpu_utilization_max: float | None = None
    gpu_utilization_mean: float | None = None
    gpus: int | None = None
    coverage_seconds: float | None = None
    reason: str | None = None
    recent: RecentActivity | None = None

    @classmethod
    def unknown(cls, ref: ServiceRef, *, at: datetime, window: timedelta, reason: str) -> Signals:
        return cls(ref=ref, at=at, window=window, state=SignalState.UNKNOWN, reason=reason)


# --- ledger facts -----------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    ref: ServiceRef
    until: datetime
    reason: str
    who: str


@dataclass(frozen=True)
class LastTransition:
    """The latest recorded transition of one ISVC: its state and since when.

    ``transition_id`` names the ledger row (None where no ledger row exists: backtests):
    two facts can share action and time (a clock behind the last fact dates a change
    at it), never a row, so what an external change changes is keyed by it. Decisions
    never read it, so it takes no part in equality."""

    ref: ServiceRef
    action: Action
    trigger: Trigger
    at: datetime
    uid: str = ""
    transition_id: int | None = field(default=None, compare=False)


# How far back the ledger reports idle stops to the breaker; ``mass_idle_span`` is at
# most this.
RECENT_IDLE = timedelta(hours=1)


@dataclass(frozen=True)
class LedgerView:
    """Read-only facts from the ledger that `decide()` needs."""

    applied_edge_keys: frozenset[str] = frozenset()
    last_transitions: Mapping[ServiceRef, LastTransition] = EMPTY
    holds: Mapping[ServiceRef, Hold] = EMPTY
    # Edge key -> the first tick that deferred that stop (its first ``DeferredBusy`` row):
    # the deferral clock (``maxDefer``) counts from there, never from the edge instant.
    deferred_since: Mapping[str, datetime] = EMPTY
    # Services reclaimer idle-stopped within the last `RECENT_IDLE` (latest instant): the
    # mass-idle breaker counts them with this tick's proposals.
    recent_idle_stops: Mapping[ServiceRef, datetime] = EMPTY

    def active_hold(self, ref: ServiceRef, now: datetime) -> Hold | None:
        hold = self.holds.get(ref)
        return hold if hold is not None and hold.until > now else None


# --- the plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One entry of a plan.

    ``blocked`` says why it is not acted on (held, dry run, deferred, breaker...);
    blocked entries are still recorded, so the ledger says what would have happened.
    """

    ref: ServiceRef
    uid: str
    action: Action
    trigger: Trigger
    reason: Reason
    policy: str | None
    at: datetime
    edge_key: str | None = None
    evidence: Mapping[str, Any] = EMPTY
    blocked: str | None = None
    gpus: int | None = None

    @property
    def actionable(self) -> bool:
        return self.blocked is None


@dataclass(frozen=True)
class PolicyConflict:
    """Several policies of equal top priority match one ISVC."""

    ref: ServiceRef
    policies: tuple[str, ...]
    chosen: str


@dataclass(frozen=True)
class PolicyFault:
    """A policy whose decision raised: it is left out of this tick's plan entirely, and
    the loop reports it as invalid (``Valid=False``, metric, log); the others act."""

    policy: str
    source: str
    message: str


@dataclass(frozen=True)
class Plan:
    transitions: tuple[Transition, ...] = ()
    missed: tuple[Transition, ...] = ()
    conflicts: tuple[PolicyConflict, ...] = ()
    alerts: tuple[str, ...] = ()
    next_wake: datetime | None = None
    breaker_open: bool = False
    faults: tuple[PolicyFault, ...] = ()

    @property
    def actionable(self) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.actionable)


@dataclass(frozen=True)
class DecideSettings:
    """Safety knobs from config (docs/design.md §3.5, §8)."""

    max_stops_per_tick: int = 50
    mass_idle_fraction: float = 0.5
    mass_idle_minimum: int = 5
    # Idle stops made this long ago still count for the breaker (at most `RECENT_IDLE`).
    mass_idle_span: timedelta = timedelta(minutes=15)
    max_concurrent_starts: int = 20
    start_lead_time: timedelta = timedelta(0)
    busy_lookback: timedelta = timedelta(minutes=5)
    catch_up_horizon: timedelta = timedelta(days=8)
    # An edge acted on later than this after it was due is recorded as a catch-up.
    catch_up_after: timedelta = timedelta(minutes=5)
    # Signals taken longer ago than this (or ahead of ``now``) are stale: unknown.
    signals_max_age: timedelta = timedelta(minutes=2)
    # Starts held back by ``max_concurrent_starts`` are tried again this soon, not a tick
    # later: a Monday-morning edge for 1,000 services must not take 50 ticks.
    stagger_retry: timedelta = timedelta(seconds=5)
