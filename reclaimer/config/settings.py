"""The service's settings as frozen values, with their defaults (docs/design.md §8)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class ExecutorSettings:
    strategy: str = "auto"
    verify_timeout: timedelta = timedelta(minutes=5)
    max_concurrent_starts: int = 20
    kserve_version: str | None = None
    """KServe's version where the controller Deployment cannot be read (e.g. "0.15.2")."""


@dataclass(frozen=True)
class SafetySettings:
    max_stops_per_tick: int = 50
    mass_idle_fraction: float = 0.5
    mass_idle_minimum: int = 5
    start_lead_time: timedelta = timedelta(0)


@dataclass(frozen=True)
class LeaderElectionSettings:
    enabled: bool = True
    namespace: str = "reclaimer"
    name: str = "reclaimer-leader"
    lease_duration: timedelta = timedelta(seconds=15)
    renew_deadline: timedelta = timedelta(seconds=10)
    retry_period: timedelta = timedelta(seconds=2)
    identity: str = ""


@dataclass(frozen=True)
class HttpSettings:
    host: str = "0.0.0.0"
    port: int = 8080


@dataclass(frozen=True)
class ApiSettings:
    """The owners' API (issue 19): snooze, start, stop, status, with Kubernetes RBAC."""

    enabled: bool = False
    host: str = "0.0.0.0"
    port: int = 8081
    external_url: str | None = None
    """How owners reach the API (the Ingress); put in notices as the snooze URL."""


@dataclass(frozen=True)
class Settings:
    database: str = "sqlite:///reclaimer.db"
    kubeconfig: str | None = None
    policies: tuple[str, ...] = ("policies/",)
    tick: timedelta = timedelta(seconds=30)
    prometheus: Mapping[str, Any] = field(
        default_factory=lambda: {"url": "http://prometheus:9090", "timeout": "10s"}
    )
    executor: ExecutorSettings = ExecutorSettings()
    safety: SafetySettings = SafetySettings()
    leader_election: LeaderElectionSettings = LeaderElectionSettings()
    http: HttpSettings = HttpSettings()
    api: ApiSettings = ApiSettings()
    notify: Mapping[str, Any] = field(default_factory=dict)
    actor: str = ""
    kserve_namespace: str = "kserve"
    # Empty: every namespace (cluster-wide LIST/WATCH); else only these, each on its own.
    watch_namespaces: tuple[str, ...] = ()
