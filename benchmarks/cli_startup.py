"""How long `reclaimer` takes to start, next to a bare interpreter.

Each command runs ``--repeat`` times (default 10) as a fresh process; the figure is the
median wall time, and the margin over ``python -c pass`` is what the CLI itself costs
(import and argument parsing). Issue 16's target: `reclaimer --help` and
`reclaimer validate` within 0.3 s. Usage: ``python -m benchmarks.cli_startup``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "reclaimer --help": [sys.executable, "-m", "reclaimer", "--help"],
    "reclaimer validate policies/": [sys.executable, "-m", "reclaimer", "validate",
                                     str(ROOT / "policies")],
    "reclaimer history --help": [sys.executable, "-m", "reclaimer", "history", "--help"],
}


def median_seconds(command: list[str], *, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False, cwd=ROOT)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, median of {args.repeat} runs")
    base = median_seconds(COMMANDS["python -c pass"], repeat=args.repeat)
    for name, command in COMMANDS.items():
        seconds = median_seconds(command, repeat=args.repeat)
        print(f"{name:<32} {seconds:6.3f} s   (+{seconds - base:.3f} s over python -c pass)")


if __name__ == "__main__":
    main()
