"""The scripted world the signal tests share: one ISVC per edge case, per preset.

Fixed historic instants (2026-03-02) keep every run identical; the evaluation is at
`AT` over `WINDOW`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reclaimer.model import ServiceRef
from reclaimer.signals.presets import REQUEST_PRESETS
from reclaimer.signals.scripted import Script, ScriptedSignals, Steady
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import EVERY, Style, render

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
COARSE = 180  # seconds: the last request before the recent span, at the 1 h horizon's
#               coarse step (2 m) plus one step, is at most this much newer than it was
START = AT - timedelta(hours=3)
END = AT + timedelta(minutes=10)
_M = timedelta(minutes=1)
_BUSY = (Steady(START, AT + timedelta(hours=1), timedelta(seconds=10)),)

SCENARIOS: dict[str, tuple[Script, Style]] = {
    "steady": (Script(data_from=START, steady=_BUSY, gpu_levels=((START, 40.0),)), Style()),
    "stopped-2h-ago": (Script(data_from=START, steady=(
        Steady(START, AT - timedelta(hours=2), timedelta(seconds=10)),)), Style()),
    "new-series-one-request": (Script(data_from=START, new_series=(AT - 20 * _M,)),
                               Style(duplicate_pod_labels=True)),
    "counter-reset": (Script(data_from=START, steady=_BUSY), Style(reset_at=AT - 10 * _M)),
    "gap-10m": (Script(data_from=START, steady=_BUSY, gaps=((AT - 20 * _M, AT - 10 * _M),)),
                Style()),
    "mig": (Script(data_from=START, gpu_levels=((START, 60.0),)), Style(mig=True)),
    "honor-labels-false": (Script(data_from=START, gpu_levels=((START, 70.0),)),
                           Style(honor_labels=False)),
    "pods-no-requests": (Script(data_from=START, request_series=False), Style()),
    "stale-4m": (Script(data_from=START, data_to=AT - 4 * _M), Style()),
    "started-10m-ago": (Script(data_from=AT - 10 * _M, steady=_BUSY), Style()),
    "cpu-only-idle": (Script(data_from=START, gpus=0), Style()),
}
PRESETS = tuple(REQUEST_PRESETS)
WEIRD = ServiceRef('we"ird\\ns}', 'a"b\\c}d')


def world() -> tuple[OpenMetrics, dict[ServiceRef, Script]]:
    """Every scenario in a namespace named after each preset, plus the odd names."""
    om = OpenMetrics()
    scripts: dict[ServiceRef, Script] = {}
    for preset in PRESETS:
        for name, (script, style) in SCENARIOS.items():
            ref = ServiceRef(preset, name)
            scripts[ref] = script
            render(om, ref, script, Style(**{**vars(style), "preset": preset}),
                   start=START, end=END)
    script, style = SCENARIOS["steady"]
    scripts[WEIRD] = script
    render(om, WEIRD, script, style, start=START, end=END)
    return om, scripts


def truth(scripts: dict[ServiceRef, Script]) -> ScriptedSignals:
    return ScriptedSignals(scripts, scrape_interval=EVERY)
