"""The service's Prometheus metrics (README "Metrics" lists them for operators).

Each service instance owns its registry, so tests and the demo can run several
instances in one process without colliding in prometheus_client's global registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class ServiceMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        """Registered in the order /metrics has always listed them."""
        r = self.registry
        self._register_outcomes(r)
        self._register_loop_health(r)
        self._register_degraded_inputs(r)
        self.last_tick = Gauge(
            "reclaimer_last_successful_tick_timestamp_seconds",
            "Unix time of the last tick that completed.", registry=r)

    def _register_outcomes(self, r: CollectorRegistry) -> None:
        """What reclaimer did and what failed, the services it sees, the GPUs given back."""
        self.transitions = Counter(
            "reclaimer_transitions", "Transitions by action, trigger and outcome.",
            ["action", "trigger", "outcome"], registry=r)
        self.transition_errors = Counter(
            "reclaimer_transition_errors",
            "API errors met while acting, by action and class: transient ones are "
            "retried on the same row, a permanent one fails its decision once.",
            ["action", "class"], registry=r)
        self.services = Gauge(
            "reclaimer_services", "Observed InferenceServices by state.", ["state"], registry=r)
        self.gpus_reclaimed = Gauge(
            "reclaimer_gpus_reclaimed", "GPUs currently freed by reclaimer stops.", registry=r)
        self.gpu_hours = Counter(
            "reclaimer_gpu_hours_reclaimed", "GPU-hours given back since start.", registry=r)

    def _register_loop_health(self, r: CollectorRegistry) -> None:
        """The tick, the breaker, the schedule's lateness, policies and the leader lease."""
        self.tick_seconds = Histogram(
            "reclaimer_tick_seconds", "Wall time of one reconcile tick.",
            buckets=TICK_BUCKETS, registry=r)
        self.signals_unknown = Gauge(
            "reclaimer_signals_unknown", "Matched services whose signals are unknown.", registry=r)
        self.breaker_open = Gauge(
            "reclaimer_mass_idle_breaker_open",
            "1 while the mass-idle breaker holds back idle stops.", registry=r)
        self.edge_lateness = Histogram(
            "reclaimer_edge_lateness_seconds", "Seconds from a schedule edge to its first action.",
            buckets=LATENESS_BUCKETS, registry=r)
        self.invalid_policies = Gauge(
            "reclaimer_policies_invalid", "Policy documents that failed validation.", registry=r)
        self.leader = Gauge(
            "reclaimer_leader", "1 while this replica holds the leader lease.", registry=r)
        self.lease_time_left = Gauge(
            "reclaimer_lease_time_left_seconds",
            "Seconds the leader may still start writes before its lease's safety margin "
            "(leaseDuration - renewDeadline since the last renewal) runs out.", registry=r)

    def _register_degraded_inputs(self, r: CollectorRegistry) -> None:
        """Inputs the loop had to do without: partial answers, raw fallbacks, 403 rows."""
        self.partial_answers = Counter(
            "reclaimer_prometheus_partial_answers",
            "Query answers that carried warnings (partial data): every service unknown.",
            ["query"], registry=r)
        self.recorded_fallbacks = Counter(
            "reclaimer_prometheus_recorded_fallbacks",
            "Evaluations in signals mode recorded that asked the raw queries: the recording "
            "rules are absent or missed an evaluation within the horizon.", registry=r)
        self.pending_unreadable = Gauge(
            "reclaimer_pending_rows_unreadable",
            "Pending ledger rows left because their InferenceService cannot be read "
            "(a 403): tried again every 10 minutes.", registry=r)

    def count_partial_answer(self, query: str) -> None:
        self.partial_answers.labels(query=query).inc()

    def count_recorded_fallback(self) -> None:
        self.recorded_fallbacks.inc()
