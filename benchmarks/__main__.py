"""``make bench`` / ``python -m benchmarks``: every benchmark with quick defaults, in turn.

Each script runs in its own process (so each peak RSS is its own, and one failure does
not hide the others) with arguments sized to keep the whole run under 10 minutes on
the 2-core development host; ``--full`` uses each script's own defaults instead, and
``--only NAME[,NAME]`` picks some. The machine's facts (nproc, memory, load average,
Python, commit) are printed first, since every figure depends on them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

QUICK: dict[str, list[str]] = {
    "tick_bench": [],
    "growth_bench": ["--steady", "2"],
    "storms_bench": ["--workers", "1,8", "--ledgers", "sqlite,memory"],
    "sandbox_scale": ["--isvcs", "2000", "--patches", "100"],
    "sandbox_simulator": ["500"],
    "executor_bench": ["--count", "300"],
    "decide_bench": ["--services", "1000,5000", "--repeat", "3"],
    "decide_scale": ["--repeat", "3"],
    "schedule_bench": ["--repeat", "5"],
    "signals_bench": ["--services", "50,500", "--repeat", "3", "--concurrency", "4"],
    "ledger_bench": ["--rows", "50000", "--repeat", "5", "--backends", "sqlite"],
}

# At scale with recording rules (issue 20): 10,000 and 50,000 ISVCs, signals read from
# the shipped rules' series; heavy (a 50,000-ISVC sandbox and backfill), so only with
# --scale.
SCALE: dict[str, list[str]] = {
    "growth_bench": ["--sizes", "10000,50000", "--steady", "2", "--mode", "recorded"],
}

# The image and the chart run the service with these (Dockerfile, helm env helper);
# memory figures depend on them, so the tick is measured both plain and as deployed.
DEPLOYED_ENV = {"MALLOC_ARENA_MAX": "2"}
AS_DEPLOYED = ("tick_bench",)


def _shell(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=10).stdout.strip()
    except OSError:
        return "?"


def machine() -> str:
    memory = next((line.split()[1] for line in _shell(["free", "-h"]).splitlines()
                   if line.startswith("Mem:")), "?")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"commit {_shell(['git', 'rev-parse', '--short', 'HEAD'])}, nproc {os.cpu_count()}, "
            f"memory {memory}, Python {platform.python_version()}, load average {load}")


def run(name: str, args: list[str], *, env: dict[str, str] | None = None) -> bool:
    shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    print(f"\n## {shown} {name} {' '.join(args)}".replace("  ", " ").rstrip(), flush=True)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], check=False,
                          env={**os.environ, **env} if env else None)
    print(f"({name}: {time.perf_counter() - began:.0f} s, exit {done.returncode}; load "
          f"average now {os.getloadavg()[0]:.2f})", flush=True)
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--full", action="store_true", help="each script's own defaults")
    parser.add_argument("--only", default="", help="comma-separated script names")
    parser.add_argument("--scale", action="store_true",
                        help="only the 10,000/50,000-ISVC growth with recording rules")
    args = parser.parse_args(argv)
    chosen = [n for n in QUICK if not args.only or n in args.only.split(",")]
    print(machine(), flush=True)
    began = time.perf_counter()
    if args.scale:
        ok = all(run(n, a) for n, a in SCALE.items())
        print(f"\nall benchmarks: {time.perf_counter() - began:.0f} s")
        return 0 if ok else 1
    failed = [n for n in chosen if not run(n, [] if args.full else QUICK[n])]
    failed += [f"{n} (as deployed)" for n in chosen if n in AS_DEPLOYED
               and not run(n, [] if args.full else QUICK[n], env=DEPLOYED_ENV)]
    print(f"\nall benchmarks: {time.perf_counter() - began:.0f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
