"""The `report --png` timeline, drawn with matplotlib (the optional extra ``plot``).

Imported lazily: the service and every other command run without matplotlib.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from reclaimer.errors import ArgumentInvalid
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


def draw(report: Report, path: str) -> None:
    """One row per service, a bar per stopped stretch, labelled with its GPU count."""
    require_matplotlib()
    import matplotlib  # noqa: PLC0415 - optional extra, loaded only for --png
    matplotlib.use("Agg")
    from matplotlib import dates, pyplot  # noqa: PLC0415

    date2num: Callable[[datetime], float] = dates.date2num
    services = sorted({str(i.ref) for i in report.intervals})
    figure, axes = pyplot.subplots(figsize=(11, 1.2 + 0.4 * max(len(services), 1)))
    for row, service in enumerate(services):
        for interval in (i for i in report.intervals if str(i.ref) == service):
            start, end = date2num(interval.start), date2num(interval.end)
            axes.barh(row, end - start, left=start, height=0.6,
                      color="tab:green" if interval.gpus else "tab:gray")
    axes.xaxis_date()
    axes.set_xlim(date2num(report.since), date2num(report.now))
    _decorate(axes, services, report)
    figure.tight_layout()
    try:
        figure.savefig(Path(path), dpi=100)
    except OSError as exc:
        raise ArgumentInvalid(f"--png: cannot write {path}: {exc.strerror}") from exc
    finally:
        pyplot.close(figure)


def _decorate(axes: Any, services: list[str], report: Report) -> None:
    axes.set_yticks(range(len(services)), labels=services)
    axes.set_xlabel("UTC")
    axes.set_title(f"Stopped by reclaimer: {report.total_gpu_hours:.1f} GPU-hours "
                   f"({report.since:%Y-%m-%d} .. {report.now:%Y-%m-%d})")
    axes.grid(axis="x", alpha=0.3)
