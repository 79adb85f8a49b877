"""ReclaimPolicy documents -> frozen `Policy` values, applying every rule of docs/design.md §2.

Two sources, one schema. A **CR** read from the cluster (``cluster=True``) must carry
``metadata.namespace`` and governs only that namespace; ``spec.namespaceSelector`` is
refused on it. A **file** document governs the namespaces its ``namespaceSelector``
names (all, without one). A file document that sets ``metadata.namespace`` means what
the same YAML would mean applied as a CR: it governs that namespace only, its key is
``ns/name``, and a ``namespaceSelector`` next to it is refused as a contradiction.

Documents are numbered from 1 in errors (``office-hours.yaml[1]`` is the first). Errors
never stop the other documents: `parse_documents` returns the valid policies and one
`PolicyInvalid` per bad document.

**YAML streams** (`split_documents`, `load`) are read one document at a time, so a
syntax error in one does not hide the valid policies around it: `policy.yaml_stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from reclaimer.errors import InvalidInput, PolicyInvalid
from reclaimer.model import (
    AutoIdle,
    BusyAtStop,
    IdleDuring,
    IdleRule,
    Notify,
    Policy,
    PolicyMode,
    Window,
)
from reclaimer.policy.durations import format_duration, parse_duration
from reclaimer.policy.fields import AUTO, FieldError, check, child
from reclaimer.policy.frequency import too_frequent
from reclaimer.policy.selectors import parse_kinds, parse_namespace_selector, parse_selector
from reclaimer.policy.spec import document_fields
from reclaimer.policy.yaml_stream import RawDocument, YamlProblem, load, split_documents

# The CLI's validate (`cli.validate_errors`) imports the stream helpers from here.
__all__ = ["RawDocument", "YamlProblem", "load", "split_documents"]

WHOLE_DOCUMENT = "(document)"
YAML = "(yaml)"

# spec key -> (Policy/IdleRule attribute, converter); absent keys keep the model default.
_SPEC_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "timeZone": ("time_zone", str),
    "busyAtStop": ("busy_at_stop", BusyAtStop),
    "maxDefer": ("max_defer", parse_duration),
    "mode": ("mode", PolicyMode),
    "priority": ("priority", int),
    "maxSnooze": ("max_snooze", parse_duration),
}
_IDLE_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "after": ("after", parse_duration),
    "maxRequests": ("max_requests", int),
    "gpuUtilizationBelow": ("gpu_utilization_below", float),
    "minUptime": ("min_uptime", parse_duration),
    "during": ("during", IdleDuring),
}
_AUTO_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "learnFrom": ("learn_from", parse_duration),
    "autoMin": ("auto_min", parse_duration),
    "autoMax": ("auto_max", parse_duration),
}


def parse_policy(doc: Mapping[str, Any], *, source: str, index: int,
                 cluster: bool = False) -> Policy:
    """One document -> Policy; raises PolicyInvalid(source, document=index, field, message)."""
    try:
        if cluster:
            _refuse_namespace_selector(doc)
        check(doc, document_fields(cluster=cluster), path="")
        _check_rules(doc, cluster=cluster)
        return _build(doc, source=source)
    except FieldError as exc:
        raise PolicyInvalid(source=source, document=index, field=exc.field or WHOLE_DOCUMENT,
                            message=exc.message) from exc
    except PolicyInvalid:
        raise
    except Exception as exc:  # one document's fault is its own (DESIGN §3.7)
        raise PolicyInvalid(source=source, document=index, field=WHOLE_DOCUMENT,
                            message=_unforeseen(exc)) from exc


def _unforeseen(exc: Exception) -> str:
    """One line for an exception validation did not foresee (a bug, not a typo)."""
    text = str(exc) if isinstance(exc, InvalidInput) else (
        f"cannot be read: {type(exc).__name__}: {exc}")
    return text.splitlines()[0] if text else type(exc).__name__


def parse_documents(text: str, *, source: str) -> tuple[list[Policy], list[PolicyInvalid]]:
    """Every document of a YAML stream; empty documents are skipped, not errors."""
    policies, errors = parse_numbered(text, source=source)
    unique, duplicates = reject_duplicates([(source, i, p) for i, p in policies])
    return unique, errors + duplicates


def parse_numbered(
    text: str, *, source: str
) -> tuple[list[tuple[int, Policy]], list[PolicyInvalid]]:
    """Like `parse_documents`, with each policy's document number, duplicates kept."""
    policies: list[tuple[int, Policy]] = []
    errors: list[PolicyInvalid] = []
    for raw in split_documents(text):
        try:
            data = load(raw)
            if data is not None:
                policies.append((raw.index, parse_policy(data, source=source, index=raw.index)))
        except YamlProblem as exc:
            errors.append(PolicyInvalid(source=source, document=raw.index, field=YAML,
                                        message=str(exc)))
        except PolicyInvalid as exc:
            errors.append(exc)
    return policies, errors


def reject_duplicates(
    located: list[tuple[str, int, Policy]],
) -> tuple[list[Policy], list[PolicyInvalid]]:
    """Keep the first policy of each key; a later one is an error (keys name ledger rows)."""
    first: dict[str, tuple[str, int]] = {}
    unique: list[Policy] = []
    errors: list[PolicyInvalid] = []
    for source, index, policy in located:
        if policy.key in first:
            where = "{}[{}]".format(*first[policy.key])
            errors.append(PolicyInvalid(source=source, document=index, field="metadata.name",
                                        message=f'"{policy.key}" is already defined in {where}'))
            continue
        first[policy.key] = (source, index)
        unique.append(policy)
    return unique, errors


def _refuse_namespace_selector(doc: Mapping[str, Any]) -> None:
    """Say why, rather than only "unknown field", since files do accept it."""
    spec = doc.get("spec") if isinstance(doc, Mapping) else None
    if isinstance(spec, Mapping) and "namespaceSelector" in spec:
        raise FieldError("spec.namespaceSelector", "not allowed on a ReclaimPolicy resource: "
                         "it governs only its own namespace (policy files may select "
                         "namespaces)")


def _check_rules(doc: Mapping[str, Any], *, cluster: bool) -> None:
    """Rules that span fields; the shape is already checked."""
    meta, spec = doc["metadata"], doc["spec"]
    if cluster and "namespace" not in meta:
        raise FieldError("metadata.namespace", "required on a ReclaimPolicy resource")
    if "namespace" in meta and "namespaceSelector" in spec:
        raise FieldError("spec.namespaceSelector", "conflicts with metadata.namespace: a "
                         "policy with a namespace governs only that namespace; remove one")
    if "schedule" not in spec and "idle" not in spec:
        raise FieldError("spec", "sets neither schedule nor idle, so it would never act; "
                         "add a schedule, an idle rule, or both")
    if "schedule" in spec:
        _check_schedule(spec)
    else:
        _check_without_schedule(spec)
    if "idle" in spec:
        _check_idle(spec["idle"])
    _check_notify(spec)


_AUTO_FIELDS = ("learnFrom", "autoMin", "autoMax")
# ``learnFrom`` is read again every hour (`service.auto_timeouts`): a month at most.
MAX_LEARN_FROM = timedelta(days=31)


def _check_idle(idle: Mapping[str, Any]) -> None:
    if idle["after"] != AUTO:
        if not parse_duration(idle["after"]):
            raise FieldError("spec.idle.after", "must be longer than 0s")
        for key in _AUTO_FIELDS:
            if key in idle:
                raise FieldError(f"spec.idle.{key}", "applies only with after: auto; "
                                 "remove it or set after: auto")
        return
    auto = _auto(idle)
    if not auto.auto_min:
        raise FieldError("spec.idle.autoMin", "must be longer than 0s")
    if auto.auto_min > auto.auto_max:
        raise FieldError("spec.idle.autoMin", f"{format_duration(auto.auto_min)} is longer "
                         f"than autoMax {format_duration(auto.auto_max)}")
    if auto.learn_from < auto.auto_max:
        raise FieldError("spec.idle.learnFrom", f"{format_duration(auto.learn_from)} is "
                         f"shorter than autoMax {format_duration(auto.auto_max)}, so no idle "
                         "gap that long could be seen")
    if auto.learn_from > MAX_LEARN_FROM:
        raise FieldError("spec.idle.learnFrom", f"{format_duration(auto.learn_from)} is "
                         f"longer than {format_duration(MAX_LEARN_FROM)} (it is read again "
                         "every hour)")


def _auto(idle: Mapping[str, Any]) -> AutoIdle:
    return AutoIdle(**_options(idle, _AUTO_OPTIONS))


def _idle(idle: Mapping[str, Any] | None) -> IdleRule | None:
    """``after: auto``: ``after`` is ``autoMax`` until a timeout is learned."""
    if idle is None:
        return None
    if idle["after"] != AUTO:
        return IdleRule(**_options(idle, _IDLE_OPTIONS))
    auto = _auto(idle)
    rest = {key: value for key, value in idle.items() if key != "after"}
    return IdleRule(after=auto.auto_max, **_options(rest, _IDLE_OPTIONS), auto=auto)


def _check_notify(spec: Mapping[str, Any]) -> None:
    """A notice of 0s says nothing; a snooze of 0s grants nothing."""
    if "notify" in spec and not parse_duration(spec["notify"]["before"]):
        raise FieldError("spec.notify.before", "must be longer than 0s")
    if "maxSnooze" in spec and not parse_duration(spec["maxSnooze"]):
        raise FieldError("spec.maxSnooze", "must be longer than 0s")
    sinks = spec.get("notify", {}).get("sinks", [])
    for index, name in enumerate(sinks):
        if name in sinks[:index]:
            raise FieldError(child("spec.notify.sinks", index), f'"{name}" is listed twice')


def _check_schedule(spec: Mapping[str, Any]) -> None:
    if "timeZone" not in spec:
        raise FieldError("spec.timeZone", "required with schedule (an IANA name such as "
                         "Europe/Berlin), so the windows mean the same on every machine")
    for index, window in enumerate(spec["schedule"]):
        if window["start"].split() == window["stop"].split():
            raise FieldError(child(child("spec.schedule", index), "stop"),
                             "equals start, so the window would always be empty")
    crons = [(child(child("spec.schedule", index), part), window[part])
             for index, window in enumerate(spec["schedule"]) for part in ("start", "stop")]
    frequent = too_frequent(crons)
    if frequent is not None:
        raise FieldError(*frequent)


def _check_without_schedule(spec: Mapping[str, Any]) -> None:
    if "exceptDates" in spec:
        raise FieldError("spec.exceptDates", "skips schedule start edges, but there is no "
                         "schedule; add one or remove exceptDates")
    if spec.get("idle", {}).get("during") == IdleDuring.OFF_HOURS.value:
        raise FieldError("spec.idle.during", "offHours means outside schedule windows, but "
                         "there is no schedule; use always or add a schedule")


def _build(doc: Mapping[str, Any], *, source: str) -> Policy:
    meta, spec = doc["metadata"], doc["spec"]
    return Policy(
        name=meta["name"],
        namespace=meta.get("namespace"),
        source=source,
        selector=parse_selector(spec.get("selector", {}), "spec.selector"),
        namespace_selector=parse_namespace_selector(spec.get("namespaceSelector", {})),
        schedule=tuple(Window(start=w["start"], stop=w["stop"]) for w in spec.get("schedule", [])),
        except_dates=frozenset(_date_text(day) for day in spec.get("exceptDates", [])),
        idle=_idle(spec.get("idle")),
        kinds=parse_kinds(spec.get("selector", {}), "spec.selector"),
        notify=_notify(spec.get("notify")),
        **_options(spec, _SPEC_OPTIONS),
    )


def _notify(raw: Mapping[str, Any] | None) -> Notify | None:
    if raw is None:
        return None
    return Notify(before=parse_duration(raw["before"]), sinks=tuple(raw.get("sinks", ())))


def _options(raw: Mapping[str, Any],
             table: dict[str, tuple[str, Callable[[Any], Any]]]) -> dict[str, Any]:
    return {attr: convert(raw[key]) for key, (attr, convert) in table.items() if key in raw}


def _date_text(day: str | date) -> str:
    return day.isoformat() if isinstance(day, date) else day
