"""Idle judgement: what the signals of one ISVC say about it, and how sure we are.

Two questions are asked of the same `Signals` value:

- `judge_idle`: may the idle rule stop this service now? (docs/design.md §3.3)
- `judge_traffic`: is traffic flowing right now, for ``busyAtStop: defer``? (docs/design.md §3.4)

Both answer with three states, never two: a broken metrics pipeline, a scrape gap, a
window shorter than the rule's ``after`` or data older than ``max_age`` all give
UNKNOWN, and callers treat UNKNOWN as "not idle" and "maybe busy". Known evidence of
activity wins over missing data: one known request above the limit is BUSY even when
the GPU series is missing, because that cannot make the service idle.

Evidence is a flat mapping of plain values (numbers, strings) so the ledger can store
it as JSON and a person can see why a service was stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reclaimer.model import EMPTY, IdleRule, Service, Signals, SignalState

DEFAULT_MAX_AGE = timedelta(minutes=2)


class Verdict(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IdleVerdict:
    """The answer plus everything it was based on; ``reason`` is for people."""

    verdict: Verdict
    reason: str
    evidence: Mapping[str, Any] = field(default=EMPTY)

    @property
    def idle(self) -> bool:
        return self.verdict is Verdict.IDLE


def _base_evidence(signals: Signals) -> dict[str, Any]:
    return {
        "signalsAt": signals.at.isoformat(),
        "windowSeconds": signals.window.total_seconds(),
        "coverageSeconds": signals.coverage_seconds,
        "requests": signals.requests,
        "secondsSinceLastRequest": signals.seconds_since_last_request,
        "gpuUtilizationMax": signals.gpu_utilization_max,
        "gpuUtilizationMean": signals.gpu_utilization_mean,
        "gpus": signals.gpus,
    }


def _unusable(signals: Signals | None, *, now: datetime, max_age: timedelta,
              needed: timedelta) -> str | None:
    """Why these signals cannot tell anything (None when they can)."""
    if signals is None:
        return "no signals for this service"
    if signals.state is SignalState.UNKNOWN:
        return f"signals unknown: {signals.reason or 'no reason given'}"
    if abs(now - signals.at) > max_age:
        return f"signals are stale: taken at {signals.at.isoformat()}"
    if signals.window < needed:
        return f"signal window {signals.window} is shorter than {needed}"
    if signals.coverage_seconds is None or signals.coverage_seconds < needed.total_seconds():
        return f"data covers {signals.coverage_seconds}s of the {needed.total_seconds():g}s needed"
    return None


def _gpu_count(signals: Signals, service: Service) -> int | None:
    return signals.gpus if signals.gpus is not None else service.gpus


def _busy_reason(rule: IdleRule, signals: Signals) -> str | None:
    if signals.requests is not None and signals.requests > rule.max_requests:
        return f"{signals.requests:g} requests > maxRequests {rule.max_requests}"
    util = signals.gpu_utilization_max
    if util is not None and util >= rule.gpu_utilization_below:
        return f"GPU utilisation {util:g}% >= {rule.gpu_utilization_below:g}%"
    return None


def _missing_reason(signals: Signals, service: Service) -> str | None:
    if signals.requests is None:
        return "request count unknown"
    if signals.gpu_utilization_max is None and _gpu_count(signals, service) != 0:
        return "GPU utilisation unknown"
    return None


def judge_idle(rule: IdleRule, signals: Signals | None, *, service: Service, now: datetime,
               max_age: timedelta = DEFAULT_MAX_AGE) -> IdleVerdict:
    """Idle only when complete, fresh data over the whole ``after`` window says so.

    A signal window longer than ``after`` is accepted: counting requests over more
    time can only make a service look busier, never idler. GPU utilisation is not
    required for a service known to hold no GPU.
    """
    unusable = _unusable(signals, now=now, max_age=max_age, needed=rule.after)
    if signals is None or unusable is not None:
        evidence = {} if signals is None else _base_evidence(signals)
        return IdleVerdict(Verdict.UNKNOWN, unusable or "", {**evidence, "reason": unusable})
    evidence = {**_base_evidence(signals), "idleAfterSeconds": rule.after.total_seconds(),
                "maxRequests": rule.max_requests,
                "gpuUtilizationBelow": rule.gpu_utilization_below}
    busy = _busy_reason(rule, signals)
    if busy is not None:
        return IdleVerdict(Verdict.BUSY, busy, {**evidence, "reason": busy})
    missing = _missing_reason(signals, service)
    if missing is not None:
        return IdleVerdict(Verdict.UNKNOWN, missing, {**evidence, "reason": missing})
    reason = f"idle for {rule.after}: no activity above the limits"
    return IdleVerdict(Verdict.IDLE, reason, {**evidence, "reason": reason})


def judge_traffic(signals: Signals | None, *, lookback: timedelta, now: datetime,
                  max_age: timedelta = DEFAULT_MAX_AGE) -> IdleVerdict:
    """Is anyone using the service right now? IDLE here means "quiet", BUSY "in use".

    Used at a schedule stop with ``busyAtStop: defer``: a request within ``lookback``
    is BUSY; unknown traffic is UNKNOWN, which the caller defers like BUSY.
    """
    unusable = _unusable(signals, now=now, max_age=max_age, needed=lookback)
    if signals is None or unusable is not None:
        evidence = {} if signals is None else _base_evidence(signals)
        return IdleVerdict(Verdict.UNKNOWN, unusable or "", {**evidence, "reason": unusable})
    evidence = {**_base_evidence(signals), "lookbackSeconds": lookback.total_seconds()}
    since = signals.seconds_since_last_request
    if since is not None and since < lookback.total_seconds():
        reason = f"last request {since:g}s ago, within {lookback}"
        return IdleVerdict(Verdict.BUSY, reason, {**evidence, "reason": reason})
    if signals.window <= lookback and (signals.requests or 0) > 0:
        reason = f"{signals.requests:g} request(s) within {signals.window}"
        return IdleVerdict(Verdict.BUSY, reason, {**evidence, "reason": reason})
    if since is None and signals.requests != 0:
        reason = "time of the last request unknown"
        return IdleVerdict(Verdict.UNKNOWN, reason, {**evidence, "reason": reason})
    reason = f"no request within {lookback}"
    return IdleVerdict(Verdict.IDLE, reason, {**evidence, "reason": reason})
