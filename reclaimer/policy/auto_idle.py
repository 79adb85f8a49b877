"""``idle.after: auto``: an idle timeout per service, learned from its own idle gaps.

Anchor: the hybrid histogram keep-alive policy of "Serverless in the Wild" (Shahrad et
al., USENIX ATC 2020, §4.2): keep an application alive for a high percentile of its
idle-time distribution when that distribution is predictable, and fall back to a
fixed, conservative keep-alive when it is not. Here:

- the gaps are the idle periods between activity (requests, or GPU at or above the
  threshold) over ``learnFrom``; gaps longer than ``autoMax`` are "out of bounds"
  (the paper's range): a timeout never has to cover them;
- history observed for less than `MIN_OBSERVED` of the time the service ran (its
  data incomplete: a pod not scraped, a target down; `signals.ranges.gaps`): ``autoMax``,
  the longest timeout the rule allows (fail safe: the gaps that could be measured may
  be the short ones, and a gap that touched missing data is no gap at all);
- too few gaps to judge (`MIN_GAPS`): the fallback;
- almost no gap within bounds: the service is used in isolated episodes, and the
  shortest timeout, ``autoMin``, loses nothing a longer one would keep;
- a histogram of the in-bound gaps (one bin per minute) whose counts vary little
  (coefficient of variation below `REPRESENTATIVE_CV`, the paper's test) says the
  gaps are spread out, not patterned: the fallback;
- otherwise the 99th percentile of the in-bound gaps, plus 10 %, within
  ``[autoMin, autoMax]``, rounded up to a whole minute (the service asks Prometheus
  once per distinct window; whole minutes keep them few and on its one-minute steps).

Pure: the caller passes the gaps it measured, so the service and the backtest use the
same rule on the same kind of data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from reclaimer.model import AutoIdle, IdleRule

MIN_GAPS = 10
MIN_OBSERVED = 0.5
"""The share of the running time in ``learnFrom`` whose data must be complete."""
REPRESENTATIVE_CV = 2.0
PERCENTILE = 0.99
MARGIN = 1.1
BIN = 60.0  # seconds


@dataclass(frozen=True)
class AutoChoice:
    """The timeout and why, for evidence, `plan` and `signals`."""

    after: timedelta
    reason: str
    gaps: int


def _clamp(value: timedelta, rule: AutoIdle) -> timedelta:
    return min(max(value, rule.auto_min), rule.auto_max)


def _cv(gaps: Sequence[float], bins: int) -> float:
    counts = [0] * bins
    for gap in gaps:
        counts[min(bins - 1, int(gap // BIN))] += 1
    mean = sum(counts) / bins
    if mean == 0:
        return 0.0
    variance = sum((c - mean) ** 2 for c in counts) / bins
    return math.sqrt(variance) / mean


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def choose_timeout(gaps: Sequence[float], rule: AutoIdle, *,
                   observed: float = 1.0) -> AutoChoice:
    """The idle timeout for one service from its idle gaps in seconds (each above 0),
    measured on history whose ``observed`` share of the running time had complete data
    (the backtest's replayed history: all of it)."""
    if observed < MIN_OBSERVED:
        return AutoChoice(rule.auto_max, f"idle history complete for {observed:.0%} of the "
                          f"time the service ran (< {MIN_OBSERVED:.0%}): autoMax", len(gaps))
    fallback = _clamp(rule.fallback, rule)
    if len(gaps) < MIN_GAPS:
        return AutoChoice(fallback, f"{len(gaps)} idle gaps (< {MIN_GAPS}): fallback",
                          len(gaps))
    bound = rule.auto_max.total_seconds()
    inside = [g for g in gaps if g <= bound]
    if len(inside) < MIN_GAPS:
        return AutoChoice(rule.auto_min, f"{len(gaps) - len(inside)} of {len(gaps)} idle "
                          "gaps longer than autoMax: isolated use", len(gaps))
    cv = _cv(inside, max(1, math.ceil(bound / BIN)))
    if cv < REPRESENTATIVE_CV:
        return AutoChoice(fallback, f"idle gaps not patterned (CV {cv:.2f} < "
                          f"{REPRESENTATIVE_CV:g}): fallback", len(gaps))
    chosen = timedelta(minutes=math.ceil(_percentile(inside, PERCENTILE) * MARGIN / BIN))
    return AutoChoice(_clamp(chosen, rule), f"p99 of {len(inside)} idle gaps "
                      f"(CV {cv:.2f}) + 10 %", len(gaps))


NOT_LEARNED = "no learned timeout yet: autoMax"


def chosen(rule: IdleRule, choice: AutoChoice | None) -> AutoChoice | None:
    """The timeout a rule applies: None for a fixed ``after``; for ``auto``, the learned
    choice, or ``autoMax`` (the rule's ``after``) while none was learned: never sooner
    than any learned timeout could be."""
    if rule.auto is None:
        return None
    return choice or AutoChoice(rule.after, NOT_LEARNED, 0)


def applied(rule: IdleRule, choice: AutoChoice | None) -> IdleRule:
    """``rule`` with the ``after`` it applies now."""
    found = chosen(rule, choice)
    return rule if found is None or found.after == rule.after else replace(rule,
                                                                           after=found.after)


def evidence(choice: AutoChoice | None) -> dict[str, str | int]:
    """What the ledger and ``plan`` show of an ``auto`` timeout."""
    if choice is None:
        return {}
    return {"idleAfterAuto": choice.reason, "idleAfterAutoGaps": choice.gaps}
