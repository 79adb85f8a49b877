"""A small structural schema: the accepted shape of a document, checked field by field.

One description drives two things, so they cannot drift apart: `check` (unknown fields,
types, required fields, enums, ranges and string formats, each error naming its full
path such as ``spec.idle.aftr``) and `openapi` (the CRD's ``openAPIV3Schema``, which the
Helm chart's test compares with ``helm/reclaimer/crds``).

**String formats** (`FORMATS`): names, labels, zones, crons, dates and durations. Each
check returns None when the value is fine, else the message that follows the field path
(``spec.timeZone: "Europe/Berln" is not an IANA time zone ...``). Kubernetes name and
label rules follow apimachinery's validation (DNS-1123 label and subdomain, qualified
names); cron rules are croniter's, restricted to the five standard fields and to values
that are the same on every replica.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from reclaimer.errors import InvalidInput
from reclaimer.model import EMPTY
from reclaimer.policy.durations import CRD_PATTERN, parse_duration

AUTO = "auto"  # ``idle.after: auto``


class FieldError(ValueError):
    """One problem at one field path; `schema` turns it into PolicyInvalid."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Field:
    """One node of the shape: ``object`` (named properties), ``map`` (string to string),
    ``array``, ``string``, ``integer``, ``number``, or ``any`` (not checked)."""

    type: str
    description: str = ""
    _: KW_ONLY
    properties: Mapping[str, Field] = EMPTY
    required: tuple[str, ...] = ()
    items: Field | None = None
    min_items: int | None = None
    enum: tuple[str, ...] = ()
    format: str | None = None
    key_format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    extra_keys: bool = False  # an object whose other keys are allowed and not checked


def check(value: object, field: Field, *, path: str) -> None:
    """Raise FieldError for the first way ``value`` does not fit ``field``."""
    if field.type == "any":
        return
    _CHECKS[field.type](value, field, path=path)


def child(path: str, key: object) -> str:
    """``spec.idle`` + ``after``; keys that are not identifiers go in brackets."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)):
        return f"{path}.{key}" if path else str(key)
    return f'{path}["{key}"]'


def _object(value: object, field: Field, *, path: str) -> None:
    if not isinstance(value, Mapping):
        raise FieldError(path, f"must be a mapping, not {_kind(value)}")
    for key in value:
        if key not in field.properties and not field.extra_keys:
            raise FieldError(child(path, key), _unknown(str(key), field))
    for key in field.required:
        if key not in value:
            raise FieldError(child(path, key), "required")
    for key, item in value.items():
        if key in field.properties:
            check(item, field.properties[key], path=child(path, key))


def _map(value: object, field: Field, *, path: str) -> None:
    if not isinstance(value, Mapping):
        raise FieldError(path, f"must be a mapping of strings, not {_kind(value)}")
    for key, item in value.items():
        _string(key, Field("string", format=field.key_format), path=child(path, key))
        _string(item, Field("string", format=field.format), path=child(path, key))


def _array(value: object, field: Field, *, path: str) -> None:
    if not isinstance(value, list):
        raise FieldError(path, f"must be a list, not {_kind(value)}")
    if field.min_items is not None and len(value) < field.min_items:
        raise FieldError(path, "must not be empty (leave it out instead)" if field.min_items == 1
                         else f"must list at least {field.min_items} items")
    assert field.items is not None
    for index, item in enumerate(value):
        check(item, field.items, path=child(path, index))


def _string(value: object, field: Field, *, path: str) -> None:
    unquoted_date = field.format == "date" and isinstance(value, date)
    if field.format in ("duration", "duration-or-auto") and _is_number(value):
        raise FieldError(path, f'{value} has no unit; write a duration such as "{value}m" '
                               "(e.g. 30m, 1h30m)")
    if not isinstance(value, str) and not unquoted_date:
        hint = f' (quote it: "{_yaml(value)}")' if isinstance(value, bool | int | float) else ""
        raise FieldError(path, f"must be a string, not {_kind(value)}{hint}")
    if field.enum and value not in field.enum:
        raise FieldError(path, f'"{value}" is not one of {", ".join(field.enum)}')
    problem = FORMATS[field.format](value) if field.format else None
    if problem:
        raise FieldError(path, problem)


def _number(value: object, field: Field, *, path: str) -> None:
    if not _is_number(value) or (field.type == "integer" and not isinstance(value, int)):
        raise FieldError(path, f"must be {'an integer' if field.type == 'integer' else 'a number'}"
                               f", not {_kind(value)}")
    assert isinstance(value, int | float)  # for mypy: _is_number said so
    if not math.isfinite(value):
        raise FieldError(path, f"{value} is not a finite number")
    if field.minimum is not None and value < field.minimum:
        raise FieldError(path, f"{value} is below the minimum {_plain(field.minimum)}")
    if field.maximum is not None and value > field.maximum:
        raise FieldError(path, f"{value} is above the maximum {_plain(field.maximum)}")


_CHECKS = {"object": _object, "map": _map, "array": _array, "string": _string,
           "integer": _number, "number": _number}


def openapi(field: Field) -> dict[str, Any]:
    """The OpenAPI v3 (structural, CRD-compatible) schema of ``field``."""
    if field.type == "any":
        return {"x-kubernetes-preserve-unknown-fields": True}
    schema: dict[str, Any] = {"type": "object" if field.type == "map" else field.type}
    if field.description:
        schema["description"] = field.description
    if field.type == "map":
        schema["additionalProperties"] = {"type": "string"}
    if field.format == "duration":
        schema.update(pattern=CRD_PATTERN, minLength=2)
    if field.format == "duration-or-auto":
        schema.update(pattern=f"^auto$|{CRD_PATTERN}", minLength=2)
    if field.properties:
        schema["properties"] = {key: openapi(sub) for key, sub in field.properties.items()}
    extras = {"required": list(field.required), "enum": list(field.enum),
              "minItems": field.min_items, "minimum": field.minimum, "maximum": field.maximum,
              "items": openapi(field.items) if field.items else None}
    schema.update({key: value for key, value in extras.items() if value not in (None, [])})
    return schema


def _unknown(key: str, field: Field) -> str:
    close = difflib.get_close_matches(key, list(field.properties), n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f"unknown field; {hint}known here: {', '.join(field.properties) or 'none'}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", type(None): "null"}
    return names.get(type(value), "a mapping" if isinstance(value, Mapping) else "a value")


def _yaml(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# --- string formats ---------------------------------------------------------------

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# croniter's "R" (random) and "H" (hashed) would give each replica different edges.
_NONDETERMINISTIC = re.compile(r"(^|[,/])[RrHh](\(|$|[,/])")
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

Check = Callable[[object], "str | None"]


def dns_label(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= 63 and _LABEL.fullmatch(value):
        return None
    return (f"{_q(value)} is not a valid name: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters")


def dns_subdomain(value: object) -> str | None:
    if isinstance(value, str) and len(value) <= 253 and _SUBDOMAIN.fullmatch(value):
        return None
    return (f"{_q(value)} is not a valid name: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters")


def label_key(value: object) -> str | None:
    text = value if isinstance(value, str) else ""
    prefix, _, name = text.rpartition("/")
    if (len(name) <= 63 and _QUALIFIED.fullmatch(name)
            and (not prefix or (len(prefix) <= 253 and _SUBDOMAIN.fullmatch(prefix)))):
        return None
    return (f"{_q(value)} is not a valid label key: [prefix/]name, the name at most 63 "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit")


def label_value(value: object) -> str | None:
    if isinstance(value, str) and (value == "" or (len(value) <= 63
                                                   and _QUALIFIED.fullmatch(value))):
        return None
    return (f"{_q(value)} is not a valid label value: at most 63 letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit")


def time_zone(value: object) -> str | None:
    try:
        if isinstance(value, str) and value not in _NOT_ZONES and not value.startswith("/"):
            ZoneInfo(value)
            return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return f"{_q(value)} is not an IANA time zone (e.g. Europe/Berlin, America/New_York)"


def cron(value: object) -> str | None:
    """Five standard fields that croniter accepts and that match at least once."""
    text = value if isinstance(value, str) else ""
    if len(text.split()) != 5:
        return (f"{_q(value)} is not a cron expression with five fields "
                "(minute hour day-of-month month day-of-week, e.g. \"0 8 * * mon-fri\")")
    if any(_NONDETERMINISTIC.search(part) for part in text.split()):
        return f"{_q(value)}: random (R) and hashed (H) values are not allowed"
    if not croniter.is_valid(text):
        return f"{_q(value)} is not a valid cron expression (e.g. \"0 8 * * mon-fri\")"
    try:
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)  # a leap year
    except CroniterBadDateError:
        return f"{_q(value)} never fires (no such date)"
    return None


def iso_date(value: object) -> str | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return None  # unquoted in YAML: already a date
    try:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            date.fromisoformat(value)
            return None
    except ValueError:
        pass
    return f"{_q(value)} is not a date (YYYY-MM-DD, e.g. \"2026-12-24\")"


def duration(value: object) -> str | None:
    try:
        parse_duration(value)  # type: ignore[arg-type]
    except InvalidInput as exc:
        return str(exc)
    return None


def duration_or_auto(value: object) -> str | None:
    """``idle.after``: a duration as everywhere (the same message), or ``auto``."""
    return None if value == AUTO else duration(value)


FORMATS: dict[str, Check] = {
    "dns-label": dns_label, "dns-subdomain": dns_subdomain, "label-key": label_key,
    "label-value": label_value, "time-zone": time_zone, "cron": cron, "date": iso_date,
    "duration": duration, "duration-or-auto": duration_or_auto,
}


def _q(value: object) -> str:
    return f'"{value}"' if isinstance(value, str | date) else repr(value)
