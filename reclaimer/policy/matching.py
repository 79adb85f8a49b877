"""Which policy governs each service: highest priority wins (DESIGN §2 ``priority``).

Several policies of the same top priority are a misconfiguration, not an error: the
one with the smallest key is used, so every replica and every tick choose alike, and
the tie is reported as a `PolicyConflict` for people to fix.

Two observed services with the same namespace/name (a hand-edited inventory, a
recreated ISVC seen twice) are ambiguous: neither is governed this tick, and an
alert says why. Acting on the wrong uid would be worse than waiting.
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


def _choose(service: Service, candidates: Sequence[Policy]) -> tuple[Policy, PolicyConflict | None]:
    top = max(p.priority for p in candidates)
    tied = sorted((p for p in candidates if p.priority == top), key=lambda p: p.key)
    if len(tied) == 1:
        return tied[0], None
    keys = tuple(p.key for p in tied)
    return tied[0], PolicyConflict(ref=service.ref, policies=keys, chosen=keys[0])


def match_services(policies: Sequence[Policy], services: Sequence[Service]
                   ) -> tuple[list[Match], list[PolicyConflict], list[str]]:
    """Pair every governed service with its policy, in service order; plus alerts."""
    counts = Counter(s.ref for s in services)
    alerts = [f"{ref} is listed {n} times (uids differ?); left alone this tick"
              for ref, n in sorted(counts.items()) if n > 1]
    matches: list[Match] = []
    conflicts: list[PolicyConflict] = []
    for service in sorted(services, key=lambda s: (s.ref.namespace, s.ref.name, s.uid)):
        candidates = [p for p in policies if p.governs(service)]
        if counts[service.ref] > 1 or not candidates:
            continue
        policy, conflict = _choose(service, candidates)
        matches.append(Match(service=service, policy=policy))
        if conflict is not None:
            conflicts.append(conflict)
    return matches, conflicts, alerts
