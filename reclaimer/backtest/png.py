"""The ``backtest --png`` picture (matplotlib, the optional extra ``plot``).

Left: GPU-hours reclaimed against cold starts, one point per alternative (the
policies as written, each ``--compare`` value), with the oracle's GPU-hours as a
line: the trade-off in one look. Right: the timeline of the service with the most
cold starts: its requests per step, and the spans it was stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reclaimer.backtest.timeline import Timeline


def draw(result: dict[str, Any], timeline: Timeline | None, path: str) -> None:
    import matplotlib  # noqa: PLC0415 - optional extra, loaded only for --png
    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    points = [("as written", result["totals"])]
    points += [(a["idleAfter"], a["totals"]) for a in result["alternatives"]]
    for label, totals in points:
        left.scatter(totals["coldStarts"], totals["gpuHoursReclaimed"], s=40)
        left.annotate(label, (totals["coldStarts"], totals["gpuHoursReclaimed"]),
                      textcoords="offset points", xytext=(5, 5))
    left.axhline(result["totals"]["oracleGpuHours"], linestyle="--", color="grey",
                 label="oracle")
    left.set_xlabel("cold starts")
    left.set_ylabel("GPU-hours reclaimed")
    left.set_title(f"{result['from'][:10]} to {result['to'][:10]}")
    left.legend(loc="lower right")
    if timeline is not None:
        _timeline(right, timeline)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _timeline(axes: Any, timeline: Timeline) -> None:
    """Times go in as matplotlib's date numbers, not datetimes: its converter for
    datetimes is looked up by type in a registry that whoever imported
    ``matplotlib.dates`` first may have keyed on another class (freezegun's)."""
    from matplotlib import dates  # noqa: PLC0415 - optional extra

    date2num: Callable[[datetime], float] = dates.date2num

    def number(stamp: float) -> float:
        return float(date2num(datetime.fromtimestamp(stamp, UTC)))

    axes.plot([number(s) for s in timeline.stamps], timeline.requests, linewidth=0.7,
              label="requests per step")
    for start, end in timeline.stopped:
        axes.axvspan(number(start), number(end), color="tab:red", alpha=0.2, linewidth=0)
    axes.xaxis_date()
    axes.set_title(f"{timeline.ref}: stopped spans shaded")
    axes.set_ylabel("requests")
    axes.tick_params(axis="x", labelrotation=30)
