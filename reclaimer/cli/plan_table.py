"""`plan`'s table: what would happen, and with ``-o wide`` the services no policy covers.

An empty plan is not an empty header: it says how many services the inventory held and
how many a policy governs, so "nothing to do" and "nothing selected" look different.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from reclaimer.cli.output import print_table
from reclaimer.model import Policy, Service
from reclaimer.policy.matching import match_services

COLUMNS = ("namespace", "name", "action", "trigger", "policy", "reason", "blocked")


def show(items: list[dict[str, Any]], *, policies: Sequence[Policy],  # noqa: PLR0913 - CLI wiring
         services: Sequence[Service], wide: bool, at: datetime, out: TextIO,
         extra: Sequence[str] = ()) -> None:
    """``extra``: more columns (``evidence`` with ``--prometheus``)."""
    governed = {m.service.ref for m in match_services(policies, services)[0]}
    rows = list(items)
    if wide:
        rows += [{"namespace": s.ref.namespace, "name": s.ref.name, "reason": "ungoverned",
                  "blocked": "no policy selects it"}
                 for s in services if s.ref not in governed]
    print_table(rows, (*COLUMNS, *extra), out)
    if not items:
        print(f"(nothing to do at {at.isoformat()}: {len(services)} service(s) in the "
              f"inventory, {len(governed)} governed by a policy"
              f"{'' if wide else '; -o wide lists the others'})", file=out)
