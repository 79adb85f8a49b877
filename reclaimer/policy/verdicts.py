"""Signal verdicts: what the signals of one ISVC say about it, and how sure we are.

Two questions are asked of the same `Signals` value:

- `judge_idle`: may the idle rule stop this service now? (docs/design.md §3.3) Besides the
  window's totals, no request within the busy lookback: a request a minute ago that
  a window total rounds away, or that a coarse step has not yet seen, still counts.
- `judge_traffic` (`judge_busy_at_stop` for a policy): is the service in use right
  now, for ``busyAtStop: defer``? (docs/design.md §3.4) Busy when, within the lookback, a
  request completed or was in flight, or its GPUs ran at or above the policy's
  ``gpuUtilizationBelow`` (5 % without an idle block): a long generation completes
  no request for minutes but keeps its GPU busy.

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

from reclaimer.model import EMPTY, IdleRule, Policy, Service, Signals, SignalState
from reclaimer.policy.durations import format_duration

DEFAULT_MAX_AGE = timedelta(minutes=2)
DEFAULT_LOOKBACK = timedelta(minutes=5)
# GPU utilisation (percent) at or above which a service is busy at a schedule stop when
# its policy has no idle block to say: the idle rule's own default.
DEFAULT_GPU_BUSY_AT = IdleRule(after=timedelta(0)).gpu_utilization_below


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
        return (f"signal window {format_duration(signals.window)} is shorter than "
                f"{format_duration(needed)}")
    if signals.coverage_seconds is None or signals.coverage_seconds < needed.total_seconds():
        covered = ("no time" if signals.coverage_seconds is None
                   else _seconds(signals.coverage_seconds))
        return f"data covers {covered} of the {format_duration(needed)} needed"
    return None


def _seconds(seconds: float) -> str:
    """A span of seconds as a policy duration (``42s``, ``1h5m``), whole seconds."""
    return format_duration(timedelta(seconds=seconds))


def _gpu_count(signals: Signals, service: Service) -> int | None:
    """The larger of kube-state-metrics' count and the API's: the worst, never the best."""
    known = [n for n in (signals.gpus, service.gpus) if n is not None]
    return max(known) if known else None


def _unlisted_gpus(signals: Signals, service: Service) -> str | None:
    """The API's pods hold GPUs that kube-state-metrics does not list (a shard down, a
    scrape failing): those pods join no series, so no data of theirs can be judged."""
    if signals.gpus is not None and service.gpus is not None and service.gpus > signals.gpus:
        return (f"kube-state-metrics lists {signals.gpus} of the {service.gpus} GPUs the"
                " service's pods request")
    return None


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


def _recent_request(signals: Signals, lookback: timedelta) -> str | None:
    since = signals.seconds_since_last_request
    if since is not None and since < lookback.total_seconds():
        return f"last request {_seconds(since)} ago, within {format_duration(lookback)}"
    return None


def judge_idle(rule: IdleRule, signals: Signals | None, *, service: Service, now: datetime,
               max_age: timedelta = DEFAULT_MAX_AGE,
               lookback: timedelta = DEFAULT_LOOKBACK) -> IdleVerdict:
    """Idle only when complete, fresh data over the whole ``after`` window says so.

    A signal window longer than ``after`` is accepted: counting requests over more
    time can only make a service look busier, never idler. GPU utilisation is not
    required for a service known to hold no GPU. A request within ``lookback`` (the
    busy-at-stop lookback) is busy whatever ``maxRequests`` allows.
    """
    unusable = _unusable(signals, now=now, max_age=max_age, needed=rule.after)
    if signals is None or unusable is not None:
        evidence = {} if signals is None else _base_evidence(signals)
        return IdleVerdict(Verdict.UNKNOWN, unusable or "", {**evidence, "reason": unusable})
    evidence = {**_base_evidence(signals), "idleAfterSeconds": rule.after.total_seconds(),
                "maxRequests": rule.max_requests,
                "gpuUtilizationBelow": rule.gpu_utilization_below}
    busy = _busy_reason(rule, signals) or _recent_request(signals, lookback)
    if busy is not None:
        return IdleVerdict(Verdict.BUSY, busy, {**evidence, "reason": busy})
    missing = _unlisted_gpus(signals, service) or _missing_reason(signals, service)
    if missing is not None:
        return IdleVerdict(Verdict.UNKNOWN, missing, {**evidence, "reason": missing})
    reason = f"idle for {format_duration(rule.after)}: no activity above the limits"
    return IdleVerdict(Verdict.IDLE, reason, {**evidence, "reason": reason})


def busy_gpu_threshold(policy: Policy) -> float:
    """The GPU utilisation at or above which a service is busy at this policy's stops."""
    return policy.idle.gpu_utilization_below if policy.idle is not None else DEFAULT_GPU_BUSY_AT


def judge_busy_at_stop(policy: Policy, signals: Signals | None, *, service: Service,
                       lookback: timedelta, now: datetime,
                       max_age: timedelta = DEFAULT_MAX_AGE) -> IdleVerdict:
    """`judge_traffic` with the policy's GPU threshold and the service's GPU count.

    Quiet is not enough when the API's pods hold GPUs kube-state-metrics does not list.
    """
    gpus = None if signals is None else _gpu_count(signals, service)
    verdict = judge_traffic(signals, lookback=lookback, now=now, max_age=max_age,
                            gpu_busy_at=busy_gpu_threshold(policy), gpus=gpus)
    unlisted = None if signals is None else _unlisted_gpus(signals, service)
    if verdict.verdict is Verdict.IDLE and unlisted is not None:
        return IdleVerdict(Verdict.UNKNOWN, unlisted, {**verdict.evidence, "reason": unlisted})
    return verdict


def _recent_gpu(signals: Signals, lookback: timedelta) -> float | None:
    """The GPU peak over at least the lookback (a longer span can only read busier)."""
    recent = signals.recent
    if recent is not None and recent.span >= lookback and recent.gpu_utilization_max is not None:
        return recent.gpu_utilization_max
    return signals.gpu_utilization_max if signals.window >= lookback else None


def _traffic_busy(signals: Signals, lookback: timedelta, gpu_busy_at: float) -> str | None:
    recent = _recent_request(signals, lookback)
    if recent is not None:
        return recent
    if signals.window <= lookback and (signals.requests or 0) > 0:
        return f"{signals.requests:g} request(s) within {format_duration(signals.window)}"
    peak = _recent_gpu(signals, lookback)
    if peak is not None and peak >= gpu_busy_at:
        return (f"GPU utilisation {peak:g}% >= {gpu_busy_at:g}% within "
                f"{format_duration(lookback)}")
    return None


def _traffic_unknown(signals: Signals, lookback: timedelta, gpus: int | None) -> str | None:
    if _recent_gpu(signals, lookback) is None and gpus != 0:
        return f"GPU utilisation within {format_duration(lookback)} unknown"
    if signals.seconds_since_last_request is None and signals.requests != 0:
        return "time of the last request unknown"
    return None


def judge_traffic(signals: Signals | None, *, lookback: timedelta, now: datetime,
                  max_age: timedelta = DEFAULT_MAX_AGE,
                  gpu_busy_at: float = DEFAULT_GPU_BUSY_AT,
                  gpus: int | None = None) -> IdleVerdict:
    """Is anyone using the service right now? IDLE here means "quiet", BUSY "in use".

    Used at a schedule stop with ``busyAtStop: defer``: within ``lookback``, a request
    completed or in flight (an in-flight gauge above 0 is a request at that step), or a
    GPU at or above ``gpu_busy_at`` percent, is BUSY; unknown traffic or unknown GPU
    activity (``gpus`` other than 0; None falls back to the signals' count) is UNKNOWN,
    which the caller defers like BUSY.
    """
    unusable = _unusable(signals, now=now, max_age=max_age, needed=lookback)
    if signals is None or unusable is not None:
        evidence = {} if signals is None else _base_evidence(signals)
        return IdleVerdict(Verdict.UNKNOWN, unusable or "", {**evidence, "reason": unusable})
    peak = _recent_gpu(signals, lookback)
    evidence = {**_base_evidence(signals), "lookbackSeconds": lookback.total_seconds(),
                "gpuUtilizationRecentMax": peak, "gpuBusyAt": gpu_busy_at}
    busy = _traffic_busy(signals, lookback, gpu_busy_at)
    if busy is not None:
        return IdleVerdict(Verdict.BUSY, busy, {**evidence, "reason": busy})
    unknown = _traffic_unknown(signals, lookback, signals.gpus if gpus is None else gpus)
    if unknown is not None:
        return IdleVerdict(Verdict.UNKNOWN, unknown, {**evidence, "reason": unknown})
    reason = f"no request and GPU below {gpu_busy_at:g}% within {format_duration(lookback)}"
    return IdleVerdict(Verdict.IDLE, reason, {**evidence, "reason": reason})
