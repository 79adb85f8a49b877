"""Which policy governs each service: highest priority wins (docs/design.md §2 ``priority``).

Several policies of the same top priority are a misconfiguration, not an error: the
one with the smallest key is used, so every replica and every tick choose alike, and
the tie is reported as a `PolicyConflict` (kept on the `Match`) for people to fix.

Two observed services with the same namespace/name (a hand-edited inventory, a
recreated ISVC seen twice) are ambiguous: neither is governed this tick, and an
alert says why. Acting on the wrong uid would be worse than waiting.

Every policy's scope is a set of namespaces (a CR's own, a file policy's
``matchNames``, or all of them), so policies are indexed by namespace once per call and
a service is tested (`Policy.governs`) only against the policies of its namespace: the
cost is services x policies per namespace, not services x policies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reclaimer.model import Policy, PolicyConflict, Service


@dataclass(frozen=True)
class Match:
    service: Service
    policy: Policy
    conflict: PolicyConflict | None = None


class NamespaceIndex:
    """The policies whose scope may include a namespace, in their given order."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self._everywhere: list[int] = []
        self._named: dict[str, list[int]] = {}
        for position, policy in enumerate(policies):
            names = ((policy.namespace,) if policy.namespace is not None
                     else policy.namespace_selector.match_names)
            if not names:
                self._everywhere.append(position)
            for name in dict.fromkeys(names):
                self._named.setdefault(name, []).append(position)
        self._policies = tuple(policies)
        self._memo: dict[str, tuple[Policy, ...]] = {}

    def candidates(self, namespace: str) -> tuple[Policy, ...]:
        found = self._memo.get(namespace)
        if found is None:
            positions = sorted([*self._named.get(namespace, ()), *self._everywhere])
            found = self._memo[namespace] = tuple(self._policies[i] for i in positions)
        return found


def _choose(service: Service, candidates: Sequence[Policy]) -> Match:
    top = max(p.priority for p in candidates)
    tied = sorted((p for p in candidates if p.priority == top), key=lambda p: p.key)
    if len(tied) == 1:
        return Match(service=service, policy=tied[0])
    keys = tuple(p.key for p in tied)
    return Match(service=service, policy=tied[0],
                 conflict=PolicyConflict(ref=service.ref, policies=keys, chosen=keys[0]))


def duplicate_alerts(services: Sequence[Service]) -> list[str]:
    """One alert per namespace/name listed more than once; those services are not matched."""
    counts = Counter(s.ref for s in services)
    return [f"{ref} is listed {n} times (uids differ?); left alone this tick"
            for ref, n in sorted((ref, n) for ref, n in counts.items() if n > 1)]


def governed(policies: Sequence[Policy], services: Sequence[Service]) -> list[Match]:
    """Every governed service with its policy, in namespace/name/uid order."""
    counts = Counter(s.ref for s in services)
    index = NamespaceIndex(policies)
    matches: list[Match] = []
    for service in sorted(services, key=lambda s: (s.ref.namespace, s.ref.name, s.uid)):
        candidates = [p for p in index.candidates(service.ref.namespace) if p.governs(service)]
        if counts[service.ref] == 1 and candidates:
            matches.append(_choose(service, candidates))
    return matches


def match_services(policies: Sequence[Policy], services: Sequence[Service]
                   ) -> tuple[list[Match], list[PolicyConflict], list[str]]:
    """Pair every governed service with its policy, in service order; plus alerts."""
    matches = governed(policies, services)
    conflicts = [m.conflict for m in matches if m.conflict is not None]
    return matches, conflicts, duplicate_alerts(services)
