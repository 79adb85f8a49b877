"""What one tick saw: the reconciler builds it, the bookkeeping reads it.

Its own module so that `bookkeeping` (metrics, triggers, policy status) and `loop` (which
calls the bookkeeping) both depend on it instead of on each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from reclaimer.errors import PolicyInvalid
from reclaimer.kube.policies import ReadPolicies
from reclaimer.model import LedgerView, Policy, Service, Transition
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
