"""The rules' names, labels and versions, and the selectors of their series (data only,
or the rules' markers), shared by the rules, the heartbeat and the recorded queries."""

from __future__ import annotations

from typing import Any

from reclaimer.signals.promql import set_label

PODS_GROUP = "reclaimer.pods"
GROUP = "reclaimer.signals"
INTERVAL = "1m"
POD_MAP_SPAN = "1h"  # pods seen this far back still map their data (the default horizon)
FRESH_SECONDS = 240  # presence looks 4 m back, a minute less than an instant lookup
PREFIX = "reclaimer:"
ISVC_POD = f"{PREFIX}isvc_pod:1h"
REQUESTS_DELTA = f"{PREFIX}requests_delta:1m"
REQUESTS_IN_FLIGHT = f"{PREFIX}requests_in_flight_max:1m"
REQUESTS_CHANGED = f"{PREFIX}requests_changed:1m"
REQUESTS_PRESENT = f"{PREFIX}requests_present:1m"
GPU_DEVICE_PRESENT = f"{PREFIX}gpu_device_present:1m"
POD_GPUS_HELD = f"{PREFIX}pod_gpus_held:1m"
GPU_UTIL_MAX = f"{PREFIX}gpu_util_max:1m"
GPU_UTIL_AVG = f"{PREFIX}gpu_util_avg:1m"
RULES_EVALUATED = f"{PREFIX}rules_evaluated:1m"
RULES_STARTED = f"{PREFIX}rules_started:1m"
RULES_EXPECTED = f"{PREFIX}rules_expected:1m"
ISVC_POD_MOVED = f"{PREFIX}isvc_pod_moved:1h"
ISVC_GPUS = f"{PREFIX}isvc_gpus:1m"
POD_GPUS_SHORT = f"{PREFIX}pod_gpus_short:1m"
POD_REQUESTS_SHORT = f"{PREFIX}pod_requests_short:1m"
# The heartbeat carries the rules' version: rules of an older file (without a series the
# queries now read) run with a full heartbeat of their own, and the recorded mode must
# not take their empty new series for "nothing short" or "no pod moved". Raise it
# whenever a rule is added or changes meaning.
RULES_VERSION = "4"
# Version 2 recorded the same series for every preset (and, since dropped, shortfalls of
# presets with no series): its heartbeat vouches for any preset. Version 3 files may
# hold one preset, so a version-2 reader must not trust them. Version 4 adds a marker
# series to every rule (`MARKER_LABEL`), which a version-3 reader would count as a
# service; its heartbeat is also withheld when a rule failed. Versions 2 and 3 are
# still read (their heartbeat vouches for evaluations, not for each rule's success).
ACCEPTED_VERSIONS = "2|3|4"
# Every rule also writes one series with this label at each evaluation it completes,
# so the heartbeat can tell a rule that failed from one with nothing to record.
MARKER_LABEL = "reclaimer_marker"
MARK = set_label("vector(1)", target=MARKER_LABEL, value="1")
POD_MAP_FRESH_SECONDS = 120  # the pod map group's last write may be this old (two runs)
VERSION_LABEL = "reclaimer_rules"
# The heartbeat names the presets its file records ("*": every built-in one), so rules
# installed for another preset never vouch for series they do not record.
REQUESTS_LABEL = "reclaimer_requests"
GPU_LABEL = "reclaimer_gpu"
EVERY_PRESET = "*"
PRESET_LABEL = "reclaimer_preset"
SOURCE_LABEL = "reclaimer_source"
DEFAULT_POD_LABELS = 'kube_pod_labels{label_serving_kserve_io_inferenceservice!=""}'
DEFAULT_ISVC_LABEL = "label_serving_kserve_io_inferenceservice"


def rule(record: str, expr: str, **labels: str) -> dict[str, Any]:
    return {"record": record, "expr": expr, "labels": dict(labels)}


def data(record: str, matchers: str = "") -> str:
    """The series ``record`` records, without its rules' markers (`MARKER_LABEL`)."""
    return f'{record}{{{matchers}{", " if matchers else ""}{MARKER_LABEL}=""}}'


def marker(record: str) -> str:
    """The markers of the rules writing ``record``."""
    return f'{record}{{{MARKER_LABEL}="1"}}'


ISVC_POD_DATA = data(ISVC_POD)
