"""The demo's timeline lines, each time in the zone of the service's policy.

A Berlin team reads Berlin time and the New York team New York time, as `schedule`
does; ``--tz`` puts every line in one zone instead. A policy without a zone (idle
rules only) reads in the demo's home zone, Berlin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from reclaimer.cli.output import duration_text
from reclaimer.executor.outcome import Outcome, OutcomeKind
from reclaimer.model import ServiceRef, Transition
from reclaimer.service.loop import TickResult
from reclaimer_dev import demo_world

CLOCK_DURATION = re.compile(r"\b(\d+):(\d\d):(\d\d)\b(?![-+:T])")
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
# Edges that change nothing are in the ledger but would only clutter the timeline.
QUIET_BLOCKS = ("missed", "already")
VERBS = {OutcomeKind.APPLIED: "", OutcomeKind.FAILED: "FAILED ",
         OutcomeKind.ABANDONED: "ABANDONED "}


@dataclass
class Printer:
    out: TextIO
    fixed: ZoneInfo | None = None
    zones: dict[ServiceRef, ZoneInfo] = field(default_factory=dict)

    def when(self, at: datetime, ref: ServiceRef | None = None) -> str:
        zone = self.fixed or (self.zones.get(ref) if ref else None)
        local = at.astimezone(zone or demo_world.BERLIN)
        return f"{local:%a %d %b %H:%M} {local.tzname()}"

    def line(self, at: datetime, ref: ServiceRef, text: str) -> None:
        print(f"{self.when(at, ref)}  {text}", file=self.out)

    def tick(self, result: TickResult) -> None:
        for match in result.observation.matches:
            zone = match.policy.time_zone
            self.zones[match.service.ref] = ZoneInfo(zone) if zone else demo_world.BERLIN
        for change in result.observation.external:
            manager = change.evidence.get("fieldManager", "someone")
            self.line(result.at, change.ref, f"NOTICED {change.ref!s:<18} "
                      f"{change.action.value}ed by {manager}: recorded as external; its "
                      "schedule waits for the next edge, idle rules still apply")
        for outcome in result.outcomes:
            if outcome.kind in VERBS:
                self._outcome(result, outcome)
        for entry in result.recorded_blocked:
            if not (entry.blocked or "").startswith(QUIET_BLOCKS):
                blocked = self.readable(entry.blocked or "", entry.ref)
                self.line(result.at, entry.ref, f"(no {entry.action.value}) "
                          f"{entry.ref!s:<13} {_why(entry)} — {blocked}")

    def readable(self, text: str, ref: ServiceRef) -> str:
        """The ledger's reason as a person reads it: ``0:05:00`` as ``5m``, an RFC 3339
        instant as local time in the service's zone."""
        text = CLOCK_DURATION.sub(lambda m: duration_text(timedelta(
            hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3]))), text)
        return INSTANT.sub(lambda m: self.when(datetime.fromisoformat(m[0]), ref), text)

    def _outcome(self, result: TickResult, outcome: Outcome) -> None:
        transition = next((t for t in result.plan.transitions
                           if t.ref == outcome.ref and t.action == outcome.action), None)
        why = _why(transition) if transition else outcome.message
        verb = f"{VERBS[outcome.kind]}{outcome.action.value.upper()}"
        self.line(result.at, outcome.ref, f"{verb:<7} {outcome.ref!s:<18} {why}")


def _why(t: Transition) -> str:
    gpus = f", {t.gpus} GPU" + ("s" if (t.gpus or 0) > 1 else "") if t.gpus else ""
    return f"{t.trigger.value}: {t.reason.value} by {t.policy or 'a person'}{gpus}"
