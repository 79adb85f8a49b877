"""How long a snooze asked for through the API may last (issue 19), pure.

A snooze is a hold: it blocks every action on the service until it ends, starts
included. So it is bounded twice: by the policy's ``maxSnooze`` (default 12 h) from
``now``, and by the policy's next start edge: a snooze asked on Friday evening "until
Monday noon" must not keep Monday's 08:00 start from waking the model. The answer says
which bound cut it, so the caller can tell the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reclaimer.errors import ArgumentInvalid
from reclaimer.model import Action, Policy
from reclaimer.policy.durations import format_duration
from reclaimer.policy.schedule import edges_between


@dataclass(frozen=True)
class Snooze:
    until: datetime
    cut: str | None = None  # why ``until`` is earlier than asked, for the caller


def bounded_snooze(asked: datetime, *, policy: Policy | None, now: datetime) -> Snooze:
    """``asked`` cut at ``now + maxSnooze`` and at the next start edge after ``now``.

    Without a governing policy the default ``maxSnooze`` applies. Raises ArgumentInvalid
    naming ``until`` for an instant not after ``now``."""
    if asked <= now:
        raise ArgumentInvalid(f"until: {asked.isoformat()} is not after now "
                              f"({now.isoformat()})")
    limit = (policy or _DEFAULT).max_snooze
    until, cut = asked, None
    if until > now + limit:
        until, cut = now + limit, f"cut to maxSnooze {format_duration(limit)}"
    if policy is not None:
        start = next((e for e in edges_between(policy, now, until)
                      if e.action is Action.START), None)
        if start is not None and start.at < until:
            until, cut = start.at, f"cut at the next start edge {start.at.isoformat()}"
    return Snooze(until=until, cut=cut)


_DEFAULT = Policy(name="(none)", namespace=None, source="(default)")
