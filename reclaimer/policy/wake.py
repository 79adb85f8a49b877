"""The next instant worth waking for (``plan.next_wake``), so edges fire on time.

The service ticks every ``tick`` anyway; this instant lets the scheduler add a one-shot
run exactly when something is due between ticks:

- the next schedule edge of every policy in use, a start ``startLeadTime`` early;
- the end of a deferral (``edge.at + maxDefer``), when the stop is forced;
- the expiry of an active hold;
- the end of ``minUptime`` for a running service with an idle rule;
- the earliest instant a busy service could become idle (last request + ``after``).

Only instants strictly after ``now`` count: the result is never in the past.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from reclaimer.model import Edge, Policy, ServiceState
from reclaimer.policy.context import Tick
from reclaimer.policy.edge_cache import cached_edges_between
from reclaimer.policy.edges import due_at
from reclaimer.policy.idle_stop import started_at
from reclaimer.policy.matching import Match
from reclaimer.policy.schedule import next_edge

# A start lead longer than the gap between edges would loop for ever; nothing real
# comes close to this many edges inside one lead time.
_MAX_SKIPPED_EDGES = 1000
# Weekly schedules have an edge within this; it is also the span the memo keeps ahead.
_LOOK_AHEAD = timedelta(days=8)


def next_due_edge(policy: Policy, tick: Tick) -> Edge | None:
    """The first edge of ``policy`` that is due after ``now`` (lead time applied).

    Looked up in the memoised days ahead first (`edge_cache`); a schedule with no such
    edge that soon (a monthly cron) is searched edge by edge.
    """
    ahead = cached_edges_between(policy, tick.now, tick.now + tick.settings.start_lead_time
                                 + _LOOK_AHEAD)
    for edge in ahead[:_MAX_SKIPPED_EDGES]:
        if due_at(edge, tick) > tick.now:
            return edge
    if len(ahead) >= _MAX_SKIPPED_EDGES:
        return None
    return _search(policy, tick)


def _search(policy: Policy, tick: Tick) -> Edge | None:
    edge = next_edge(policy, tick.now)
    for _ in range(_MAX_SKIPPED_EDGES):
        if edge is None or due_at(edge, tick) > tick.now:
            return edge
        edge = next_edge(policy, edge.at)
    return None


def _service_wakes(match: Match, tick: Tick) -> Iterable[datetime]:
    service, policy = match.service, match.policy
    hold = tick.ledger.active_hold(service.ref, tick.now)
    if hold is not None:
        yield hold.until
    rule = policy.idle
    if rule is None or service.state is not ServiceState.RUNNING:
        return
    yield started_at(service, tick) + rule.min_uptime
    signals = tick.signals.get(service.ref)
    if signals is not None and signals.seconds_since_last_request is not None:
        since = timedelta(seconds=signals.seconds_since_last_request)
        yield signals.at - since + rule.after


def next_wake(matches: Sequence[Match], tick: Tick, *, extra: Iterable[datetime] = ()
              ) -> datetime | None:
    """The earliest instant after ``now`` among all of the above and ``extra``."""
    candidates = list(extra)
    policies = {m.policy.key: m.policy for m in matches}
    for key in sorted(policies):
        edge = next_due_edge(policies[key], tick)
        if edge is not None:
            candidates.append(due_at(edge, tick))
    for match in matches:
        candidates.extend(_service_wakes(match, tick))
    return min((c for c in candidates if c > tick.now), default=None)
