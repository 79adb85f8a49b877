"""Putting one field back only while it holds what the stop wrote (compare-and-set).

A start and a rollback both put back what a managed Standard stop changed: each
ScaledObject's ``paused-replicas`` (the stop wrote ``"0"``) and each component
Deployment's replicas (the stop wrote 0). Each field is written back only while it still
holds the stop's value, with the object's resourceVersion as read: a value a person set
since the stop, or between our read and our write (a 409, read again), stays, and is
named (`PutBack.left`). A field that already holds the saved value is back (this
process, or one that died putting back), and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reclaimer import keda
from reclaimer.errors import ChildMissing, Conflict
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.managed.writes import name_of, pause, replicas_of, scale
from reclaimer.kube.ports import Obj

LEFT = "left as found, changed by someone since the stop"
GONE = object()
"""What `write_back` returns for a child deleted between the read and the write:
nothing to put back, nothing left as found."""


@dataclass
class PutBack:
    """In words: each value back as saved (whoever wrote it), each left as found."""

    done: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def words(self) -> str:
        said = f"rolled back: {', '.join(self.done) or 'nothing was changed'}"
        if self.left:
            said += f"; {LEFT}: {', '.join(self.left)}"
        return said


@dataclass(frozen=True)
class Now:
    """The ISVC and the children as read, by name; a field by its `PutBack` name
    (``ScaledObject/<name>``, ``Deployment/<name>``, or the class)."""

    obj: Obj
    scaled_objects: dict[str, Obj]
    deployments: dict[str, Obj]

    def value(self, name: str) -> Any:
        kind, _, child = name.partition("/")
        if kind == "ScaledObject":
            so = self.scaled_objects.get(child)
            return None if so is None else keda.paused_replicas(so)
        if kind == "Deployment":
            found = self.deployments.get(child)
            return None if found is None else replicas_of(found)
        return st.annotations_of(self.obj).get(st.AUTOSCALER_CLASS)


def replicas_back(ctx: Context, obj: Obj, mine: Mapping[str, int], result: PutBack) -> None:
    """A start's replicas: each Deployment the stop scaled (``mine``) is scaled back
    only while it holds the stop's 0; one a person set to another value stays, named in
    ``result.left``; one already back (a retried start) needs nothing. A Deployment
    deleted at our write fails the start (permanent): the start needs it."""
    if not mine:
        return
    ref = st.ref_of(obj)
    now = Now(obj, {}, {name_of(d): d for d in ctx.call(
        lambda: ctx.cluster.component_deployments(ref))})
    _back(ctx, now, {f"Deployment/{name}": n for name, n in mine.items()}, result,
          missing_ok=False)


def pauses_back(ctx: Context, obj: Obj, paused: Mapping[str, str | None],
                result: PutBack) -> None:
    """A start's KEDA pauses: each ScaledObject the stop paused is given its saved pause
    back only while it holds the stop's ``"0"``; one a person changed or removed since
    stays, named in ``result.left``. One deleted while stopped needs nothing."""
    if not paused:
        return
    ref = st.ref_of(obj)
    now = Now(obj, {keda.name_of(so): so for so in ctx.call(
        lambda: ctx.cluster.list_scalers(ref.namespace)).scaled_objects}, {})
    _back(ctx, now, {f"ScaledObject/{name}": prior for name, prior in paused.items()},
          result, missing_ok=True)


def _back(ctx: Context, now: Now, priors: Mapping[str, Any], result: PutBack, *,
          missing_ok: bool) -> None:
    for name, prior in priors.items():
        kind, _, child = name.partition("/")
        found = (now.scaled_objects if kind == "ScaledObject" else now.deployments).get(child)
        current: Any = None if found is None else _value_of(kind, found)
        if found is None or current == prior:
            continue
        if current == _fields_wrote(kind):
            current = write_back(ctx, now, name, prior, missing_ok=missing_ok)
        if current is not GONE:
            account(result, name, current=current, prior=prior)


def write_back(ctx: Context, now: Now, name: str, prior: Any, *,
               missing_ok: bool = True) -> Any:
    """Write the saved value back; returns the field's value after it (`GONE` for a
    child deleted meanwhile). The write has the child's resourceVersion as read as a
    precondition: on a 409 it is read again and written only while it still holds the
    value the stop wrote (the deployment controller writes a Deployment's status often,
    so a few attempts); a value someone wrote between our read and our write stays."""
    kind, _, child = name.partition("/")
    found: Obj | None = (now.scaled_objects if kind == "ScaledObject"
                         else now.deployments)[child]
    for attempt in range(1, 4):
        if found is None:
            return GONE
        current = _value_of(kind, found)
        if current != _fields_wrote(kind):
            return current
        try:
            if kind != "ScaledObject":
                scale(ctx, found, int(prior), as_read=True)
            elif not pause(ctx, found, prior, stopping=False, as_read=True):
                return GONE  # deleted before our write: nothing to pause
            return prior
        except ChildMissing:
            if not missing_ok:  # a start needs it: the start fails (permanent)
                raise
            return GONE
        except Conflict:
            if attempt == 3:
                raise
            found = _read_again(ctx, now, kind, child)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _fields_wrote(kind: str) -> Any:
    return keda.PAUSED_TO_ZERO if kind == "ScaledObject" else 0


def _value_of(kind: str, child: Obj) -> Any:
    return keda.paused_replicas(child) if kind == "ScaledObject" else replicas_of(child)


def _read_again(ctx: Context, now: Now, kind: str, child: str) -> Obj | None:
    ref = st.ref_of(now.obj)
    if kind == "ScaledObject":
        return {keda.name_of(so): so for so in ctx.call(
            lambda: ctx.cluster.list_scalers(ref.namespace)).scaled_objects}.get(child)
    return {name_of(d): d for d in ctx.call(
        lambda: ctx.cluster.component_deployments(ref))}.get(child)


def account(result: PutBack, name: str, *, current: Any, prior: Any) -> None:
    """``name`` is back as saved (``done``) or holds a person's value (``left``)."""
    kind, _, child = name.partition("/")
    if current == prior:
        result.done.append(
            f"KEDA ScaledObject {child} pause set back to {prior!r}" if kind == "ScaledObject"
            else f"Deployment {child} scaled back to {prior}" if kind == "Deployment"
            else f"autoscalerClass set back to {prior!r}" if prior is not None
            else "autoscalerClass removed, as it was")
        return
    what = {"ScaledObject": f"KEDA ScaledObject {child} pause",
            "Deployment": f"Deployment {child} replicas"}.get(kind, "autoscalerClass")
    result.left.append(f"{what} {current!r} (saved {prior!r})")
