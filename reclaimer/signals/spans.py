"""The time parameters of one evaluation's queries, and a template filled with them.

A template (`queries.build`, or an operator's) holds ``{{tokens}}`` (`queries.TOKENS`);
`render` fills the pod-map tokens first (`pod_map`), since they hold range tokens
themselves, then the window, step, horizon and recent span of `Spans`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from reclaimer.signals.pod_map import isvc_pods, moved_lately, moved_pods
from reclaimer.signals.promql import duration

COARSE_STEPS = 36
# The recorded mode's raw look at moved pods (``{{isvc_pods_moved_recent}}``, not an
# operator's token): the rules' newest evaluation may be 2 steps old, and a move that
# came just before it may not have been scraped then; 4 steps cover both with a
# kube-state-metrics scrape interval up to a step.
MOVED_RECENT_STEPS = 4


@dataclass(frozen=True)
class Spans:
    """The time parameters of one evaluation's queries.

    ``recent`` is the span where the last request is resolved to ``step``: the shortest
    window of the evaluation, which is at least the busy-at-stop lookback that reads it.
    Further back, up to ``horizon``, it is resolved to the coarse step, ``horizon / 36``
    rounded to whole steps (2 m for 1 h, 10 m for 6 h), which keeps a long look-back
    from costing a subquery step per minute for every series.
    """

    window: timedelta
    step: timedelta
    horizon: timedelta
    recent: timedelta

    @property
    def coarse_step(self) -> timedelta:
        return self.step * max(1, round(self.horizon / self.step / COARSE_STEPS))


def render(template: str, spans: Spans, *, pod_labels: str, isvc_label: str) -> str:
    """Fill the tokens; the pod tokens first, since they hold range tokens themselves."""
    coarse = spans.coarse_step
    values = {
        "isvc_pods_moved_recent": moved_lately(pod_labels, isvc_label,
                                               over=duration(spans.step * MOVED_RECENT_STEPS)),
        "isvc_pods_moved": moved_pods(pod_labels, isvc_label, over="{{horizon}}"),
        "isvc_pods_window": isvc_pods(pod_labels, isvc_label, over="{{window}}"),
        "isvc_pods_horizon": isvc_pods(pod_labels, isvc_label, over="{{horizon}}"),
        "isvc_pods": isvc_pods(pod_labels, isvc_label),
        "window": duration(spans.window),
        "step": duration(spans.step),
        "horizon": duration(spans.horizon),
        "recent_seconds": f"{spans.recent.total_seconds():g}",
        "recent": duration(spans.recent),
        "coarse_step": duration(coarse),
        "coarse_range": duration(coarse + spans.step),
    }
    text = template
    for token, value in values.items():
        text = text.replace("{{" + token + "}}", value)
    return text
