"""KServe's stop switch, read exactly as KServe reads it: the single home of that rule.

KServe stops an InferenceService when ``metadata.annotations["serving.kserve.io/stop"]``
equals ``"true"`` under Go's ``strings.EqualFold`` (``utils.GetForceStopRuntime``,
``pkg/utils/utils.go`` from v0.16.0; an ISVC method in v0.15.1; see
``reference/kserve_stop.md`` §2.1 and §9). There is no trimming and no webhook: ``"True"``
and ``"TRUE"`` stop, ``" true"``, ``"true "``, ``"yes"`` and ``"1"`` do not.

Every part of reclaimer that asks "is a stop requested?" (the inventory, the executor,
recovery, the managedFields reader, the CLI) asks `stop_requested` here, so none can
disagree with KServe or with each other. A value that a person clearly meant as a stop
but KServe ignores (`odd_stop_value`) is reported, never silently taken as one; a stop
that reclaimer makes writes exactly `STOP_VALUE`.

Pure: no I/O, no imports from the rest of reclaimer.
"""

from __future__ import annotations

from collections.abc import Mapping

STOP_ANNOTATION = "serving.kserve.io/stop"
STOP_VALUE = "true"
# The managedFields path (fieldsV1) of the stop annotation: who last set it.
STOP_FIELD = ("f:metadata", "f:annotations", f"f:{STOP_ANNOTATION}")


def stop_requested(value: object) -> bool:
    """``strings.EqualFold(value, "true")``; an absent or non-string value is no stop.

    No Unicode letter simple-folds to t, r, u or e, so Go's folding of this word is
    ASCII case-insensitivity, which is what is checked (Python's ``casefold`` would
    also map some non-ASCII spellings).
    """
    return isinstance(value, str) and value.isascii() and value.lower() == STOP_VALUE


def stop_requested_in(annotations: Mapping[str, object] | None) -> bool:
    """Whether an object's annotations ask KServe to stop it."""
    return stop_requested((annotations or {}).get(STOP_ANNOTATION))


def odd_stop_value(value: object) -> str | None:
    """Why a value that looks like a stop is none for KServe (``" true"``, ``"true\\n"``);
    None for a real stop, an absent annotation, or a value that does not look like one."""
    if not isinstance(value, str) or stop_requested(value):
        return None
    if value.strip().lower() != STOP_VALUE:
        return None
    return (f'{STOP_ANNOTATION} is {value!r}: KServe reads only an exact, case-insensitive '
            f'"true" (no trimming), so this value does not stop the service')


def odd_stop_in(annotations: Mapping[str, object] | None) -> str | None:
    return odd_stop_value((annotations or {}).get(STOP_ANNOTATION))
