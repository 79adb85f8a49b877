"""Turning a transition into a blocked one, the same way for every rule.

A blocked transition keeps its action and trigger (what would have happened) and
gets the blocking rule as its ``reason``; the rule that produced it is kept in
``evidence["rule"]``.

``claim`` decides what the ledger does with the schedule edge (docs/design.md §3.2):

- claimed (``edge_key`` kept): the edge is consumed now. Holds, dry runs,
  superseded edges and edges already satisfied are claimed; the decision was made and
  is recorded once.
- not claimed (``edge_key`` None, the key kept in ``evidence["edgeKey"]``): the edge
  is retried next tick. Deferred stops and staggered starts are not claimed.
"""

from __future__ import annotations

from dataclasses import replace

from reclaimer.model import Reason, Transition


def block(transition: Transition, reason: Reason, why: str, *, claim: bool) -> Transition:
    evidence = {**transition.evidence, "rule": transition.reason.value}
    if transition.edge_key is not None:
        evidence["edgeKey"] = transition.edge_key
    return replace(transition, reason=reason, blocked=why, evidence=evidence,
                   edge_key=transition.edge_key if claim else None)
