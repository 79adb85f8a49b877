"""The ``recorded`` mode's queries: the same seven, reading the recording rules (`rules`).

Where the raw queries run a subquery over every raw series, these read one recorded
series per workload over the window; moved pods, the per-pod shortfalls and the GPU
count are recorded too, and only freshness stays a raw instant lookup (through the
recorded pod map). Judged by the same `assemble`, and never less strict than the raw
queries:

- coverage counts rule evaluations with data over the window plus one interval
  (``window + step``): a raw step without data has an evaluation at most a minute
  before it, and presence looks 4 m back where a raw step looks 5 m, so every gap the
  raw grid sees is seen here; the counts are compared with the evaluations the rules
  made (`Check`), not with the raw grid's steps;
- the recorded span ends at the rules' last evaluation (up to two minutes before the
  tick), so requests, the GPU peak and the last request add the last two minutes from
  the raw series (``tail``): counted twice at worst, never missed;
- moved pods: each evaluation records the pods with two ISVCs over the hour before it,
  and the raw pod labels of the last 4 minutes add a move the rules have not seen;
  per-pod shortfalls are summed per step (a step with a spare device makes up for
  none other), so never fewer than the raw ``held - seen``;
- the last request is reported a step later than the evaluation that saw it
  (``+ step``), and beyond the recent span rounded as the raw coarse grid rounds it:
  never older than the raw queries' answer;
- before the rules have run for the whole horizon without a missed evaluation, the
  recorded answer is not used at all (`recorded_answer.Check.complete`): the adapter
  asks the raw queries instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from reclaimer.signals import pods as pods_module
from reclaimer.signals import rules
from reclaimer.signals.presets import GpuPreset, PodJoin, RequestPreset, Source
from reclaimer.signals.promql import duration, quote, set_label
from reclaimer.signals.queries import BY_ISVC, Query, freshness
from reclaimer.signals.recorded_answer import (
    LAG_STEPS,
    RECORDED_CHANGE,
    RULES_EVALUATIONS,
    RULES_NEWEST,
    RULES_WRITTEN,
)
from reclaimer.signals.windows import WINDOW_LABEL, window_value

BY_POD = f"by (namespace, isvc, pod, {WINDOW_LABEL})"
GPU_RECORDS = (rules.GPU_DEVICE_PRESENT, rules.GPU_UTIL_MAX, rules.GPU_UTIL_AVG,
               rules.POD_GPUS_SHORT)
POD_MAP_SPAN = timedelta(hours=1)  # each moved-pod evaluation looks this far back (`rules`)
Windows = Sequence[timedelta]


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _sel(record: str, **labels: str) -> str:
    """``record``'s series with ``labels``, without the rules' markers (`rules.data`)."""
    return rules.data(record, ",".join(f"{k}={quote(v)}" for k, v in labels.items()))


def _per_window(build: Callable[[timedelta], str], windows: Windows) -> str:
    return _union([set_label(build(w), target=WINDOW_LABEL, value=window_value(w))
                   for w in windows])


def _tagged(expr: str, part: str) -> str:
    return set_label(expr, target="reclaimer_part", value=part)


def _raw_now(source: Source, expr: str, reduce: str) -> str:
    """A raw instant term per workload, mapped through the recorded pod map (cheap)."""
    keys = rules.by(rules.workload_labels(source.mapping))
    return rules.to_isvc(f"{reduce} {keys} ({expr.replace('SEL', source.selector)})",
                         source.mapping)


# The last two minutes from the raw series (the rules' newest evaluation may be that old):
# counter deltas (or the value of a new or reset series), a change of a counter or an
# in-flight gauge above 0 (its newest sample's time), the GPU peak.
_DELTA_TAIL = "(SEL - SEL offset {tail}) >= 0 or SEL"
_CHANGED_TAIL = "timestamp(SEL) and ((SEL - (SEL offset {tail} or SEL * 0)) != 0)"
_BUSY_TAIL = "timestamp(SEL) and (max_over_time(SEL[{tail}]) > 0)"


def _over(stat: str, rec: str, keys: str, *, also: str | None = None,
          ) -> Callable[[timedelta], str]:
    """``stat`` of ``rec`` over a window per ``keys`` (and ``also``'s rows, if any)."""
    def build(window: timedelta) -> str:
        inner = f"{stat}_over_time({rec}[{duration(window)}])"
        return f"{stat} {keys} ({inner}{f' or {also}' if also else ''})"
    return build


@dataclass(frozen=True)
class Recorded:
    """The recorded queries of one evaluation; ``step`` is the rules' interval.

    Recorded series carry ``namespace``, ``isvc`` and the workload already (the rules
    join pods to ISVCs once a minute), so these queries read ranges and aggregate:
    no label rewrite or pod join over every series at every evaluation.
    """

    requests_preset: RequestPreset
    gpu: GpuPreset
    step: timedelta
    horizon: timedelta
    recent: timedelta

    def _tail(self) -> str:
        return duration(self.step * LAG_STEPS)

    def _range(self, window: timedelta) -> str:
        return duration(window + self.step)

    def _rec(self, record: str, source: str | None = None) -> str:
        preset = self.gpu.name if record in GPU_RECORDS else self.requests_preset.name
        if source is None:
            return _sel(record, reclaimer_preset=preset)
        return _sel(record, reclaimer_preset=preset, reclaimer_source=source)

    def requests(self, windows: Windows) -> str:
        """Recorded deltas over the window, plus the raw last two minutes (tail).

        Every counter's deltas are read at once (each source is its own recorded
        series, so one ``sum`` adds them). Each tail is asked once, not once per
        window: its rows carry no window, every window gets them (`windows.split`) and
        `observations` adds them to the window's; only services with traffic in it
        come back (a zero adds nothing, and the window's own row says the count).
        """
        tail = self._tail()
        parts = [_per_window(_over("sum", self._rec(rules.REQUESTS_DELTA), BY_ISVC), windows)]
        parts += [_tagged(f"({_raw_now(s, _DELTA_TAIL.format(tail=tail), 'sum')}) > 0",
                          f"tail-{i}") for i, s in enumerate(self.requests_preset.counters)]
        total = f"sum {BY_ISVC} ({_union(parts)})"
        if not self.requests_preset.in_flight:
            return total
        peaks = []
        for i, s in enumerate(self.requests_preset.in_flight):
            rec = self._rec(rules.REQUESTS_IN_FLIGHT, f"in-flight-{i}")
            raw = _raw_now(s, f"max_over_time(SEL[{tail}])", "max")
            peaks.append(_per_window(_over("max", rec, BY_ISVC, also=raw), windows))
        peak = _tagged(f"max {BY_ISVC} ({_union(peaks)})", "in-flight")
        return f"sum {BY_ISVC} ({_union([_tagged(total, 'counted'), peak])})"

    def last_request(self) -> str:
        """The rules' newest change, as recorded (`LastSeen` rounds it); the raw last
        two minutes, the newest sample of a series that changed.

        The newest change is read once: rounded in PromQL it would be read twice (a
        step later within the recent span, on the coarse grid beyond it).
        """
        newest = f"max by (namespace, isvc) (max_over_time(" \
                 f"{self._rec(rules.REQUESTS_CHANGED)}[{duration(self.horizon + self.step)}]))"
        tail = self._tail()
        raw = [_raw_now(s, _CHANGED_TAIL.format(tail=tail), "max")
               for s in self.requests_preset.counters]
        raw += [_raw_now(s, _BUSY_TAIL.format(tail=tail), "max")
                for s in self.requests_preset.in_flight]
        tagged = [_tagged(r, f"tail-{n}") for n, r in enumerate(raw)]
        recorded = set_label(newest, target="signal", value=RECORDED_CHANGE)
        return f"max by (namespace, isvc, signal) ({_union([recorded, *tagged])})"

    def coverage(self, windows: Windows) -> str:
        """Evaluations with data per signal, per-pod shortfalls, moved pods, the rules' check."""
        return _union([self._presence(windows), self._gpu_presence(windows),
                       self._gpu_missing(windows), *self._requests_missing(windows),
                       self._moved(), self._check()])

    def _count(self, rec: str, reduce: str, keys: str, windows: Windows) -> str:
        return _per_window(lambda w: f"{reduce} {keys} (count_over_time({rec}[{self._range(w)}]))",
                           windows)

    def _presence(self, windows: Windows) -> str:
        """The best-covered workload group: one read of every group's presence (each is
        its own recorded series, so ``max`` picks the best)."""
        best = self._count(self._rec(rules.REQUESTS_PRESENT), "max", BY_ISVC, windows)
        return set_label(best, target="signal", value="requests")

    def _gpu_presence(self, windows: Windows) -> str:
        best = self._count(self._rec(rules.GPU_DEVICE_PRESENT), "max", BY_ISVC, windows)
        return set_label(best, target="signal", value="gpu")

    def _short(self, record: str, signal: str, windows: Windows) -> str:
        """Per pod, the recorded shortfalls over the window (only pods ever short)."""
        rec = self._rec(record)
        steps = _per_window(lambda w: f"sum {BY_POD} (sum_over_time({rec}[{self._range(w)}]))",
                            windows)
        return set_label(f"({steps}) > 0", target="signal", value=signal)

    def _gpu_missing(self, windows: Windows) -> str:
        return self._short(rules.POD_GPUS_SHORT, pods_module.GPU_POD_MISSING, windows)

    def _requests_missing(self, windows: Windows) -> list[str]:
        """GPU pods whose (pod-joined) request series fall short of the time they held it."""
        if not any(isinstance(mapping, PodJoin) for mapping, _ in
                   rules.mapping_groups(self.requests_preset.counters)):
            return []
        return [self._short(rules.POD_REQUESTS_SHORT, pods_module.REQUESTS_POD_MISSING,
                            windows)]

    def _moved(self) -> str:
        """Pods relabelled between ISVCs: recorded (each evaluation looks an hour back)
        over the horizon, and the raw last few minutes the rules may not have seen."""
        span = max(self.horizon - POD_MAP_SPAN, timedelta(0)) + self.step * (LAG_STEPS + 1)
        recorded = f"max_over_time({rules.data(rules.ISVC_POD_MOVED)}[{duration(span)}])"
        both = f"max by (namespace, isvc, pod) ({recorded} or {{{{isvc_pods_moved_recent}}}})"
        return set_label(both, target="signal", value=pods_module.POD_MOVED)

    def gpus(self) -> str:
        """The recorded GPU count, the largest of the evaluations the lag may leave."""
        span = duration(self.step * (LAG_STEPS + 1))
        return f"max by (namespace, isvc) (max_over_time({rules.data(rules.ISVC_GPUS)}[{span}]))"

    def _check(self) -> str:
        """The heartbeat of rules that record this configuration's presets (a file for
        them, or for every preset); with more than one such file loaded, the worse of
        them, so a file that stopped (or was removed within the horizon) makes the
        answer fall back to the raw queries rather than vouch for what it missed. And
        the heartbeats of every file writing these presets' series, summed per preset:
        more than one a step is two files writing one series (`Check.complete`)."""
        names = {"requests": self.requests_preset.name, "gpu": self.gpu.name}
        span = duration(self.horizon + self.step)
        rec = rules.heartbeat(**names)
        count = f"min(count_over_time({rec}[{span}]))"
        written = _union([_tagged(f"sum(count_over_time({w}[{span}]))", part)
                          for part, w in zip(names, rules.writers(**names), strict=True)])
        return _union([set_label(count, target="signal", value=RULES_EVALUATIONS),
                       set_label(f"min(timestamp({rec}))", target="signal",
                                 value=RULES_NEWEST),
                       set_label(f"max({written})", target="signal", value=RULES_WRITTEN)])

    def gpu_stat(self, stat: str, windows: Windows) -> str:
        """Peak (with the raw last two minutes) or mean of the recorded per-minute values."""
        if stat == "avg":
            rec = self._rec(rules.GPU_UTIL_AVG)
            return _per_window(lambda w: f"avg {BY_ISVC} (avg_over_time({rec}[{duration(w)}]))",
                               windows)
        rec = self._rec(rules.GPU_UTIL_MAX)
        mapping = pods_module.gpu_mapping(self.gpu)
        series = _union([f"{s.scale:g} * max_over_time({s.selector}[{self._tail()}])"
                         if s.scale != 1 else f"max_over_time({s.selector}[{self._tail()}])"
                         for s in self.gpu.sources])
        tail = rules.to_isvc(f"max {rules.by(rules.workload_labels(mapping))} ({series})", mapping)
        # The tail once, its rows without a window: `observations` keeps the larger; only
        # above 0 (a 0 raises no window's peak).
        recorded = _per_window(lambda w: f"max {BY_ISVC} (max_over_time({rec}[{duration(w)}]))",
                               windows)
        return _union([recorded, _tagged(f"max {BY_ISVC} ({tail}) > 0", "tail")])

    def build(self, windows: Windows, *, gpu_max_windows: Windows) -> dict[Query, str]:
        """The seven query templates (tokens as in `queries.render`).

        Freshness and the GPU count are the raw instant queries; freshness maps pods
        through the recorded pod map.
        """
        fresh = freshness(self.requests_preset, self.gpu).replace("{{isvc_pods}}",
                                                                  rules.ISVC_POD_DATA)
        return {
            Query.REQUESTS: self.requests(windows),
            Query.LAST_REQUEST: self.last_request(),
            Query.COVERAGE: self.coverage(windows),
            Query.FRESHNESS: fresh,
            Query.GPU_MAX: self.gpu_stat("max", gpu_max_windows),
            Query.GPU_MEAN: self.gpu_stat("avg", windows),
            Query.GPUS: self.gpus(),
        }
