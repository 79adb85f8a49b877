"""The demo's cluster and its week of traffic (`reclaimer demo`).

Six models in four namespaces, each showing one rule of docs/design.md §3 with the bundled
example policies in ``policies/``:

- ``team-a/llama`` (Standard, 1 GPU, office hours Berlin): busy 08:00–18:00 on weekdays,
  idle-stopped half an hour after its last request, started at 08:00; held by an
  operator on Tuesday evening, so it stays up that night;
- ``team-a/mistral`` (Knative, 2 GPUs, office hours Berlin): still serving at 19:00, so
  the stop is deferred until it has been quiet for five minutes;
- ``team-a/embedder`` (prod): no policy selects it, nothing ever touches it;
- ``team-b/whisper`` (idle-30m): traffic stops on Tuesday afternoon, idle-stopped 30
  minutes later; a person starts it again by hand on Thursday;
- ``ml-nyc/chat`` (US office hours, New York): weekdays 07:00–20:00 Eastern;
- ``research/bert`` (dry-run policy): decisions recorded, never acted on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reclaimer.model import ServiceRef
from reclaimer.signals.scripted import Script, Steady

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def scenario() -> dict[str, Any]:
    return {
        "kserve": "0.16",
        "defaultDeploymentMode": "Knative",
        "podTerminationSeconds": 0,
        "namespaces": ["team-a", "team-b", "ml-nyc", "research"],
        "inferenceServices": [
            {"namespace": "team-a", "name": "llama", "mode": "Standard", "gpus": 1,
             "labels": {"tier": "dev"}},
            {"namespace": "team-a", "name": "mistral", "mode": "Knative", "gpus": 2,
             "labels": {"tier": "dev"}},
            {"namespace": "team-a", "name": "embedder", "mode": "Standard", "gpus": 1,
             "labels": {"tier": "prod"}},
            {"namespace": "team-b", "name": "whisper", "mode": "Knative", "gpus": 1,
             "labels": {"reclaim": "idle"}},
            {"namespace": "ml-nyc", "name": "chat", "mode": "Standard", "gpus": 1,
             "labels": {"environment": "dev"}},
            {"namespace": "research", "name": "bert", "mode": "Knative", "gpus": 1},
        ],
    }


def week_start(now: datetime, *, days: int = 7) -> datetime:
    """Monday 00:00 Berlin time far enough back that ``days`` days end by this week's
    Monday: the demo plays past weeks, so its ledger is history that `report` can read."""
    local = now.astimezone(BERLIN)
    this_monday = (local - timedelta(days=local.weekday())).date()
    weeks = -(-days // 7)
    monday = this_monday - timedelta(weeks=weeks)
    return datetime(monday.year, monday.month, monday.day, tzinfo=BERLIN)


def _daily(start: datetime, *, days: range, zone: ZoneInfo, begin: tuple[int, int],
           end: tuple[int, int], every: timedelta) -> tuple[Steady, ...]:
    spans = []
    for offset in days:
        day = (start.astimezone(zone) + timedelta(days=offset)).date()
        first = datetime(day.year, day.month, day.day, *begin, tzinfo=zone)
        last = datetime(day.year, day.month, day.day, *end, tzinfo=zone)
        spans.append(Steady(start=first, end=last, every=every))
    return tuple(spans)


def _busy(steady: tuple[Steady, ...], *, data_from: datetime, gpus: int) -> Script:
    levels = [(s.start, 60.0) for s in steady] + [(s.end, 0.0) for s in steady]
    return Script(data_from=data_from, steady=steady, gpus=gpus,
                  gpu_levels=tuple(sorted(levels)))


def traffic(start: datetime) -> dict[ServiceRef, Script]:
    """Scripted requests and GPU load for the week beginning at ``start``."""
    data_from = start - timedelta(days=1)
    weekdays = range(5)
    every = timedelta(minutes=2)
    scripts = {
        ServiceRef("team-a", "llama"): _busy(_daily(
            start, days=weekdays, zone=BERLIN, begin=(8, 0), end=(18, 0), every=every),
            data_from=data_from, gpus=1),
        ServiceRef("team-a", "mistral"): _busy(_daily(
            start, days=weekdays, zone=BERLIN, begin=(8, 0), end=(19, 40), every=every),
            data_from=data_from, gpus=2),
        ServiceRef("team-a", "embedder"): _busy(_daily(
            start, days=range(7), zone=BERLIN, begin=(0, 0), end=(23, 59), every=every),
            data_from=data_from, gpus=1),
        ServiceRef("ml-nyc", "chat"): _busy(_daily(
            start, days=weekdays, zone=NEW_YORK, begin=(8, 0), end=(17, 0), every=every),
            data_from=data_from, gpus=1),
        ServiceRef("research", "bert"): _busy((), data_from=data_from, gpus=1),
    }
    whisper = (Steady(start=data_from, end=start + timedelta(days=1, hours=14), every=every),
               Steady(start=start + timedelta(days=3, hours=10, minutes=5),
                      end=start + timedelta(days=3, hours=12), every=every))
    scripts[ServiceRef("team-b", "whisper")] = _busy(whisper, data_from=data_from, gpus=1)
    return scripts


HOLD = (ServiceRef("team-a", "llama"), timedelta(days=1, hours=18),
        timedelta(days=2, hours=12), "model evaluation running overnight")
MANUAL_START = (ServiceRef("team-b", "whisper"), timedelta(days=3, hours=10))
