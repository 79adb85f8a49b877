"""Several windows in one query per signal: fold the texts, split the answers.

A tick needs signals over one or two windows (an idle rule's ``after``, the
busy-at-stop lookback). Asking each window separately doubles the queries and repeats
the ones that do not depend on the window at all. Instead each signal is one query:
the same text for every window is sent once; different texts are joined with ``or``,
each tagged with `WINDOW_LABEL` so the answer tells them apart. A row without the
label (a window-independent query) belongs to every window.

Step counts (coverage) are stacked instead: every window ends at the evaluation
instant and their steps are aligned, so one subquery over the longest window can count
them all. Each step weighs ``BASE**j`` for every window ``j`` it falls in (the longest
is ``j = 0``, so the sum holds each window's count in its own base-1000 digit), and the
row, tagged with `STACK_LABEL`, is split back into one count per window here. Counts
stay below ``BASE`` and the sum exact in a float while `stackable` holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from reclaimer.signals.promql import set_label

WINDOW_LABEL = "reclaimer_window"
STACK_LABEL = "reclaimer_stacked"
BASE = 1000
_MAX_STACKED = 5
Key = TypeVar("Key")
Row = tuple[dict[str, str], float]


def window_value(window: timedelta) -> str:
    return f"{window.total_seconds():g}"


def fold(texts: Mapping[timedelta, str]) -> str:
    """One query text for all windows (``texts`` is never empty)."""
    distinct = set(texts.values())
    if len(distinct) == 1:
        return distinct.pop()
    return " or ".join(f"({set_label(text, target=WINDOW_LABEL, value=window_value(w))})"
                       for w, text in texts.items())


def stackable(windows: Sequence[timedelta], step: timedelta) -> bool:
    return 1 < len(windows) <= _MAX_STACKED and max(windows) / step < BASE - 1


def stacked_steps(present: str, windows: Sequence[timedelta]) -> str:
    """Steps at which ``present`` has a series, for every window, in one subquery.

    The subquery spans ``{{window}}`` (the longest window) and needs ``{{at}}``, the
    evaluation instant, to place the shorter windows' starts. Across workloads the
    best value of the sum wins, i.e. the best coverage of the shortest window, ties
    going to the longer ones: a window may so be counted short (unknown), never long.
    """
    shorter = sorted(windows, reverse=True)[1:]
    weights = ["1", *(f"{BASE ** j} * (time() >= bool ({{{{at}}}} - {w.total_seconds():g}))"
                      for j, w in enumerate(shorter, start=1))]
    weighted = f"(({present}) > bool 0) * ({' + '.join(weights)})"
    return f"sum_over_time(({weighted})[{{{{window}}}}:{{{{step}}}}])"


def stacked(expr: str) -> str:
    """Mark rows of `stacked_steps` (after any aggregation, which drops the mark)."""
    return set_label(expr, target=STACK_LABEL, value=str(BASE))


def _unstack(row: Row, windows: Sequence[timedelta]) -> dict[timedelta, Row]:
    labels, value = row
    ordered = sorted(windows, reverse=True)
    return {w: (labels, float(int(value) // BASE ** j % BASE)) for j, w in enumerate(ordered)}


def split(rows: Mapping[Key, Sequence[Row]], windows: Sequence[timedelta],
          ) -> dict[timedelta, dict[Key, list[Row]]]:
    """Each window's rows per query: its tagged rows, stacked counts, untagged rows."""
    by_value = {window_value(w): w for w in windows}
    out: dict[timedelta, dict[Key, list[Row]]] = {w: {k: [] for k in rows} for w in windows}
    for key, key_rows in rows.items():
        for row in key_rows:
            if STACK_LABEL in row[0]:
                for w, one in _unstack(row, windows).items():
                    out[w][key].append(one)
                continue
            tag = row[0].get(WINDOW_LABEL)
            for w in windows if tag is None else [by_value[tag]] if tag in by_value else []:
                out[w][key].append(row)
    return out
