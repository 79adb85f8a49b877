"""A small structural schema: the accepted shape of a document, checked field by field.

One description drives two things, so they cannot drift apart: `check` (unknown fields,
types, required fields, enums, ranges and string formats, each error naming its full
path such as ``spec.idle.aftr``) and `openapi` (the CRD's ``openAPIV3Schema``, which the
Helm chart's test compares with ``helm/reclaimer/crds``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import date
from typing import Any

from reclaimer.model import EMPTY
from reclaimer.policy.durations import CRD_PATTERN
from reclaimer.policy.formats import FORMATS


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
    if field.format == "duration" and _is_number(value):
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
