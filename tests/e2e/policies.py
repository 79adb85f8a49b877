"""Policy documents and traffic scripts the scenarios share."""

from __future__ import annotations

from datetime import datetime, timedelta

from reclaimer.signals.scripted import Script, Steady


def office_hours(*, busy_at_stop: str = "defer", max_defer: str = "2h",
                 namespace: str = "team-a", name: str = "office-hours") -> str:
    """Weekday office hours in Berlin for one namespace's dev models."""
    return f"""\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {{name: {name}}}
spec:
  namespaceSelector: {{matchNames: [{namespace}]}}
  selector: {{matchLabels: {{tier: dev}}}}
  timeZone: Europe/Berlin
  schedule: [{{start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}}]
  busyAtStop: {busy_at_stop}
  maxDefer: {max_defer}
"""


IDLE = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: idle-30m}
spec:
  namespaceSelector: {matchNames: [team-b]}
  selector: {matchLabels: {reclaim: idle}}
  idle: {after: 30m, minUptime: 15m}
"""

# Daily 08-19 plus a late window, so a hand start at 21:00 meets its next stop at 23:00.
EVENINGS = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: evenings}
spec:
  namespaceSelector: {matchNames: [team-a]}
  selector: {matchLabels: {tier: dev}}
  timeZone: Europe/Berlin
  schedule:
    - {start: "0 8 * * *", stop: "0 19 * * *"}
    - {start: "0 22 * * *", stop: "0 23 * * *"}
  busyAtStop: force
"""

BROKEN = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: broken}
spec:
  selector: {}
  idle: {after: 30 minutes}
"""


def quiet(since: datetime) -> Script:
    """Scraped from ``since``, no requests, GPU idle."""
    return Script(data_from=since, gpus=1)


def busy(since: datetime, *, until: datetime) -> Script:
    """A request a minute and 50 % GPU from ``since`` to ``until``, then quiet."""
    return Script(data_from=since, gpus=1,
                  steady=(Steady(start=since, end=until, every=timedelta(minutes=1)),),
                  gpu_levels=((since, 50.0), (until, 0.0)))
