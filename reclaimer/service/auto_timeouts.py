"""``idle.after: auto`` in the service: learned timeouts, read at most once an hour.

Each service under an ``auto`` idle rule gets its timeout from its own idle gaps over
the rule's ``learnFrom`` (`signals.ranges.gaps.read_busy`, the same gaps and the same
`policy.auto_idle.choose_timeout` as the backtest). Reading two weeks of history is
dear, and a timeout learned from two weeks barely moves in an hour, so the choices are
kept and read again only after `REFRESH`; a service that appears in between is read
after `RETRY` (until then it waits ``autoMax``). In the service the read runs on its own
thread (``background``): a day of history per range query, on a Prometheus under load
or hung, costs seconds to minutes, and the tick that decides every other service's stops
and starts never waits for it; until the read is done, what was known before (or
``autoMax``) applies.

Fail-safe: when the history cannot be read, every such service gets ``autoMax`` with
the reason why, and reading is tried again after `RETRY`. ``autoMax`` is the longest
timeout the rule could choose, so missing history never stops a service sooner than
a learned timeout would; the idle judgement itself still needs complete, fresh signals
over that whole window (unknown is never idle). The history is held to the same rule:
a step whose data is incomplete is unknown, never idle, and a gap touching one is no
gap (`signals.ranges.gaps`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import AutoIdle, ServiceRef
from reclaimer.policy.auto_idle import AutoChoice, choose_timeout
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.policy.matching import Match
from reclaimer.signals.settings import PrometheusSettings

if TYPE_CHECKING:
    # numpy (about 18 MiB resident) is loaded when the first auto rule is learned, not
    # by every service: most fleets have no ``idle.after: auto`` rule.
    from reclaimer.signals.ranges.gaps import States

log = logging.getLogger("reclaimer.auto")
REFRESH = timedelta(hours=1)
RETRY = timedelta(minutes=5)


class BusyHistory(Protocol):
    """Each service's step states (one a minute: busy, idle, unknown, stopped;
    `signals.ranges.gaps.step_states`) over ``learn_from`` before ``at``; raises
    `MetricsUnavailable`."""

    def read(self, thresholds: Mapping[ServiceRef, float], *, at: datetime,
             learn_from: timedelta) -> Mapping[ServiceRef, States]: ...


class PrometheusBusy:
    """`BusyHistory` from Prometheus range queries; ``reads`` counts them."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.reads = 0

    def read(self, thresholds: Mapping[ServiceRef, float], *, at: datetime,
             learn_from: timedelta) -> Mapping[ServiceRef, States]:
        from reclaimer.signals.ranges.gaps import read_busy  # noqa: PLC0415 - numpy

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
                 retry: timedelta = RETRY, background: bool = False) -> None:
        self.source = source
        self.refresh, self.retry = refresh, retry
        self.background = background
        self.learned: dict[ServiceRef, tuple[_Rule, AutoChoice]] = {}
        """Each choice with the rule it was learned under, replaced as one."""
        self.last: _Learned | None = None
        self._reading: threading.Thread | None = None

    def choose(self, matches: Sequence[Match], *, now: datetime) -> dict[ServiceRef, AutoChoice]:
        """The timeout of every service under an ``auto`` rule (read again when due).
        A choice is given only under the rule it was learned with: a service whose rule
        was edited since (``autoMin`` raised, a new threshold) is learned again now,
        never kept at a timeout its rule no longer allows."""
        auto = [m for m in matches if m.policy.idle is not None
                and m.policy.idle.auto is not None]
        learned = self.learned
        if auto and not self.reading() and self._due(auto, learned, now):
            self._start(auto, now)
            learned = self.learned
        return {m.service.ref: learned[m.service.ref][1] for m in auto
                if learned.get(m.service.ref, (None,))[0] == _rule_of(m)}

    def reading(self) -> bool:
        return self._reading is not None and self._reading.is_alive()

    def close(self, *, timeout: float = 5.0) -> None:
        """Wait for the read under way, if any (shutdown, tests); it holds no lock, and
        a daemon thread still reading after ``timeout`` ends with the process."""
        if self._reading is not None:
            self._reading.join(timeout)

    def _start(self, auto: Sequence[Match], now: datetime) -> None:
        if not self.background:
            self._learn(auto, now)
            return
        self._reading = threading.Thread(target=self._learn_safely, args=(list(auto), now),
                                         name="reclaimer-auto-idle", daemon=True)
        self._reading.start()

    def _due(self, auto: Sequence[Match], learned: Mapping[ServiceRef, tuple[_Rule, Any]],
             now: datetime) -> bool:
        last = self.last
        if last is None or any(learned.get(m.service.ref, (_rule_of(m),))[0] != _rule_of(m)
                               for m in auto):
            return True
        wait = self.refresh if last.ok and all(m.service.ref in learned
                                              for m in auto) else self.retry
        return now - last.at >= wait

    def _learn(self, auto: Sequence[Match], now: datetime) -> None:
        rules = {m.service.ref: _rule_of(m) for m in auto}
        longest = max(rule.learn_from for rule, _ in rules.values())
        thresholds = {ref: threshold for ref, (_, threshold) in rules.items()}
        try:
            busy = self.source.read(thresholds, at=now, learn_from=longest)
        except MetricsUnavailable as exc:
            self._failed(rules, now, exc)
            return
        self.learned = {ref: (rule, _choice(busy[ref], rule[0])) for ref, rule in rules.items()}
        self.last = _Learned(now, ok=True)

    def _learn_safely(self, auto: Sequence[Match], now: datetime) -> None:
        """On its own thread nobody sees what it raises: any failure is ``autoMax``."""
        try:
            self._learn(auto, now)
        except Exception as exc:
            log.exception("learning auto idle timeouts failed")
            self._failed({m.service.ref: _rule_of(m) for m in auto}, now, exc)

    def _failed(self, rules: Mapping[ServiceRef, _Rule], now: datetime,
                exc: Exception) -> None:
        log.warning("idle history unavailable, auto timeouts at autoMax: %s", exc)
        self.learned = {ref: (rule, AutoChoice(rule[0].auto_max, f"idle history not read "
                                               f"({exc}): autoMax", 0))
                        for ref, rule in rules.items()}
        self.last = _Learned(now, ok=False)


def _rule_of(match: Match) -> _Rule:
    idle = match.policy.idle
    assert idle is not None and idle.auto is not None, "only auto rules are learned"
    return idle.auto, busy_gpu_threshold(match.policy)


def _choice(states: States, rule: AutoIdle) -> AutoChoice:
    """The rule's own ``learnFrom``: the last part of the longest one read. Only gaps
    between busy steps with complete data count; too little complete history is
    ``autoMax`` (`choose_timeout`)."""
    from reclaimer.signals.ranges.gaps import LEARN_STEP, gaps_of, observed  # noqa: PLC0415

    step = LEARN_STEP.total_seconds()
    keep = max(1, round(rule.learn_from.total_seconds() / step))
    mine = states[-keep:]
    return choose_timeout(gaps_of(mine, step), rule, observed=observed(mine))
