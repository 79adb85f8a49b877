"""What one tick saw: the reconciler builds it, the bookkeeping reads it.

Its own module so that `bookkeeping` (metrics, triggers, policy status) and `loop` (which
calls the bookkeeping) both depend on it instead of on each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reclaimer.errors import PolicyInvalid
from reclaimer.kube.policies import ReadPolicies
from reclaimer.model import EMPTY, LedgerView, Policy, Service, ServiceRef, Transition
from reclaimer.policy.auto_idle import AutoChoice
from reclaimer.policy.matching import Match
from reclaimer.service.observe import GatheredSignals


@dataclass(frozen=True)
class Observation:
    services: list[Service]
    policies: list[Policy]
    invalid: list[PolicyInvalid]
    cluster_read: ReadPolicies | None
    view: LedgerView
    signals: GatheredSignals
    matches: tuple[Match, ...] = ()
    external: tuple[Transition, ...] = ()
    auto: Mapping[ServiceRef, AutoChoice] = field(default=EMPTY)
