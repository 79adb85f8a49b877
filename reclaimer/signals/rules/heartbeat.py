"""The rules' heartbeat: written when every rule of an evaluation completed, and the
selectors the recorded mode reads it with.

A rule that fails at an evaluation (Prometheus logs it and goes on with the group) must
not leave the heartbeat vouching for data it never wrote (`heartbeat_expr`).
"""

from __future__ import annotations

from typing import Any

from reclaimer.signals.rules.names import (
    ACCEPTED_VERSIONS,
    GPU_DEVICE_PRESENT,
    GPU_LABEL,
    GPU_UTIL_AVG,
    GPU_UTIL_MAX,
    ISVC_GPUS,
    ISVC_POD,
    ISVC_POD_MOVED,
    MARK,
    POD_GPUS_HELD,
    POD_GPUS_SHORT,
    POD_MAP_FRESH_SECONDS,
    POD_REQUESTS_SHORT,
    REQUESTS_CHANGED,
    REQUESTS_DELTA,
    REQUESTS_IN_FLIGHT,
    REQUESTS_LABEL,
    REQUESTS_PRESENT,
    RULES_EVALUATED,
    RULES_EXPECTED,
    RULES_STARTED,
    VERSION_LABEL,
    marker,
    rule,
)


def with_marker(one: dict[str, Any]) -> dict[str, Any]:
    """``one`` rule also writing its marker: one series, ``MARKER_LABEL="1"`` and its
    own labels, at every evaluation the rule completes, whatever it found."""
    return {**one, "expr": f"({one['expr']}) or {MARK}"}


def marked(rules: list[dict[str, Any]], **labels: str) -> list[dict[str, Any]]:
    """``rules`` with their markers, after a rule saying how many markers to expect
    (`RULES_EXPECTED`, ``vector(n)``, which cannot fail), labelled as the rules are: the
    chart keeps or drops it with its preset's rules, so the count always matches the
    rules in the file without the heartbeat naming any of them."""
    return [rule(RULES_EXPECTED, f"vector({len(rules)})", **labels),
            *(with_marker(r) for r in rules)]


# Every record a marked rule writes, for the heartbeat (whatever presets the file holds).
MARKED_RECORDS = (POD_GPUS_HELD, ISVC_POD_MOVED, ISVC_GPUS, REQUESTS_DELTA, REQUESTS_CHANGED,
                  REQUESTS_IN_FLIGHT, REQUESTS_PRESENT, POD_REQUESTS_SHORT, GPU_DEVICE_PRESENT,
                  POD_GPUS_SHORT, GPU_UTIL_MAX, GPU_UTIL_AVG)


def heartbeat_expr() -> str:
    """1 when every rule of this evaluation completed and its writes read back.

    A rule that fails (a join made many-to-many by a duplicate series, a query timeout
    or sample limit) writes nothing and Prometheus goes on with the group, so an
    unconditional heartbeat would vouch for data that is missing. What tells a failed
    rule from one with nothing to record (a preset with no series, an empty fleet) is
    its marker: every rule writes one series beside its data at each evaluation it
    completes (`with_marker`), so the heartbeat counts the markers written at this
    evaluation's time and compares them with the count the `RULES_EXPECTED` rules wrote
    (a marker left by an earlier evaluation, which the lookback still shows after a
    failure, is older than ``time()``; one that failed since the file was loaded is
    simply missing). The pod map's group runs at its own phase: its marker must be at
    most two of its runs old. This reads about 50 marker series, not the recorded data
    (reading back the GPUs held, presence and devices cost 0.24 CPU s an evaluation at
    10,000 ISVCs), needs no other API (a ruler's rule-health API says only how the last
    evaluation went, and Thanos Query and Mimir serve it differently), and a rule that
    failed stays visible in the heartbeat's history for as long as the recorded mode
    reads the evaluations it missed. Reading `RULES_STARTED` and every marked record by
    name also orders the heartbeat after every rule under ``concurrent-rule-eval``.
    A ruler whose queries miss their own writes (Thanos Rule sending them through
    remote write) sees neither, so it does not vouch."""
    written = " + ".join(f"(count(timestamp({marker(r)}) >= time()) or vector(0))"
                         for r in MARKED_RECORDS)
    expected = f"sum({RULES_EXPECTED} and timestamp({RULES_EXPECTED}) >= time())"
    pods = f"timestamp({marker(ISVC_POD)}) >= time() - {POD_MAP_FRESH_SECONDS}"
    return (f"vector(1) and on () (timestamp({RULES_STARTED}) >= time()) "
            f"and on () (({written}) == on () {expected}) and on () ({pods})")


def heartbeat(*, requests: str, gpu: str) -> str:
    """The heartbeat of rules recording ``requests`` and ``gpu``: a file for those
    presets or for every preset, or a version-2 file, which had every preset and no
    preset labels (an empty match is an absent label), so a service upgraded before
    its rules file keeps reading it. Built-in names: no regex escaping needed."""
    return (f'{RULES_EVALUATED}{{{VERSION_LABEL}=~"{ACCEPTED_VERSIONS}", '
            f'{REQUESTS_LABEL}=~"{requests}|[*]|", {GPU_LABEL}=~"{gpu}|[*]|"}}')


def writers(*, requests: str, gpu: str) -> tuple[str, str]:
    """The heartbeats of every file writing ``requests``' series, and ``gpu``'s: any
    version, for those presets or every one. Two such files write the same series at
    two phases (two samples a minute), which counts of evaluations cannot tell apart."""
    return (f'{RULES_EVALUATED}{{{REQUESTS_LABEL}=~"{requests}|[*]|"}}',
            f'{RULES_EVALUATED}{{{GPU_LABEL}=~"{gpu}|[*]|"}}')
