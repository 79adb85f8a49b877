"""A child process for the race and crash tests: a second replica in its own OS process.

``python -m tests.ledger.worker race URL`` opens the ledger, prints ``ready``, then for
each edge key read from stdin tries to claim it and prints ``won`` or ``lost``.
``race-many`` does the same for a line of several keys, claimed in one
``record_planned_many``, and prints one ``won``/``lost`` per key on one line.
``python -m tests.ledger.worker plan URL`` records one planned row, prints its id and
waits to be killed.
"""

from __future__ import annotations

import sys
import time

from reclaimer.errors import EdgeAlreadyClaimed
from reclaimer.ledger import open_ledger
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import Transition
from tests.ledger.builders import at, transition


def _edge(key: str) -> Transition:
    return Transition(**{**transition().__dict__, "edge_key": key})


def race(url: str, actor: str) -> None:
    ledger = open_ledger(url)
    print("ready", flush=True)
    for line in sys.stdin:
        try:
            ledger.record_planned(_edge(line.strip()), strategy="native", actor=actor, at=at(0))
            print("won", flush=True)
        except EdgeAlreadyClaimed:
            print("lost", flush=True)


def race_many(url: str, actor: str) -> None:
    ledger = open_ledger(url)
    print("ready", flush=True)
    for line in sys.stdin:
        entries = [PlannedEntry(_edge(key), "native") for key in line.split()]
        ids = ledger.record_planned_many(entries, actor=actor, at=at(0))
        print(" ".join("lost" if i is None else "won" for i in ids), flush=True)


def plan(url: str) -> None:
    ledger = open_ledger(url)
    record = ledger.record_planned(transition(), strategy="native", actor="doomed", at=at(0))
    print(record.id, flush=True)
    time.sleep(120)


if __name__ == "__main__":
    if sys.argv[1] == "race":
        race(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "race-many":
        race_many(sys.argv[2], sys.argv[3])
    else:
        plan(sys.argv[2])
