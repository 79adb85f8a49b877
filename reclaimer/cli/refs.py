"""A service named on the command line, as kubectl names objects.

``NS/NAME`` is an InferenceService (as always); ``KIND/NS/NAME`` names any kind, where
KIND is what kubectl accepts for the CRD: its short name (``isvc``, ``llmisvc``, ``ig``,
the CRDs' ``shortNames``), its singular or plural (``inferencegraph``,
``llminferenceservices``) or its Kind, in any case. That is also how reclaimer prints
refs of the other kinds (``llmisvc/team-a/chat``, `model.ServiceRef.__str__`), so a ref
copied from ``history`` or a log line works as an argument. ``--kind`` (history) takes
the same spellings. Every refusal is one line naming the argument.
"""

from __future__ import annotations

import re

from reclaimer.errors import ArgumentInvalid
from reclaimer.model import KIND_SHORT_NAMES, ServiceKind, ServiceRef

# A DNS-1123 label: what Kubernetes accepts as a namespace and a service name.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SPELLINGS = {spelling: kind for kind in ServiceKind
              for spelling in (KIND_SHORT_NAMES[kind], kind.value.lower(),
                               f"{kind.value.lower()}s")}
KNOWN = ", ".join(KIND_SHORT_NAMES[k] for k in ServiceKind)


def parse_kind(text: str, *, arg: str = "--kind", within: str | None = None) -> ServiceKind:
    """A kind as kubectl spells it; refused naming ``arg`` and the known short names."""
    kind = _SPELLINGS.get(text.strip().lower())
    if kind is None:
        where = f" in {within!r}" if within is not None else ""
        raise ArgumentInvalid(f"{arg}: unknown kind {text!r}{where} (one of {KNOWN}, or "
                              "kubectl's names for them, e.g. llminferenceservice)")
    return kind


def parse_ref(text: str, *, arg: str = "NS/NAME") -> ServiceRef:
    """``NS/NAME`` (an InferenceService) or ``KIND/NS/NAME``."""
    parts = text.split("/")
    if len(parts) == 3:
        kind = parse_kind(parts[0], arg=arg, within=text)
        parts = parts[1:]
    elif len(parts) == 2:
        kind = ServiceKind.INFERENCE_SERVICE
    else:
        raise ArgumentInvalid(f"{arg}: {text!r} is not namespace/name (an InferenceService, "
                              "e.g. team-a/llama) nor kind/namespace/name (llmisvc/team-a/chat)")
    namespace, name = parts
    if not _LABEL.match(namespace) or not _LABEL.match(name):
        raise ArgumentInvalid(f"{arg}: {text!r} is not namespace/name in lower-case DNS "
                              "labels (e.g. team-a/llama)")
    return ServiceRef(namespace, name, kind)
