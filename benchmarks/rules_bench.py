"""What the recording rules cost Prometheus at one evaluation, rule by rule; prints JSON.

Run from the repository root: ``.venv/bin/python -m benchmarks.rules_bench --fleet 10000``
(``--rules FILE`` for another rules file, e.g. ``python -m reclaimer.signals.rules
--requests knative --gpu dcgm``'s; ``--repeat 3``). The growth benchmark's fleet and
blocks (``benchmarks/promdata.py``: the shipped rules backfilled over the last 70
minutes, so a rule reading an earlier rule's series finds it), each rule's expression
asked as an instant query at a whole minute three minutes before the tick's edge, as
the group would evaluate it. Printed per rule: its record, preset, rows and the median
of the Prometheus process's CPU seconds (its own ``process_cpu_seconds_total``), which
other jobs on a shared host disturb far less than wall time; then the sum, which is what
one evaluation of the groups costs every minute. A live group evaluates the same
expressions; its own bookkeeping (appending the rows) is not in these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from benchmarks.fleet import Fleet
from benchmarks.promdata import prometheus
from benchmarks.tickrun import EDGE, RECORDED_DATA_FROM, RULES_FROM
from tests.fixtures.prometheus import RULES_FILE

AT = EDGE - timedelta(minutes=3)


def cpu_seconds(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("process_cpu_seconds_total "):
                return float(line.split()[1])
    raise RuntimeError("Prometheus exposes no process_cpu_seconds_total")


def rows(url: str, expr: str) -> int:
    data = urllib.parse.urlencode({"query": expr, "time": AT.timestamp()}).encode()
    with urllib.request.urlopen(f"{url}/api/v1/query", data=data, timeout=600) as response:
        body = json.loads(response.read())
    if body["status"] != "success":
        raise RuntimeError(body)
    return len(body["data"]["result"])


def one_rule(url: str, rule: dict[str, Any], repeat: int) -> dict[str, Any]:
    costs, answered = [], 0
    for _ in range(repeat):
        before = cpu_seconds(url)
        answered = rows(url, rule["expr"])
        costs.append(cpu_seconds(url) - before)
    return {"record": rule["record"], "preset": rule.get("labels", {}).get("reclaimer_preset"),
            "rows": answered, "cpu_s": round(statistics.median(costs), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, default=10_000, help="ISVCs")
    parser.add_argument("--rules", type=Path, default=RULES_FILE, help="the rules file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    groups = yaml.safe_load(args.rules.read_text())["groups"]
    fleet = Fleet(args.fleet, max(100, args.fleet // 20))
    with prometheus(fleet, start=RECORDED_DATA_FROM, end=EDGE, rules_from=RULES_FROM) as url:
        rows(url, "up")
        measured = [{"group": g["name"], **one_rule(url, r, args.repeat)}
                    for g in groups for r in g["rules"]]
    for line in measured:
        print(json.dumps(line))
    print(json.dumps({"isvcs": args.fleet, "rules": str(args.rules), "load": os.getloadavg(),
                      "rules_count": len(measured), "series_written": sum(
                          m["rows"] for m in measured),
                      "cpu_s": round(sum(m["cpu_s"] for m in measured), 2)}))


if __name__ == "__main__":
    main()
