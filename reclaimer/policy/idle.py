"""The idle rule (`idle_transition`): stop a running service nobody has used for ``after``.

Three gates, all required: the service is running; the policy allows idle stops now
(``during: offHours`` only outside schedule windows; a policy without a schedule has no
windows, so it is always off hours); and the service has been up for ``minUptime`` since
the later of its creation, reclaimer's last start of it and the last change of its stop
annotation by anyone, and for at least ``after`` too, so the idle window lies wholly
inside the time it has been up: a stopped model receives no requests, and that silence
is no evidence that nobody wants it. Only then are the signals judged, and only an IDLE
verdict stops it; unknown is never idle.

What the signals say (`judge_idle`, `judge_traffic`, `judge_busy_at_stop`) is
`policy.verdicts`'s, re-exported here where its importers have always found it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reclaimer.model import (
    Action,
    IdleDuring,
    Reason,
    Service,
    ServiceState,
    Transition,
    Trigger,
)
from reclaimer.policy.auto_idle import chosen
from reclaimer.policy.auto_idle import evidence as auto_evidence
from reclaimer.policy.context import Proposal, Tick, zone_seen
from reclaimer.policy.matching import Match
from reclaimer.policy.schedule import window_open
from reclaimer.policy.verdicts import (
    DEFAULT_GPU_BUSY_AT,
    DEFAULT_LOOKBACK,
    DEFAULT_MAX_AGE,
    IdleVerdict,
    Verdict,
    busy_gpu_threshold,
    judge_busy_at_stop,
    judge_idle,
    judge_traffic,
)

# Importers (decide, edges, notices, the backtest, tests) read the verdicts from here.
__all__ = ["DEFAULT_GPU_BUSY_AT", "DEFAULT_LOOKBACK", "DEFAULT_MAX_AGE", "IdleVerdict", "Verdict",
           "busy_gpu_threshold", "judge_busy_at_stop", "judge_idle", "judge_traffic"]


# --- the idle rule: gates, then the verdict ------------------------------------------

def started_at(service: Service, tick: Tick) -> datetime:
    """The latest instant the service may have (re)started; uptime counts from here.

    A start by someone else is in the ledger too, dated when reclaimer observed it
    (`service.recording`); ``managedFields.time`` moves for unrelated edits and is not
    used."""
    candidates = [service.created_at]
    last = tick.ledger.last_transitions.get(service.ref)
    if last is not None and last.action is Action.START and last.uid in ("", service.uid):
        candidates.append(last.at)
    return max(candidates)


def idle_allowed_now(match: Match, tick: Tick) -> bool:
    """Running, governed by an idle rule, off hours if so asked, up long enough."""
    rule = tick.idle_rule(match)
    service = match.service
    if rule is None or service.state is not ServiceState.RUNNING:
        return False
    if rule.during is IdleDuring.OFF_HOURS and _window_open(match, tick):
        return False
    return tick.now - started_at(service, tick) >= max(rule.min_uptime, rule.after)


def _window_open(match: Match, tick: Tick) -> bool | None:
    key = match.policy.key
    return tick.windows[key] if key in tick.windows else window_open(match.policy, tick.now)


def idle_transition(match: Match, tick: Tick) -> Proposal | None:
    rule = tick.idle_rule(match)
    if rule is None or not idle_allowed_now(match, tick):
        return None
    service = match.service
    signals = tick.signals.get(service.ref)
    verdict = judge_idle(rule, signals, service=service, now=tick.now,
                         max_age=tick.settings.signals_max_age,
                         lookback=tick.settings.busy_lookback)
    if signals is None or not verdict.idle:
        return None
    uptime = tick.now - started_at(service, tick)
    evidence = {**verdict.evidence, "uptimeSeconds": uptime.total_seconds(),
                "minUptimeSeconds": rule.min_uptime.total_seconds(),
                **auto_evidence(chosen(rule, tick.auto.get(service.ref))),
                **zone_seen(match.policy)}
    since = signals.seconds_since_last_request
    stop = Transition(ref=service.ref, uid=service.uid, action=Action.STOP, trigger=Trigger.IDLE,
                      reason=Reason.IDLE_TIMEOUT, policy=match.policy.key, at=tick.now,
                      evidence=evidence, gpus=service.gpus)
    return Proposal(stop, quiet_for=None if since is None else timedelta(seconds=since))
