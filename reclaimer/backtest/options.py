"""How a backtest replays: the options of the loop, and the policies it is given.

Kept apart from the loop (`simulate`) because the command line, the run and the tests
build options without the loop, and the loop's modules all read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum

from reclaimer.model import AutoIdle, DecideSettings, Policy, PolicyMode


class Restart(StrEnum):
    ON_REQUEST = "on-request"
    NEVER = "never"


@dataclass(frozen=True)
class Options:
    start_time: timedelta = timedelta(minutes=5)
    restart: Restart = Restart.ON_REQUEST
    settings: DecideSettings = field(default_factory=DecideSettings)
    max_sample_age: timedelta = timedelta(minutes=2)
    # ``idle.after: auto``: each idle rule's ``after`` chosen per service by
    # `policy.auto_idle.choose_timeout`, learned again every `RELEARN`.
    auto: AutoIdle | None = None


RELEARN = timedelta(days=1)


def enforced(policies: Sequence[Policy]) -> list[Policy]:
    """A backtest asks what a policy *would* do: dry-run policies are replayed as enforced."""
    return [replace(p, mode=PolicyMode.ENFORCE) for p in policies]


def overrides(policies: Sequence[Policy], after: timedelta) -> list[Policy]:
    """The same policies with every idle rule's ``after`` replaced (``--compare``)."""
    return [replace(p, idle=replace(p.idle, after=after, auto=None)) if p.idle is not None
            else p
            for p in policies]
