"""When to tell a service's owners that a stop is coming (``spec.notify.before``, issue 19).

Pure: the caller passes ``now`` and what the ledger says was already announced; nothing
here reads a clock or sends anything. Two kinds of planned stop are announced:

- **schedule**: the policy's next stop edge lies within ``before`` of ``now`` (after
  ``now``), the service runs, and no hold covers the edge. Announced once per edge.
- **idle**: the service runs, its signals are known and fresh, its GPUs are quiet, and
  its idle timeout falls within ``before``: the timeout is ``after`` past its last
  request (``now`` when no request is in the window), and never before its uptime
  allows (``max(minUptime, after)`` past its start). This is an estimate: any request
  calls the stop off, as it always does; the notice says *planned*, not *certain*. It
  is announced again only when the planned instant moved by at least ``before`` since
  the last announcement (someone used it, then stopped again), so step jitter in the
  last-request time never repeats a notice.

Nothing is announced for a dry-run policy or a service whose stop is already due: a
notice after the fact helps nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.model import (
    Action,
    Edge,
    IdleDuring,
    Policy,
    PolicyMode,
    ServiceRef,
    ServiceState,
    Signals,
    SignalState,
    Trigger,
)
from reclaimer.policy.context import Tick
from reclaimer.policy.idle import busy_gpu_threshold, started_at
from reclaimer.policy.matching import Match
from reclaimer.policy.schedule import edges_between, window_open

# (service, trigger) -> the latest planned-stop instant already announced for it.
Announced = Mapping[tuple[ServiceRef, Trigger], datetime]


@dataclass(frozen=True)
class PlannedStop:
    """One notice to send: ``at`` is when the stop is planned, ``key`` names it once."""

    ref: ServiceRef
    uid: str
    policy: str
    trigger: Trigger
    at: datetime
    reason: str
    sinks: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.policy}|{self.uid}|{self.trigger.value}|{self.at.isoformat()}"


def planned_stops(matches: Sequence[Match], tick: Tick, *,
                  announced: Announced) -> list[PlannedStop]:
    """The notices due at ``tick.now`` that were not sent before."""
    notices = []
    next_stops: dict[str, Edge | None] = {}  # per policy, not per service: a cron scan
    for match in matches:
        notify = match.policy.notify
        if notify is None or not _may_stop(match, tick):
            continue
        key = match.policy.key
        if key not in next_stops:
            next_stops[key] = _next_stop(match.policy, tick)
        for found in (_schedule_stop(match, next_stops[key], tick), _idle_stop(match, tick)):
            if found is not None and _is_news(found, announced, before=notify.before):
                notices.append(found)
    return notices


def _may_stop(match: Match, tick: Tick) -> bool:
    return (match.policy.mode is PolicyMode.ENFORCE
            and match.service.state is ServiceState.RUNNING)


def _is_news(stop: PlannedStop, announced: Announced, *, before: timedelta) -> bool:
    last = announced.get((stop.ref, stop.trigger))
    if last is None:
        return True
    if stop.trigger is Trigger.SCHEDULE:
        return last != stop.at
    return stop.at >= last + before


def _next_stop(policy: Policy, tick: Tick) -> Edge | None:
    """The policy's first stop edge within ``notify.before`` after ``now``."""
    assert policy.notify is not None
    edges = edges_between(policy, tick.now, tick.now + policy.notify.before)
    return next((e for e in edges if e.action is Action.STOP), None)


def _schedule_stop(match: Match, stop: Edge | None, tick: Tick) -> PlannedStop | None:
    policy, service = match.policy, match.service
    if stop is None or _held_over(service.ref, stop.at, tick):
        return None
    reason = f"schedule of policy {policy.key} stops it at {stop.at.isoformat()}"
    return _notice(match, Trigger.SCHEDULE, at=stop.at, reason=reason)


def _idle_stop(match: Match, tick: Tick) -> PlannedStop | None:
    policy, service = match.policy, match.service
    rule, notify = tick.idle_rule(match), policy.notify
    assert notify is not None
    signals = tick.signals.get(service.ref)
    if rule is None or not _quiet(signals, policy, tick):
        return None
    assert signals is not None
    since = signals.seconds_since_last_request
    by_requests = (tick.now if since is None
                   else tick.now + rule.after - timedelta(seconds=since))
    by_uptime = started_at(service, tick) + max(rule.min_uptime, rule.after)
    at = max(by_requests, by_uptime)
    if not tick.now < at <= tick.now + notify.before or _held_over(service.ref, at, tick):
        return None
    if rule.during is IdleDuring.OFF_HOURS and window_open(policy, at):
        return None
    reason = f"idle for {rule.after} by {at.isoformat()} (policy {policy.key})"
    return _notice(match, Trigger.IDLE, at=at, reason=reason)


def _quiet(signals: Signals | None, policy: Policy, tick: Tick) -> bool:
    """Known, fresh signals with the GPUs below the policy's threshold lately."""
    if signals is None or signals.state is not SignalState.KNOWN:
        return False
    if abs(tick.now - signals.at) > tick.settings.signals_max_age:
        return False
    recent = signals.recent.gpu_utilization_max if signals.recent else None
    gpu = recent if recent is not None else signals.gpu_utilization_max
    return gpu is None or gpu < busy_gpu_threshold(policy)


def _held_over(ref: ServiceRef, at: datetime, tick: Tick) -> bool:
    """A hold (snooze) still in force at the planned instant means no stop then."""
    hold = tick.ledger.holds.get(ref)
    return hold is not None and hold.until > at


def _notice(match: Match, trigger: Trigger, *, at: datetime, reason: str) -> PlannedStop:
    notify = match.policy.notify
    assert notify is not None
    return PlannedStop(ref=match.service.ref, uid=match.service.uid, policy=match.policy.key,
                       trigger=trigger, at=at, reason=reason, sinks=notify.sinks)


def announced_of(notices: Sequence[tuple[ServiceRef, Trigger, datetime]]) -> Announced:
    """The latest announced instant per (service, trigger), from the ledger's rows."""
    latest: dict[tuple[ServiceRef, Trigger], datetime] = {}
    for ref, trigger, at in notices:
        key = (ref, trigger)
        if key not in latest or at > latest[key]:
            latest[key] = at
    return latest

