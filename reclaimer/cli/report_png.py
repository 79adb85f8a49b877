"""The `report --png` picture, drawn with matplotlib (the optional extra ``plot``).

Made to be pasted into a report: the title states the total and the span; the top
panel is the number of GPUs given back over time (its area is the GPU-hours); below,
one row per service whose bars are as thick as the GPUs they freed. Times are local
(the zone given, else the machine's), and the date axis stays readable from a day to
a month. Imported lazily: the service and every other command run without matplotlib.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reclaimer.errors import ArgumentInvalid

if TYPE_CHECKING:
    from reclaimer.ledger import Report

MISSING = ("--png: drawing needs matplotlib, the optional extra `plot`: "
           "pip install 'reclaimer[plot]'")


def require_matplotlib() -> None:
    """Refuse before touching the database, so a missing extra writes nothing."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ArgumentInvalid(MISSING)


def require_png(path: str) -> None:
    """A name matplotlib would refuse (``x.txt``) is refused before any work."""
    if Path(path).suffix.lower() != ".png":
        raise ArgumentInvalid(f"--png: {path} does not end in .png")
    require_matplotlib()


def gpus_over_time(report: Report) -> list[tuple[datetime, int]]:
    """Steps of the number of GPUs stopped: (instant, GPUs from then on)."""
    changes: dict[datetime, int] = {report.since: 0}
    for interval in report.intervals:
        gpus = interval.gpus or 0
        changes[interval.start] = changes.get(interval.start, 0) + gpus
        changes[interval.end] = changes.get(interval.end, 0) - gpus
    steps, level = [], 0
    for instant in sorted(changes):
        level += changes[instant]
        steps.append((instant, level))
    return steps


def draw(report: Report, path: str, *, zone: tzinfo | None = None) -> None:
    require_matplotlib()
    import matplotlib  # noqa: PLC0415 - optional extra, loaded only for --png
    matplotlib.use("Agg")
    from matplotlib import dates, pyplot  # noqa: PLC0415

    local = zone or report.now.astimezone().tzinfo  # the machine's zone, no clock read
    services = sorted({str(i.ref) for i in report.intervals})
    figure, (total, rows) = pyplot.subplots(
        2, 1, sharex=True, figsize=(12, 2.8 + 0.35 * max(len(services), 1)),
        gridspec_kw={"height_ratios": [1.2, max(len(services), 1) * 0.35]})
    date2num: Callable[[datetime], float] = dates.date2num
    steps = gpus_over_time(report)
    total.step([date2num(t) for t, _ in steps], [g for _, g in steps], where="post",
               color="tab:green")
    total.fill_between([date2num(t) for t, _ in steps], [g for _, g in steps], step="post",
                       color="tab:green", alpha=0.3)
    total.set_ylabel("GPUs given back")
    _rows(rows, services, report, date2num)
    _axes(figure, total, rows, report, dates, local)
    try:
        figure.savefig(Path(path), dpi=110)
    except OSError as exc:
        raise ArgumentInvalid(f"--png: cannot write {path}: {exc.strerror}") from exc
    finally:
        pyplot.close(figure)


def _rows(axes: Any, services: list[str], report: Report,
          date2num: Callable[[datetime], float]) -> None:
    widest = max((i.gpus or 0 for i in report.intervals), default=1) or 1
    for row, service in enumerate(services):
        for interval in (i for i in report.intervals if str(i.ref) == service):
            start, end = date2num(interval.start), date2num(interval.end)
            height = 0.25 + 0.6 * (interval.gpus or 0) / widest
            axes.barh(row, end - start, left=start, height=height,
                      color="tab:green" if interval.gpus else "tab:gray")
    axes.set_yticks(range(len(services)), labels=services)
    axes.invert_yaxis()
    axes.set_xlabel("bar thickness: GPUs freed; grey: GPU count unknown")


def _axes(figure: Any, total: Any, rows: Any, report: Report, dates: Any,
          local: tzinfo | None) -> None:
    locator = dates.AutoDateLocator(tz=local, maxticks=12)
    rows.xaxis.set_major_locator(locator)
    rows.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator, tz=local))
    rows.set_xlim(dates.date2num(report.since), dates.date2num(report.now))
    for axes in (total, rows):
        axes.grid(axis="x", alpha=0.3)
    since, until = report.since.astimezone(local), report.now.astimezone(local)
    figure.suptitle(f"{report.total_gpu_hours:,.1f} GPU-hours given back by reclaimer, "
                    f"{since:%a %d %b %Y %H:%M} to {until:%a %d %b %Y %H:%M} "
                    f"({until.tzname()})")
    figure.tight_layout()
