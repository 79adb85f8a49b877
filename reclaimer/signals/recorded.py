"""The ``recorded`` mode's queries: the same seven, reading the recording rules (`rules.py`).

Where the raw queries run a subquery over every raw series, these read one recorded
series per workload over the window; the pod join, the moved-pod check, freshness and
the GPU count are the raw queries' own (instant lookups, no subquery). Judged by the
same `assemble`, and never less strict than the raw queries:

- coverage counts rule evaluations with data over the window plus one interval
  (``window + step``): a raw step without data has an evaluation at most a minute
  before it, and presence looks 4 m back where a raw step looks 5 m, so every gap the
  raw grid sees is seen here; the counts are compared with the evaluations the rules
  made (`Check`), not with the raw grid's steps;
- the recorded span ends at the rules' last evaluation (up to two minutes before the
  tick), so requests, the GPU peak and the last request add the last two minutes from
  the raw series (``tail``): counted twice at worst, never missed;
- the last request is reported a step later than the evaluation that saw it
  (``+ step``), and beyond the recent span rounded as the raw coarse grid rounds it:
  never older than the raw queries' answer;
- before the rules have run for the whole horizon without a missed evaluation, the
  recorded answer is not used at all (`Check.complete`): the adapter asks the raw
  queries instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.signals import pods as pods_module
from reclaimer.signals import rules
from reclaimer.signals.answer import Row
from reclaimer.signals.assemble import GPU, REQUESTS, expected_steps
from reclaimer.signals.presets import GpuPreset, RequestPreset, Source
from reclaimer.signals.promql import duration, quote, set_label
from reclaimer.signals.queries import (
    BUSY_NOW,
    BY_ISVC,
    CHANGED_NOW,
    COARSE_STEPS,
    Query,
    freshness,
    gpus,
    moved_pods_row,
    to_isvc,
)
from reclaimer.signals.windows import WINDOW_LABEL, window_value

RULES_EVALUATIONS = "rules-evaluations"
RULES_NEWEST = "rules-newest"
SERVICE_SIGNALS = (REQUESTS, GPU)
LAG_STEPS = 2  # the rules' newest evaluation may be this many steps old (it takes time)
Windows = Sequence[timedelta]


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _sel(record: str, **labels: str) -> str:
    matchers = ",".join(f"{k}={quote(v)}" for k, v in labels.items())
    return f"{record}{{{matchers}}}"


def _by(source: Source, *extra: str) -> str:
    return rules.by((*rules.workload_labels(source.mapping), *extra, WINDOW_LABEL))


def _per_window(build: Callable[[timedelta], str], windows: Windows) -> str:
    return _union([set_label(build(w), target=WINDOW_LABEL, value=window_value(w))
                   for w in windows])


def _each(sources: tuple[Source, ...], build: Callable[[Source, int], str], *,
          pods: str) -> str:
    return _union([to_isvc(set_label(build(s, i), target="reclaimer_source", value=str(i)),
                           s.mapping, pods=pods) for i, s in enumerate(sources)])


def _tagged(expr: str, part: str) -> str:
    return set_label(expr, target="reclaimer_part", value=part)


@dataclass(frozen=True)
class Recorded:
    """The recorded queries of one evaluation; ``step`` is the rules' interval."""

    requests_preset: RequestPreset
    gpu: GpuPreset
    step: timedelta
    horizon: timedelta
    recent: timedelta

    def _tail(self) -> str:
        return duration(self.step * LAG_STEPS)

    def _range(self, window: timedelta) -> str:
        return duration(window + self.step)

    def requests(self, windows: Windows) -> str:
        """Recorded deltas over the window, plus the raw last two minutes (`_tail`)."""
        p = self.requests_preset.name

        def counter(s: Source, i: int) -> str:
            rec = _sel(rules.REQUESTS_DELTA, reclaimer_preset=p, reclaimer_source=f"counter-{i}")
            tail = f"(({s.selector} - {s.selector} offset {self._tail()}) >= 0 or {s.selector})"
            return _per_window(lambda w: f"sum {_by(s, 'reclaimer_part')} ("
                                         f"{_tagged(f'sum_over_time({rec}[{duration(w)}])', 'rec')}"
                                         f" or {_tagged(tail, 'tail')})", windows)

        def in_flight(s: Source, i: int) -> str:
            rec = _sel(rules.REQUESTS_IN_FLIGHT, reclaimer_preset=p,
                       reclaimer_source=f"in-flight-{i}")
            return _per_window(lambda w: f"max {_by(s)} (max_over_time({rec}[{duration(w)}]) or "
                                         f"max_over_time({s.selector}[{self._tail()}]))", windows)

        pods = "{{isvc_pods_window}}"
        parts = [_each(self.requests_preset.counters, counter, pods=pods)]
        if self.requests_preset.in_flight:
            parts.append(set_label(_each(self.requests_preset.in_flight, in_flight, pods=pods),
                                   target="reclaimer_kind", value="in-flight"))
        return f"sum {BY_ISVC} ({_union(parts)})"

    def last_request(self) -> str:
        """The rules' change times, a step later; the raw last two steps and the tick."""
        p, step = self.requests_preset.name, self.step.total_seconds()
        coarse = self._coarse().total_seconds()
        recent = self.recent.total_seconds()

        def build(kind: str, s: Source, i: int, raw_recent: str) -> str:
            rec = _sel(rules.REQUESTS_CHANGED, reclaimer_preset=p, reclaimer_source=f"{kind}-{i}")
            newest = f"max_over_time({rec}[{duration(self.horizon + self.step)}])"
            near = f"clamp_max({newest} + {step:g}, time())"
            far = f"clamp_max(floor(({newest} + {coarse + step:g}) / {coarse:g}) * {coarse:g}, " \
                  f"time() - {recent:g})"
            raw = raw_recent.replace("SEL", s.selector)
            return f"max {_by(s)} (({near} > time() - {recent:g}) or {far} or {raw})"

        changed = (f"{CHANGED_NOW} or max_over_time(timestamp((SEL - (SEL offset {{{{step}}}} or "
                   f"SEL * 0)) != 0)[{self._tail()}:{{{{step}}}}])")
        busy = f"{BUSY_NOW} or max_over_time(timestamp(SEL > 0)[{self._tail()}:{{{{step}}}}])"
        pods = "{{isvc_pods_horizon}}"
        parts = [_each(self.requests_preset.counters,
                       lambda s, i: build("counter", s, i, changed), pods=pods)]
        if self.requests_preset.in_flight:
            parts.append(set_label(_each(self.requests_preset.in_flight,
                                         lambda s, i: build("in-flight", s, i, busy), pods=pods),
                                   target="reclaimer_kind", value="in-flight"))
        return f"max {BY_ISVC} ({_union(parts)})"

    def _coarse(self) -> timedelta:
        return self.step * max(1, round(self.horizon / self.step / COARSE_STEPS))

    def coverage(self, windows: Windows) -> str:
        """Evaluations with data per signal, per-pod shortfalls, moved pods, the rules' check."""
        pods = "{{isvc_pods_window}}"
        return _union([self._presence(windows, pods), self._gpu_presence(windows, pods),
                       self._gpu_missing(windows, pods),
                       *self._requests_missing(windows, pods), moved_pods_row(), self._check()])

    def _presence(self, windows: Windows, pods: str) -> str:
        p = self.requests_preset.name
        parts = []
        for i, (mapping, _group) in enumerate(rules.mapping_groups(self.requests_preset.counters)):
            rec = _sel(rules.REQUESTS_PRESENT, reclaimer_preset=p, reclaimer_source=str(i))
            keys = rules.by((*rules.workload_labels(mapping), WINDOW_LABEL))
            steps = _per_window(lambda w, rec=rec, keys=keys:
                                f"max {keys} (count_over_time({rec}[{self._range(w)}]))", windows)
            parts.append(to_isvc(set_label(steps, target="reclaimer_source", value=str(i)),
                                 mapping, pods=pods))
        return set_label(f"max {BY_ISVC} ({_union(parts)})", target="signal", value="requests")

    def _devices(self, windows: Windows, reduce: str) -> str:
        """Per workload, the evaluations with each GPU device present (max) or summed."""
        mapping = pods_module.gpu_mapping(self.gpu)
        rec = _sel(rules.GPU_DEVICE_PRESENT, reclaimer_preset=self.gpu.name)
        keys = rules.by((*rules.workload_labels(mapping), WINDOW_LABEL))
        return _per_window(lambda w: f"{reduce} {keys} (count_over_time({rec}[{self._range(w)}]))",
                           windows)

    def _gpu_presence(self, windows: Windows, pods: str) -> str:
        best = to_isvc(self._devices(windows, "max"), pods_module.gpu_mapping(self.gpu), pods=pods)
        return set_label(f"max {BY_ISVC} ({best})", target="signal", value="gpu")

    def _gpu_missing(self, windows: Windows, pods: str) -> str:
        held = _per_window(lambda w: f"sum by (namespace, pod, {WINDOW_LABEL}) (sum_over_time("
                                     f"{rules.POD_GPUS_HELD}[{self._range(w)}]))", windows)
        mapping = pods_module.gpu_mapping(self.gpu)
        seen = f"sum by (namespace, pod, {WINDOW_LABEL}) " \
               f"({pods_module.to_pod(self._devices(windows, 'sum'), mapping)})"
        return pods_module.shortfall(held, seen, signal=pods_module.GPU_POD_MISSING, pods=pods)

    def _requests_missing(self, windows: Windows, pods: str) -> list[str]:
        """Pod-joined request sources keep the raw per-pod check (no rule records it)."""
        def per_window(expr: str) -> str:
            return _union([set_label(expr.replace("{{window}}", duration(w)), target=WINDOW_LABEL,
                                     value=window_value(w)) for w in windows])
        part = pods_module.requests_missing(self.requests_preset.counters, per_window, pods=pods)
        return [] if part is None else [part]

    def _check(self) -> str:
        rec = rules.RULES_EVALUATED
        count = f"count_over_time({rec}[{duration(self.horizon + self.step)}])"
        return _union([set_label(count, target="signal", value=RULES_EVALUATIONS),
                       set_label(f"timestamp({rec})", target="signal", value=RULES_NEWEST)])

    def gpu_stat(self, stat: str, windows: Windows) -> str:
        """Peak (with the raw last two minutes) or mean of the recorded per-minute values."""
        record = rules.GPU_UTIL_MAX if stat == "max" else rules.GPU_UTIL_AVG
        rec = _sel(record, reclaimer_preset=self.gpu.name)
        mapping = pods_module.gpu_mapping(self.gpu)
        keys = rules.by((*rules.workload_labels(mapping), WINDOW_LABEL))
        tail = _union([f"{s.scale:g} * max_over_time({s.selector}[{self._tail()}])"
                       if s.scale != 1 else f"max_over_time({s.selector}[{self._tail()}])"
                       for s in self.gpu.sources])

        def build(w: timedelta) -> str:
            recorded = f"{stat}_over_time({rec}[{duration(w)}])"
            return f"max {keys} ({recorded} or {tail})" if stat == "max" else recorded
        joined = to_isvc(_per_window(build, windows), mapping, pods="{{isvc_pods_window}}")
        return f"{stat} {BY_ISVC} ({joined})"

    def build(self, windows: Windows, *, gpu_max_windows: Windows) -> dict[Query, str]:
        """The seven query templates (tokens as in `queries.render`); freshness is raw."""
        return {
            Query.REQUESTS: self.requests(windows),
            Query.LAST_REQUEST: self.last_request(),
            Query.COVERAGE: self.coverage(windows),
            Query.FRESHNESS: freshness(self.requests_preset, self.gpu),
            Query.GPU_MAX: self.gpu_stat("max", gpu_max_windows),
            Query.GPU_MEAN: self.gpu_stat("avg", windows),
            Query.GPUS: gpus(),
        }


@dataclass(frozen=True)
class Check:
    """What the coverage query says of the rules: evaluations over the horizon, the newest."""

    evaluations: float | None
    newest: float | None

    def complete(self, *, at: float, horizon: timedelta, step: timedelta) -> bool:
        """Every evaluation since ``at - horizon - step`` is there, the newest is recent."""
        if self.evaluations is None or self.newest is None:
            return False
        step_s = step.total_seconds()
        if at - self.newest > LAG_STEPS * step_s:
            return False
        return self.evaluations >= self.expected(at=at, span=horizon + step, step=step)

    def expected(self, *, at: float, span: timedelta, step: timedelta) -> int:
        """Evaluations in ``[at - span, at]``, one a step, the last at ``newest``."""
        assert self.newest is not None
        return math.floor((self.newest - (at - span.total_seconds())) / step.total_seconds()) + 1


def rules_check(coverage: Sequence[Row]) -> Check:
    """The rules' heartbeat rows of a recorded coverage answer (no service labels)."""
    found = {row.signal: row.value for row in coverage
             if row.signal in (RULES_EVALUATIONS, RULES_NEWEST)}
    return Check(evaluations=found.get(RULES_EVALUATIONS), newest=found.get(RULES_NEWEST))


def normalized(rows: Mapping[Query, list[Row]], check: Check, *, at: datetime,
               windows: Sequence[timedelta], step: timedelta) -> dict[Query, list[Row]]:
    """Coverage in the raw grid's steps: evaluations with data over those made.

    `assemble` compares coverage with the raw grid's steps; a service whose data was
    there at every evaluation gets all of them, one that missed any gets the share.
    Per-pod rows (GPU-steps short) are counts of evaluations already.
    """
    by_value = {window_value(w): w for w in windows}
    out = dict(rows)
    scaled = []
    for row in rows[Query.COVERAGE]:
        if row.signal in SERVICE_SIGNALS:
            window = by_value[row.window] if row.window is not None else windows[0]
            made = check.expected(at=at.timestamp(), span=window + step, step=step)
            full = expected_steps(at, window, step)
            scaled.append(row._replace(value=full * min(1.0, row.value / max(made, 1))))
        else:
            scaled.append(row)
    out[Query.COVERAGE] = scaled
    return out
