"""Every shape error of an invalid policy document, for `reclaimer validate`.

The schema stops at a document's first error, which is what the service needs (the
document is invalid either way). A person fixing a file wants them all at once: this
walks the same field tree and checks each field on its own, so one bad value does not
hide the next. Rules that span fields are checked only once the shape is right, so for
those the schema's own (single) error stands.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from reclaimer.errors import PolicyInvalid
from reclaimer.policy.fields import Field, FieldError, check, child
from reclaimer.policy.schema import WHOLE_DOCUMENT, YAML, YamlProblem, load, split_documents
from reclaimer.policy.spec import document_fields


def every_error(error: PolicyInvalid) -> list[PolicyInvalid]:
    """``error`` and every other shape error of the same document, in field order."""
    if error.field in (WHOLE_DOCUMENT, YAML):
        return [error]
    try:
        raw = next(d for d in split_documents(Path(error.source).read_text(encoding="utf-8"))
                   if d.index == error.document)
        data = load(raw)
    except (OSError, UnicodeDecodeError, StopIteration, YamlProblem):
        return [error]
    found = {e.field: e.message for e in _walk(data, document_fields(cluster=False), path="")}
    found.setdefault(error.field, error.message)
    return [PolicyInvalid(source=error.source, document=error.document, field=field,
                          message=message) for field, message in found.items()]


def _walk(value: object, field: Field, *, path: str) -> Iterator[FieldError]:
    if field.type != "object" or field.extra_keys or not isinstance(value, Mapping):
        yield from _check(value, field, path=path)
        return
    only_known = Field("object", properties=field.properties)
    unknown = [key for key in value if key not in field.properties]
    for key in unknown:  # the schema's own message, "did you mean" too
        yield from _check({key: value[key]}, only_known, path=path)
    for key in field.required:
        if key not in value and not unknown:  # else most likely the misspelt one
            yield FieldError(child(path, key), "required")
    for key, item in value.items():
        if key in field.properties:
            yield from _walk(item, field.properties[key], path=child(path, key))


def _check(value: object, field: Field, *, path: str) -> Iterator[FieldError]:
    try:
        check(value, field, path=path)
    except FieldError as exc:
        yield exc
