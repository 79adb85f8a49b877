"""The demo's closing lines: GPU-hours reclaimed per namespace and policy, and a picture."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

from reclaimer.cli.report_png import draw
from reclaimer.errors import ArgumentInvalid
from reclaimer.ledger.records import Report
from reclaimer_dev import demo_world


def print_summary(report: Report, *, out: TextIO) -> None:
    span = f"{report.since:%a %d %b %H:%M %Z} to {report.now:%a %d %b %H:%M %Z}"
    print(f"\nGPU-hours reclaimed from {span}: {report.total_gpu_hours:.1f}", file=out)
    for title, rows in (("namespace", report.by_namespace), ("policy", report.by_policy)):
        print(f"  by {title}:", file=out)
        for row in rows:
            print(f"    {row.key:<22} {row.gpu_hours:7.1f} GPU-h in {row.stops} stop(s)", file=out)


def write_picture(report: Report, path: Path, *, out: TextIO) -> None:
    try:
        draw(report, str(path), zone=demo_world.BERLIN)
    except ArgumentInvalid as exc:
        print(f"  (no picture: {exc})", file=out)
        return
    print(f"  timeline picture: {path}", file=out)


def print_reproduce(database: Path, *, since: datetime, until: datetime, out: TextIO) -> None:
    """The command that reads the same total back from the demo's ledger."""
    print(f"  the same from the ledger: reclaimer report --db sqlite:///{database} "
          f"--since {since.isoformat()} --until {until.isoformat()}", file=out)
