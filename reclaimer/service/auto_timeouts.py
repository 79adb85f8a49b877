"""``idle.after: auto`` in the service: learned timeouts, read at most once an hour.

Each service under an ``auto`` idle rule gets its timeout from its own idle gaps over
the rule's ``learnFrom`` (`signals.ranges.gaps.read_busy`, the same gaps and the same
`policy.auto_idle.choose_timeout` as the backtest). Reading two weeks of history is
dear, and a timeout learned from two weeks barely moves in an hour, so the choices are
kept and read again only after `REFRESH`; a service that appears in between is read
after `RETRY` (until then it waits ``autoMax``).

Fail-safe: when the history cannot be read, every such service gets ``autoMax`` with
the reason why, and reading is tried again after `RETRY`. ``autoMax`` is the longest
timeout the rule could choose, so missing history never stops a service sooner than
a learned timeout would; the idle judgement itself still needs complete, fresh signals
over that whole window (unknown is never idle).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import AutoIdle, ServiceRef
from reclaimer.policy.auto_idle import AutoChoice, choose_timeout
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.policy.matching import Match
from reclaimer.signals.ranges.gaps import LEARN_STEP, Bools, gaps_of, read_busy
from reclaimer.signals.settings import PrometheusSettings

log = logging.getLogger("reclaimer.auto")
REFRESH = timedelta(hours=1)
RETRY = timedelta(minutes=5)


class BusyHistory(Protocol):
    """Each service's busy steps (one a minute) over ``learn_from`` before ``at``;
    raises `MetricsUnavailable`."""

    def read(self, thresholds: Mapping[ServiceRef, float], *, at: datetime,
             learn_from: timedelta) -> Mapping[ServiceRef, Bools]: ...


class PrometheusBusy:
    """`BusyHistory` from Prometheus range queries; ``reads`` counts them."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.reads = 0

    def read(self, thresholds: Mapping[ServiceRef, float], *, at: datetime,
             learn_from: timedelta) -> Mapping[ServiceRef, Bools]:
        self.reads += 1
        return read_busy(self.settings, thresholds, at=at, learn_from=learn_from)


@dataclass(frozen=True)
class _Learned:
    at: datetime
    ok: bool


_Rule = tuple[AutoIdle, float]
"""What a choice was learned under: the rule's bounds and ``learnFrom``, and the GPU
threshold that made its busy steps."""


class AutoTimeouts:
    def __init__(self, source: BusyHistory, *, refresh: timedelta = REFRESH,
                 retry: timedelta = RETRY) -> None:
        self.source = source
        self.refresh, self.retry = refresh, retry
        self.choices: dict[ServiceRef, AutoChoice] = {}
        self.rules: dict[ServiceRef, _Rule] = {}
        self.last: _Learned | None = None

    def choose(self, matches: Sequence[Match], *, now: datetime) -> dict[ServiceRef, AutoChoice]:
        """The timeout of every service under an ``auto`` rule (read again when due).
        A choice is given only under the rule it was learned with: a service whose rule
        was edited since (``autoMin`` raised, a new threshold) is learned again now,
        never kept at a timeout its rule no longer allows."""
        auto = [m for m in matches if m.policy.idle is not None
                and m.policy.idle.auto is not None]
        if auto and self._due(auto, now):
            self._learn(auto, now)
        return {m.service.ref: self.choices[m.service.ref] for m in auto
                if m.service.ref in self.choices
                and self.rules.get(m.service.ref) == _rule_of(m)}

    def _due(self, auto: Sequence[Match], now: datetime) -> bool:
        last = self.last
        if last is None or any(self.rules.get(m.service.ref, _rule_of(m)) != _rule_of(m)
                               for m in auto):
            return True
        wait = self.refresh if last.ok and all(m.service.ref in self.choices
                                              for m in auto) else self.retry
        return now - last.at >= wait

    def _learn(self, auto: Sequence[Match], now: datetime) -> None:
        rules = {m.service.ref: _rule_of(m) for m in auto}
        longest = max(rule.learn_from for rule, _ in rules.values())
        thresholds = {ref: threshold for ref, (_, threshold) in rules.items()}
        self.rules = rules
        try:
            busy = self.source.read(thresholds, at=now, learn_from=longest)
        except MetricsUnavailable as exc:
            log.warning("idle history unavailable, auto timeouts at autoMax: %s", exc)
            self.last = _Learned(now, ok=False)
            self.choices = {ref: AutoChoice(rule.auto_max, f"idle history not read ({exc}): "
                                            "autoMax", 0)
                            for ref, (rule, _) in rules.items()}
            return
        self.last = _Learned(now, ok=True)
        self.choices = {ref: _choice(busy[ref], rule) for ref, (rule, _) in rules.items()}


def _rule_of(match: Match) -> _Rule:
    idle = match.policy.idle
    assert idle is not None and idle.auto is not None, "only auto rules are learned"
    return idle.auto, busy_gpu_threshold(match.policy)


def _choice(busy: Bools, rule: AutoIdle) -> AutoChoice:
    """The rule's own ``learnFrom``: the last part of the longest one read."""
    step = LEARN_STEP.total_seconds()
    keep = max(1, round(rule.learn_from.total_seconds() / step))
    return choose_timeout(gaps_of(busy[-keep:], step), rule)
