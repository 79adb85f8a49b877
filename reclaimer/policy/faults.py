"""One policy's fault is its own (DESIGN §3.7): exceptions caught per policy.

Validation bounds every value, so a policy should never raise while it is decided; but
a tenant's CR reaches every tick, and one unforeseen exception (an overflow, a library
bug on an odd cron) must not stop the starts and stops of every other policy. So each
piece of per-policy work in `decide()` runs through `Faults.run`: an exception marks
that policy faulty for this tick, everything it produced is dropped, and the loop
reports it like an invalid policy (``Valid=False``, the invalid-policies metric, a log
line naming it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reclaimer.model import Policy, PolicyFault

T = TypeVar("T")


class Faults:
    """The faulty policies of one decision, by key, with the first message of each."""

    def __init__(self) -> None:
        self._by_key: dict[str, PolicyFault] = {}

    def run(self, policy: Policy, work: Callable[[], T], default: T) -> T:
        """``work()``, or ``default`` when it raises or the policy already failed."""
        if policy.key in self._by_key:
            return default
        try:
            return work()
        except Exception as exc:  # the point: contain any fault to its policy
            message = f"could not be decided: {type(exc).__name__}: {exc}".splitlines()[0]
            self._by_key[policy.key] = PolicyFault(policy=policy.key, source=policy.source,
                                                   message=message)
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def all(self) -> tuple[PolicyFault, ...]:
        return tuple(self._by_key[key] for key in sorted(self._by_key))
