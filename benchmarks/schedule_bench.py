"""Schedule and schema cost: what one tick pays per policy, and validation throughput.

Run from the repository root: ``.venv/bin/python -m benchmarks.schedule_bench``
(``--repeat 20``). Prints milliseconds per call for `edges_between` over a day, the
8-day catch-up horizon and a year, for `previous_edge`, `next_edge` and `window_open`,
for policies from the everyday (office hours) to the awkward (every 15 minutes, yearly,
three overlapping windows), and how many documents per second `parse_documents` takes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from reclaimer.model import Policy, Window
from reclaimer.policy.schedule import edges_between, next_edge, previous_edge, window_open
from reclaimer.policy.schema import parse_documents

AT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # Berlin's spring-forward night
POLICIES = {
    "office-hours": ("Europe/Berlin", [("0 8 * * mon-fri", "0 19 * * mon-fri")]),
    "every-15m": ("America/New_York", [("*/15 * * * *", "5-59/15 * * * *")]),
    "monthly": ("Australia/Sydney", [("0 8 1 * *", "0 8 15 * *")]),
    "yearly": ("Asia/Kolkata", [("0 0 1 1 *", "0 0 1 7 *")]),
    "three-windows": ("Europe/Berlin", [("0 8 * * 1-5", "0 12 * * 1-5"),
                                        ("0 12 * * 1-5", "0 19 * * 1-5"),
                                        ("0 10 * * 0,6", "0 14 * * 0,6")]),
}


def policy(name: str) -> Policy:
    zone, windows = POLICIES[name]
    return Policy(name=name, namespace=None, source="bench", time_zone=zone,
                  schedule=tuple(Window(start, stop) for start, stop in windows))


def per_call_ms(call: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def schedule_table(repeat: int) -> None:
    calls: dict[str, Callable[[Policy], object]] = {
        "edges 1d": lambda p: edges_between(p, AT - timedelta(days=1), AT),
        "edges 8d": lambda p: edges_between(p, AT - timedelta(days=8), AT),
        "edges 1y": lambda p: edges_between(p, AT - timedelta(days=365), AT),
        "previous": lambda p: previous_edge(p, AT),
        "next": lambda p: next_edge(p, AT),
        "open": lambda p: window_open(p, AT),
    }
    print(f"{'policy (median ms/call)':<24}" + "".join(f"{name:>10}" for name in calls))
    for name in POLICIES:
        subject = policy(name)
        figures = [per_call_ms(partial(call, subject), repeat) for call in calls.values()]
        print(f"{name:<24}" + "".join(f"{value:>10.2f}" for value in figures))


def validation_rate(repeat: int) -> None:
    examples = sorted(Path("policies").glob("*.yaml"))
    text = "\n---\n".join(p.read_text() for p in examples)
    names = [f"bench-{i}" for i in range(50)]
    stream = "\n---\n".join(text.replace("name: ", f"name: {n}-", 4) for n in names)
    documents = len(examples) * len(names)
    milliseconds = per_call_ms(lambda: parse_documents(stream, source="bench"), max(3, repeat // 4))
    print(f"\nparse_documents: {documents} documents in {milliseconds:.0f} ms "
          f"= {documents / milliseconds * 1000:.0f} documents/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    schedule_table(args.repeat)
    validation_rate(args.repeat)


if __name__ == "__main__":
    main()
