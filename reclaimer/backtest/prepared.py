"""What the loop knows before its first step: the services it governs and where
anything can happen to them.

The loop skips the steps where no decision can change anything (`wake`), which needs
these indexes up front: the grid steps where each policy's edges fall due (and where
its windows change), and each idle service's candidate steps (`windows.idle_candidates`).
Built once per replay; ``idle.after: auto`` rebuilds a service's candidates when it
learns a new timeout (`simulate.Loop._learn`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from reclaimer.backtest.options import Options, enforced
from reclaimer.backtest.state import Ledger, Track
from reclaimer.backtest.windows import idle_candidates
from reclaimer.model import Action, Policy, Service, ServiceRef
from reclaimer.policy.matching import Match, governed
from reclaimer.policy.schedule import cached_edges_between
from reclaimer.signals.ranges.history import History, ServiceHistory, steps_in


class Prepared:
    """The governed services, their simulated tracks and ledger, and the step indexes."""

    def __init__(self, policies: Sequence[Policy], services: Sequence[Service],
                 history: History, *, first: int, options: Options) -> None:
        self.policies = enforced(policies)
        self.history = history
        self.grid = history.grid
        self.first, self.options = first, options
        self.settings = options.settings
        self.matches = {m.service.ref: m for m in governed(self.policies, services)}
        self.by_policy: dict[str, list[ServiceRef]] = {}
        for ref, match in self.matches.items():
            self.by_policy.setdefault(match.policy.key, []).append(ref)
        self.tracks = {ref: Track(ref, m.service.uid, gpus=_gpus(m.service, self._one(ref)),
                                  since=0) for ref, m in self.matches.items()}
        self.ledger = Ledger()
        # Running services per namespace, kept as they stop and start (the breaker's).
        self.running = Counter(ref.namespace for ref in self.tracks)
        self.start_steps = -(-round(options.start_time.total_seconds()) // round(self.grid.step))
        self.changes: dict[str, set[int]] = {}  # per policy, where its windows change
        self.edges = self._edge_steps()
        self.candidates = self._candidates()
        self.learning = options.auto is not None or any(
            p.idle is not None and p.idle.auto is not None for p in self.policies)

    def _one(self, ref: ServiceRef) -> ServiceHistory:
        return self.history.of(ref)

    def _edge_steps(self) -> dict[int, set[str]]:
        """Grid index at which each policy's edges fall due (starts ``startLeadTime`` early)."""
        lead = self.settings.start_lead_time
        begin = self.grid.at(self.first) - self.settings.catch_up_horizon
        end = self.grid.at(self.grid.size) + lead
        steps: dict[int, set[str]] = {}
        for key, policy in {m.policy.key: m.policy for m in self.matches.values()}.items():
            for edge in cached_edges_between(policy, begin, end):
                due = edge.at - (lead if edge.action is Action.START else timedelta(0))
                index = max(self.first, self.grid.index(due.timestamp()))
                steps.setdefault(index, set()).add(key)
                self.changes.setdefault(key, set()).add(self.grid.index(edge.at.timestamp()))
        return steps

    def _candidates(self) -> dict[ServiceRef, np.ndarray]:
        lookback = self.settings.busy_lookback
        self.masks: dict[ServiceRef, np.ndarray] = {}
        found = {}
        for ref, match in self.matches.items():
            rule = match.policy.idle
            if rule is not None:
                mask = self.masks[ref] = idle_candidates(self._one(ref), rule,
                                                         lookback=lookback)
                found[ref] = np.flatnonzero(mask)
        return found

    def _uptime_steps(self, match: Match) -> int:
        rule = match.policy.idle
        assert rule is not None
        return steps_in(max(rule.min_uptime, rule.after), self.grid)


def _gpus(service: Service, one: ServiceHistory) -> int:
    """The inventory's count, else the most the history saw the service request."""
    if service.gpus is not None:
        return service.gpus
    seen = one.gpus[~np.isnan(one.gpus)]
    return int(seen.max()) if seen.size else 0
