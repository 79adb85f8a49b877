"""Several windows in one query per signal: fold the texts, split the answers.

A tick needs signals over one or two windows (an idle rule's ``after``, the
busy-at-stop lookback). Asking each window separately doubles the queries and repeats
the ones that do not depend on the window at all. Instead each signal is one query:
the same text for every window is sent once; different texts are joined with ``or``,
each tagged with `WINDOW_LABEL` so the answer tells them apart. A row without the
label (a window-independent query) belongs to every window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Protocol, TypeVar

from reclaimer.signals.promql import set_label

WINDOW_LABEL = "reclaimer_window"
Key = TypeVar("Key")


class Tagged(Protocol):
    """A parsed answer row: its `WINDOW_LABEL` value, None when the query had none."""

    @property
    def window(self) -> str | None: ...


Row = TypeVar("Row", bound=Tagged)


def window_value(window: timedelta) -> str:
    return f"{window.total_seconds():g}"


def fold(texts: Mapping[timedelta, str]) -> str:
    """One query text for all windows (``texts`` is never empty)."""
    distinct = set(texts.values())
    if len(distinct) == 1:
        return distinct.pop()
    return " or ".join(f"({set_label(text, target=WINDOW_LABEL, value=window_value(w))})"
                       for w, text in texts.items())


def split(rows: Mapping[Key, Sequence[Row]], windows: Sequence[timedelta],
          ) -> dict[timedelta, dict[Key, list[Row]]]:
    """Each window's rows per query: its tagged rows plus every untagged one."""
    by_value = {window_value(w): w for w in windows}
    out: dict[timedelta, dict[Key, list[Row]]] = {w: {k: [] for k in rows} for w in windows}
    for key, key_rows in rows.items():
        for row in key_rows:
            tag = row.window
            targets = windows if tag is None else [by_value[tag]] if tag in by_value else []
            for w in targets:
                out[w][key].append(row)
    return out
